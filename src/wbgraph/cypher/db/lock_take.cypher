// Take this database's writer lock for one wbgraph command, or find who holds it.
// $holder: {command, host, pid, token}. The lock is the one (:WbgraphLock {name: 'writer'})
// node (unique by name, db/schema.cypher), so of two commands taking it at once one creates
// it and the other finds it: the holder returned is ours when its token is $holder.token.
// Writers that cannot wipe it: `db reset` spares it (db/delete_all.cypher).
MERGE (l:WbgraphLock {name: 'writer'})
  ON CREATE SET l += $holder, l.since = datetime()
RETURN l {.*, since: toString(l.since)} AS holder
