// A customer's current recommendations, best first, with their reasons. Parameters:
// $customerId, $topK, $explain (true: with the stored reasons). No row at all when the
// customer does not exist.
MATCH (c:Customer {customerId: $customerId})
OPTIONAL MATCH (c)-[:IN_SEGMENT]->(g:Segment)
OPTIONAL MATCH (c)-[r:RECOMMENDED]->(p:Product)
WITH c, g, r, p ORDER BY r.rank
WITH c, g, collect(CASE WHEN r IS NULL THEN null ELSE {
  rank: r.rank, productId: p.productId, productType: p.productType, category: p.category,
  score: r.score, reasons: CASE WHEN $explain THEN coalesce(r.reasons, []) END, runId: r.runId, createdAt: toString(r.createdAt)} END)[..$topK] AS recommendations
RETURN c.customerId AS customerId, c.customerType AS customerType, c.industry AS industry,
       c.location AS location, g.segmentId AS segment, g.name AS segmentName, recommendations
