// Node and relationship totals of the current database (answered from the count store),
// the writer lock (:WbgraphLock) not counted.
CALL () { MATCH (n) RETURN count(n) AS everything }
CALL () { MATCH (l:WbgraphLock) RETURN count(l) AS locks }
CALL () { MATCH ()-[r]->() RETURN count(r) AS relationships }
RETURN everything - locks AS nodes, relationships
