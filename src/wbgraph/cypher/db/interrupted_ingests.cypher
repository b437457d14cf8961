// Ingests that started and never finished: their file's transactions may be partly written
// and the USES aggregates of its customer-product pairs stale. Rerunning the same file heals.
MATCH (i:WbgraphIngest) WHERE i.finishedAt IS NULL
RETURN i.file AS file, i.fingerprint AS fingerprint, toString(i.startedAt) AS startedAt
ORDER BY i.startedAt
