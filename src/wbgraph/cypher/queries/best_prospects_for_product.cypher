// Who are the best prospects for this product? Customers it is recommended to, the likeliest
// to take it first (probability: the calibrated chance within the horizon; a set written
// without one by rank then score), with their industry, location and relationship manager.
// Parameters: $productId (e.g. 'PROD-001'), $limit (e.g. 25).
// In Neo4j Browser: :param productId => 'PROD-001'; :param limit => 25
MATCH (c:Customer)-[r:RECOMMENDED]->(p:Product {productId: $productId})
RETURN c.customerId AS customer, c.customerType AS type, c.industry AS industry,
       c.location AS location, c.relationshipManager AS relationshipManager,
       r.rank AS rank, round(r.score, 3) AS score, round(r.probability, 3) AS probability
ORDER BY coalesce(r.probability, -1.0) DESC, rank, score DESC
LIMIT $limit
