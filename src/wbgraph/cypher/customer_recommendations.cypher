// A customer's current recommendations, best first. Parameters: $customerId, $topK.
// No row at all when the customer does not exist.
MATCH (c:Customer {customerId: $customerId})
OPTIONAL MATCH (c)-[r:RECOMMENDED]->(p:Product)
WITH c, r, p ORDER BY r.rank
WITH c, collect(CASE WHEN r IS NULL THEN null ELSE {
  rank: r.rank, productId: p.productId, productType: p.productType, category: p.category,
  score: r.score, runId: r.runId, createdAt: toString(r.createdAt)} END)[..$topK] AS recommendations
RETURN c.customerId AS customerId, c.customerType AS customerType, c.industry AS industry,
       c.location AS location, recommendations
