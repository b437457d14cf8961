// Which of $keys are already Transactions in the graph (an ingest skips those rows).
UNWIND $keys AS key
MATCH (t:Transaction {transactionKey: key})
RETURN collect(key) AS existing
