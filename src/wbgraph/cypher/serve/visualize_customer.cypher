// One customer's neighbourhood for `wbgraph visualize`: the products it uses, its current
// recommendations (score, rank), its segment, and the customers of its segment who share
// the most products with it. Parameters: $customerId, $similar (how many similar customers).
// No row when the customer does not exist.
MATCH (c:Customer {customerId: $customerId})
OPTIONAL MATCH (c)-[:IN_SEGMENT]->(g:Segment)
RETURN c {.customerId, .customerType, .industry, .location, .riskRating} AS customer,
       [(c)-[u:USES]->(p:Product) | {productId: p.productId, productType: p.productType,
                                      transactionCount: u.transactionCount}] AS held,
       [(c)-[r:RECOMMENDED]->(p:Product) | {productId: p.productId, productType: p.productType,
                                             score: r.score, probability: r.probability, rank: r.rank}] AS recommended,
       g {.segmentId, .name, .size} AS segment,
       COLLECT {
         MATCH (c)-[:USES]->(p:Product)<-[:USES]-(peer:Customer)-[:IN_SEGMENT]->(g)
         WHERE peer <> c
         WITH peer, collect(p.productId) AS shared
         ORDER BY size(shared) DESC, peer.customerId LIMIT $similar
         RETURN {customerId: peer.customerId, shared: shared}
       } AS similar
