// Every current recommendation, for a CRM or a campaign tool: customers in ID order (the
// index gives that order, so nothing is sorted in memory), each customer's set by rank.
// $runId: only sets of this run (null: all). Streamed by `wbgraph recommendations export`.
MATCH (c:Customer)
WHERE c.customerId IS NOT NULL
WITH c ORDER BY c.customerId
CALL (c) {
  MATCH (c)-[r:RECOMMENDED]->(p:Product)
  WHERE $runId IS NULL OR r.runId = $runId
  RETURN r, p ORDER BY r.rank
}
OPTIONAL MATCH (c)-[:IN_SEGMENT]->(g:Segment)
OPTIONAL MATCH (run:Run {runId: r.runId})
RETURN c.customerId AS customerId, p.productId AS productId, r.rank AS rank, r.score AS score,
       coalesce(r.reasons, [x IN split(c.recommendationReasons[r.rank - 1], '\n') WHERE x <> ''], []) AS reasons,
       r.runId AS runId, c.segment AS segment, toString(coalesce(r.createdAt, run.createdAt)) AS trainedAt,
       g.name AS segmentName
