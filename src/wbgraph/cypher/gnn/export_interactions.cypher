// Customer -> product interactions of the customers in $customerIds, from the aggregated
// USES relationships. Columnar: one row of lists.
UNWIND $customerIds AS id
MATCH (c:Customer {customerId: id})-[u:USES]->(p:Product)
RETURN collect(id) AS customerId, collect(p.productId) AS productId,
       collect(u.transactionCount) AS transactionCount, collect(u.firstDate.epochSeconds) AS firstDate,
       collect(u.lastDate.epochSeconds) AS lastDate, collect(u.totalValue) AS totalValue,
       collect(u.totalAmount) AS totalAmount, collect(u.meanUsage) AS meanUsage,
       collect(u.meanEngagement) AS meanEngagement
