// One product's neighbourhood for `wbgraph visualize --product`: its category and
// regulations, its heaviest users and the customers it is recommended to most strongly.
// Parameters: $productId, $limit (customers of each kind). No row when it does not exist.
MATCH (p:Product {productId: $productId})
RETURN p {.productId, .productType, .category, .subcategory} AS product,
       [(p)-[:SUBJECT_TO]->(g:Regulation) | g.name] AS regulations,
       COLLECT {
         MATCH (c:Customer)-[u:USES]->(p)
         WITH c, u ORDER BY u.transactionCount DESC, c.customerId LIMIT $limit
         RETURN {customerId: c.customerId, transactionCount: u.transactionCount}
       } AS users,
       COLLECT {
         MATCH (c:Customer)-[r:RECOMMENDED]->(p)
         WITH c, r ORDER BY r.score DESC, c.customerId LIMIT $limit
         RETURN {customerId: c.customerId, score: r.score, probability: r.probability, rank: r.rank}
       } AS prospects
