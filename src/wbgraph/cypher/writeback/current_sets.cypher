// Every customer's current set as the graph holds it, by rank, with the run that wrote it: what
// a writeback's churn check (--max-churn; wbgraph run) compares its new sets with. One row per
// customer with a set.
MATCH (c:Customer)-[r:RECOMMENDED]->(p:Product)
WITH c, r, p ORDER BY r.rank
RETURN c.customerId AS customerId, collect(p.productId) AS products, head(collect(r.runId)) AS runId
