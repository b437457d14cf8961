// The run a writeback's recommendations come from, one node per run: what the runId on
// every RECOMMENDED edge points to. $runId, $modelVersion, $createdAt (ISO 8601: when the
// run was trained), $segments (how many segments its writeback made; null for a top-up).
MERGE (r:Run {runId: $runId})
SET r.modelVersion = $modelVersion,
    r.createdAt = datetime($createdAt),
    r.segments = coalesce($segments, r.segments)
