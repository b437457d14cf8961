// Give the writer lock back, if it is still ours ($token).
MATCH (l:WbgraphLock {name: 'writer', token: $token})
DELETE l
