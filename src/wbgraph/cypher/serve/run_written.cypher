// Whether run $runId has current recommendations in this graph (a writeback leaves a Run node
// while some customer's current set comes from it).
OPTIONAL MATCH (r:Run {runId: $runId})
RETURN r IS NOT NULL AS written
