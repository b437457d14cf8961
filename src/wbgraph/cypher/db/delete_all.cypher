// Delete every relationship, then every node, of the current database, $batchSize per
// transaction (relationships first, so a node with many of them never needs a huge one).
// Needs auto-commit transactions (":auto" in Neo4j Browser).
MATCH ()-[r]->()
CALL (r) { DELETE r } IN TRANSACTIONS OF $batchSize ROWS;
MATCH (n)
CALL (n) { DELETE n } IN TRANSACTIONS OF $batchSize ROWS;
