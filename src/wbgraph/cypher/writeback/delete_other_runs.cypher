// After a writeback has moved every customer: remove the Run nodes that no customer's
// current set comes from any more. Parameter: $runId, the run just written (always kept).
MATCH (r:Run)
WHERE r.runId <> $runId AND NOT EXISTS { MATCH (c:Customer) WHERE c.recommendationRunId = r.runId }
DETACH DELETE r
