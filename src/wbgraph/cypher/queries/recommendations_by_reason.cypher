// Which recommendations does one kind of reason justify, and how strongly? Beside the
// sentences, each customer keeps its reasons as data, parallel lists with one entry per
// reason of its set: recommendationReasonRanks (the rank it explains), recommendationReasonKinds
// ('group': used in its corporate group, its parent cited, else its ultimate parent;
// 'together': often taken together with a product the customer uses, cited in
// recommendationReasonCites; 'similar': adopted by similar customers, its segment and
// industry cited; 'peers': held by customers of its type and industry),
// recommendationReasonShares (the share of them holding the recommended product) and
// recommendationReasonCounts (of how many customers).
// Parameters: $kind (e.g. 'similar'), $minShare (e.g. 0.2), $limit (e.g. 25).
// In Neo4j Browser: :param kind => 'similar'; :param minShare => 0.2; :param limit => 25
MATCH (c:Customer)-[r:RECOMMENDED]->(p:Product)
WHERE $kind IN c.recommendationReasonKinds
WITH c, r, p, [i IN range(0, size(c.recommendationReasonKinds) - 1)
               WHERE c.recommendationReasonRanks[i] = r.rank AND c.recommendationReasonKinds[i] = $kind][0] AS at
WHERE at IS NOT NULL AND c.recommendationReasonShares[at] >= $minShare
RETURN c.customerId AS customer, r.rank AS rank, p.productId AS product, c.recommendationReasonCites[at] AS cites,
       round(c.recommendationReasonShares[at], 3) AS share, c.recommendationReasonCounts[at] AS ofCustomers
ORDER BY share DESC, ofCustomers DESC, customer, rank
LIMIT $limit
