// Recommendation coverage by product category, for `wbgraph report`: per category, the
// products in the catalogue, how many of them are recommended to anyone, the RECOMMENDED
// edges and the customers receiving at least one. No parameters.
MATCH (p:Product)
WITH coalesce(p.category, '(none)') AS category, collect(p) AS products
RETURN category, size(products) AS products,
       size([p IN products WHERE EXISTS { (p)<-[:RECOMMENDED]-(:Customer) }]) AS recommendedProducts,
       COUNT { MATCH (:Customer)-[:RECOMMENDED]->(p) WHERE p IN products } AS edges,
       COUNT { MATCH (c:Customer)-[:RECOMMENDED]->(p) WHERE p IN products RETURN DISTINCT c } AS customers
ORDER BY category
