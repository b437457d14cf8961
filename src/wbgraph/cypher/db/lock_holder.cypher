// Who holds this database's writer lock (null when nobody does).
OPTIONAL MATCH (l:WbgraphLock {name: 'writer'})
RETURN CASE WHEN l IS NULL THEN null ELSE l {.*, since: toString(l.since)} END AS holder
