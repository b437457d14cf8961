// Take over a stale writer lock: only if it is still the one found ($stale, its token), so of
// two commands clearing the same stale lock only one gets it. $holder as in db/lock_take.
MATCH (l:WbgraphLock {name: 'writer', token: $stale})
SET l += $holder, l.since = datetime()
RETURN l {.*, since: toString(l.since)} AS holder
