// Recompute the aggregated (:Customer)-[:USES]->(:Product) relationship of the given pairs
// from their transactions. $pairs: [{customerId, productId}]. A pure function of the
// Transactions in the graph, so it is right after any number of files, re-runs or crashes.
UNWIND $pairs AS pair
MATCH (c:Customer {customerId: pair.customerId})-[:PERFORMED]->(t:Transaction)
      -[:OF_PRODUCT]->(p:Product {productId: pair.productId})
WITH c, p, count(t) AS n, min(t.date) AS first, max(t.date) AS last,
     sum(t.amount) AS amount, sum(t.value) AS value,
     avg(t.productUsage) AS meanUsage, avg(t.customerEngagement) AS meanEngagement
MERGE (c)-[u:USES]->(p)
SET u.transactionCount = n, u.firstDate = first, u.lastDate = last,
    u.totalAmount = amount, u.totalValue = value,
    u.meanUsage = meanUsage, u.meanEngagement = meanEngagement
