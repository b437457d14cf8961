// Why this recommendation? Customers in the same industry who use the recommended product
// and share products with this customer, most overlap first: the graph evidence behind it.
// Parameters: $customerId, $productId.
// In Neo4j Browser: :param customerId => 'CUS-0001'; :param productId => 'PROD-001'
MATCH (c:Customer {customerId: $customerId})-[:IN_INDUSTRY]->(i:Industry)<-[:IN_INDUSTRY]-(other:Customer)
      -[:USES]->(:Product {productId: $productId})
WHERE other <> c
OPTIONAL MATCH (c)-[:USES]->(shared:Product)<-[:USES]-(other)
RETURN other.customerId AS customer, i.name AS industry, other.location AS location,
       count(shared) AS sharedProducts, collect(shared.productId)[..5] AS shared
ORDER BY sharedProducts DESC, customer
LIMIT 10
