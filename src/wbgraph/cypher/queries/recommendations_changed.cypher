// Whose recommendations changed with the latest writeback? Customers whose current set
// differs from the set the previous run gave them, with what was added and dropped.
// Parameters: $limit (e.g. 25).
// In Neo4j Browser: :param limit => 25
MATCH (c:Customer)-[r:RECOMMENDED]->(p:Product)
WHERE c.previousRunId IS NOT NULL
WITH c, r.runId AS run, p.productId AS product ORDER BY r.rank
WITH c, run, collect(product) AS current
WITH c, run, current, [x IN current WHERE NOT x IN c.previousRecommendations] AS added,
     [x IN c.previousRecommendations WHERE NOT x IN current] AS dropped
WHERE size(added) > 0 OR size(dropped) > 0
RETURN c.customerId AS customer, c.previousRunId AS previousRun, run AS currentRun,
       added, dropped, c.previousRecommendations AS previous, current
ORDER BY size(added) + size(dropped) DESC, customer
LIMIT $limit
