// Delete every node and relationship of the current database, $batchSize nodes per transaction.
// Needs an auto-commit transaction (":auto" in Neo4j Browser).
MATCH (n)
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF $batchSize ROWS
