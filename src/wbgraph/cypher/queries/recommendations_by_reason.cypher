// Which recommendations does one kind of reason justify, and how strongly? Each RECOMMENDED
// edge keeps its reasons as data beside their sentences, parallel lists with one entry per
// reason: reasonKinds ('together': often taken together with a product the customer uses,
// cited in reasonCites; 'similar': adopted by similar customers, its segment and industry
// cited; 'peers': held by customers of its type and industry), reasonShares (the share of
// them holding the recommended product) and reasonCounts (of how many customers).
// Parameters: $kind (e.g. 'similar'), $minShare (e.g. 0.2), $limit (e.g. 25).
// In Neo4j Browser: :param kind => 'similar'; :param minShare => 0.2; :param limit => 25
MATCH (c:Customer)-[r:RECOMMENDED]->(p:Product)
WHERE $kind IN r.reasonKinds
WITH c, r, p, [i IN range(0, size(r.reasonKinds) - 1) WHERE r.reasonKinds[i] = $kind][0] AS at
WHERE r.reasonShares[at] >= $minShare
RETURN c.customerId AS customer, r.rank AS rank, p.productId AS product, r.reasonCites[at] AS cites,
       round(r.reasonShares[at], 3) AS share, r.reasonCounts[at] AS ofCustomers
ORDER BY share DESC, ofCustomers DESC, customer, rank
LIMIT $limit
