// What should we offer this customer next? Its current recommendations, best first, with
// the reasons stored for each (on the customer, one text per rank) and the products it
// already uses for context.
// Parameters: $customerId (e.g. 'CUS-0001').
// In Neo4j Browser: :param customerId => 'CUS-0001'
MATCH (c:Customer {customerId: $customerId})-[r:RECOMMENDED]->(p:Product)
OPTIONAL MATCH (c)-[u:USES]->(held:Product)
WITH c, r, p, collect(DISTINCT held.productId) AS uses
RETURN r.rank AS rank, p.productId AS product, p.productType AS type, p.category AS category,
       round(r.score, 3) AS score, round(r.probability, 3) AS probability,
       split(c.recommendationReasons[r.rank - 1], '\n') AS reasons, r.runId AS run, uses
ORDER BY rank
