// Recompute the aggregated (:Customer)-[:USES]->(:Product) relationship of the given pairs
// from their transactions. $customers: [{customerId, productIds: [productId, ...]}], the
// pairs grouped by customer: one walk over a customer's transactions serves all its pairs
// (half again as fast as a walk per pair). A pure function of the
// Transactions in the graph, so it is right after any number of files, re-runs or crashes.
// Money is never added across currencies: totalAmount and totalValue are set, with the
// pair's currency, only when all its transactions share one currency (or all name none);
// totalAmountReporting / totalValueReporting (a mapping's [currency] rates) only when every
// amount / value of the pair was converted to the reporting currency.
UNWIND $customers AS row
MATCH (c:Customer {customerId: row.customerId})-[:PERFORMED]->(t:Transaction)-[:OF_PRODUCT]->(p:Product)
WHERE p.productId IN row.productIds
WITH c, p, count(t) AS n, min(t.date) AS first, max(t.date) AS last,
     collect(DISTINCT coalesce(t.currency, '')) AS currencies,
     sum(t.amount) AS amount, sum(t.value) AS value,
     avg(t.productUsage) AS meanUsage, avg(t.customerEngagement) AS meanEngagement,
     count(t.amount) AS amountCount, count(t.value) AS valueCount,
     sum(t.amountReporting) AS amountReporting, count(t.amountReporting) AS amountsConverted,
     sum(t.valueReporting) AS valueReporting, count(t.valueReporting) AS valuesConverted
WITH c, p, n, first, last, amount, value, meanUsage, meanEngagement,
     CASE WHEN size(currencies) = 1 THEN currencies[0] END AS currency,
     CASE WHEN amountsConverted > 0 AND amountsConverted = amountCount THEN amountReporting END AS amountReporting,
     CASE WHEN valuesConverted > 0 AND valuesConverted = valueCount THEN valueReporting END AS valueReporting
MERGE (c)-[u:USES]->(p)
SET u.transactionCount = n, u.firstDate = first, u.lastDate = last,
    u.totalAmount = CASE WHEN currency IS NOT NULL THEN amount END,
    u.totalValue = CASE WHEN currency IS NOT NULL THEN value END,
    u.currency = CASE WHEN currency <> '' THEN currency END,
    u.meanUsage = meanUsage, u.meanEngagement = meanEngagement,
    u.totalAmountReporting = amountReporting, u.totalValueReporting = valueReporting
