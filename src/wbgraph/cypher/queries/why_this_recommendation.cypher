// Why is this product recommended to this customer? The reasons stored for the
// recommendation, and the graph paths behind them: products the customer uses that other
// customers of its segment also use together with the recommended product.
// Returns paths: switch Neo4j Browser to the graph view to see them.
// Parameters: $customerId, $productId.
// In Neo4j Browser: :param customerId => 'CUS-0001'; :param productId => 'PROD-001'
MATCH (c:Customer {customerId: $customerId})-[r:RECOMMENDED]->(p:Product {productId: $productId})
OPTIONAL MATCH path = (c)-[:USES]->(q:Product)<-[:USES]-(other:Customer)-[:USES]->(p)
WHERE other.segment = c.segment
WITH c, r, path, q
ORDER BY q.productId
RETURN r.rank AS rank, split(c.recommendationReasons[r.rank - 1], '\n') AS reasons, collect(path)[..10] AS evidence
