// Every current recommendation, for a CRM or a campaign tool, a page at a time: the $customers
// customers after the ID $after in ID order (the index gives that order, so nothing is sorted
// in memory; start with $after = ''), each with its set by rank ([] without one).
// $runId: only sets of this run (null: all). Read page after page by `wbgraph recommendations export`.
MATCH (c:Customer)
WHERE c.customerId > $after
WITH c ORDER BY c.customerId LIMIT $customers
OPTIONAL MATCH (c)-[:IN_SEGMENT]->(g:Segment)
RETURN c.customerId AS customerId, c.segment AS segment, g.name AS segmentName,
       COLLECT {
         MATCH (c)-[r:RECOMMENDED]->(p:Product)
         WHERE $runId IS NULL OR r.runId = $runId
         OPTIONAL MATCH (run:Run {runId: r.runId})
         WITH r, p, run ORDER BY r.rank
         RETURN {productId: p.productId, rank: r.rank, score: r.score, probability: r.probability,
                 reasons: coalesce(r.reasons, [x IN split(c.recommendationReasons[r.rank - 1], '\n') WHERE x <> ''], []),
                 runId: r.runId, trainedAt: toString(coalesce(r.createdAt, run.createdAt))}
       } AS recommendations
