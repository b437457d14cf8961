// Customer -> product interactions of the customers in $customerIds, from the aggregated
// USES relationships. One row holding a list of rows, each [customerId, productId,
// transactionCount, firstDate, lastDate (epoch seconds), totalValue, totalAmount, meanUsage,
// meanEngagement, totalValueReporting]; a missing property is a null in its place.
UNWIND $customerIds AS id
MATCH (c:Customer {customerId: id})-[u:USES]->(p:Product)
RETURN collect([id, p.productId, u.transactionCount, u.firstDate.epochSeconds, u.lastDate.epochSeconds,
                u.totalValue, u.totalAmount, u.meanUsage, u.meanEngagement, u.totalValueReporting]) AS rows
