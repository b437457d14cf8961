// Delete every relationship, then every node, of the current database, $batchSize per
// transaction (relationships first, so a node with many of them never needs a huge one).
// The writer lock (:WbgraphLock) stays: the reset holds it. Needs auto-commit transactions
// (":auto" in Neo4j Browser).
MATCH ()-[r]->()
CALL (r) { DELETE r } IN TRANSACTIONS OF $batchSize ROWS;
MATCH (n) WHERE NOT n:WbgraphLock
CALL (n) { DELETE n } IN TRANSACTIONS OF $batchSize ROWS;
