// Remove the writer lock whoever holds it (`wbgraph db unlock`: for a lock left by a
// command that died on another machine); returns the holder it removed.
MATCH (l:WbgraphLock {name: 'writer'})
WITH l, l {.*, since: toString(l.since)} AS holder
DELETE l
RETURN holder
