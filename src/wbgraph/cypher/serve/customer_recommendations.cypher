// A customer's current recommendations, best first, with their reasons. Parameters:
// $customerId, $topK, $explain (true: with the stored reasons). No row at all when the
// customer does not exist. `consistent` says whether the set read is whole: as many edges as
// the writeback that wrote it recorded on the customer (recommendationCount), all of its run
// (recommendationRunId), ranks 1..n. Neo4j reads at read-committed, so a read that meets a
// writeback's commit half-applied can see part of a set: the serving path reads again then.
// (A set written by a wbgraph older than these two properties is taken as it is found.)
// `hasSet` is false for a customer no writeback has reached yet (a newcomer); `client` false
// for an entity a hierarchy file made that is not a client (a holding company): it gets none.
// Reasons are on the customer (recommendationReasons[rank - 1], newline-separated), the
// run's createdAt on its (:Run) node; a set written before those reads them off its edges.
MATCH (c:Customer {customerId: $customerId})
OPTIONAL MATCH (c)-[:IN_SEGMENT]->(g:Segment)
OPTIONAL MATCH (run:Run {runId: c.recommendationRunId})
OPTIONAL MATCH (c)-[r:RECOMMENDED]->(p:Product)
WITH c, g, run, r, p ORDER BY r.rank
WITH c, g, collect(CASE WHEN r IS NULL THEN null ELSE {
  rank: r.rank, productId: p.productId, productType: p.productType, category: p.category, score: r.score,
  probability: r.probability,
  reasons: CASE WHEN $explain THEN coalesce(r.reasons, [x IN split(c.recommendationReasons[r.rank - 1], '\n') WHERE x <> ''], []) END,
  runId: r.runId, createdAt: toString(coalesce(r.createdAt, run.createdAt))} END) AS everything
WITH c, g, everything, [x IN everything | x.rank] = range(1, size(everything)) AS ranked,
     CASE WHEN size(everything) = 0 THEN null ELSE everything[0].runId END AS firstRun
RETURN c.customerId AS customerId, c.customerType AS customerType, c.industry AS industry,
       c.recommendationRunId IS NOT NULL OR size(everything) > 0 AS hasSet, c.client IS NULL OR c.client AS client,
       c.location AS location, g.segmentId AS segment, g.name AS segmentName, everything[..$topK] AS recommendations,
       ranked AND all(x IN everything WHERE x.runId = coalesce(c.recommendationRunId, firstRun))
         AND (c.recommendationCount IS NULL OR size(everything) = c.recommendationCount) AS consistent
