// Customer -> product interactions of the customers in $customerIds, summed per period, for
// the as-of protocol: a transaction's period is how many of $boundaries (ascending ISO 8601
// date-times: ..., cutoff - horizon, cutoff, cutoff + horizon) lie at or before its date.
// Each row holds sums, counts and bounds that add up across periods (as the ingest's usage
// parts do), so the interactions as known before any boundary are the sum of the periods
// before it: no total runs past the date it is read at. $since (null = none) leaves out
// older transactions. One list per column, as in export_interactions.cypher; a missing
// number is NaN in its place; dates are epoch seconds.
WITH [b IN $boundaries | datetime(b)] AS bounds
UNWIND $customerIds AS id
MATCH (c:Customer {customerId: id})-[:PERFORMED]->(t:Transaction)-[:OF_PRODUCT]->(p:Product)
WHERE $since IS NULL OR t.date >= datetime($since)
WITH id, p, t, size([b IN bounds WHERE b <= t.date]) AS period
WITH id, p, period, count(t) AS n, min(t.date) AS first, max(t.date) AS last,
     collect(DISTINCT coalesce(t.currency, '')) AS currencies,
     sum(t.amount) AS amount, sum(t.value) AS value,
     sum(t.productUsage) AS usageSum, count(t.productUsage) AS usageCount,
     sum(t.customerEngagement) AS engagementSum, count(t.customerEngagement) AS engagementCount,
     count(t.amount) AS amountCount, count(t.value) AS valueCount,
     sum(t.amountReporting) AS amountReporting, count(t.amountReporting) AS amountConverted,
     sum(t.valueReporting) AS valueReporting, count(t.valueReporting) AS valueConverted
RETURN collect(id) AS customerId, collect(p.productId) AS productId, collect(period) AS period,
       collect(n) AS transactionCount,
       collect(coalesce(first.epochSeconds, 0.0 / 0.0)) AS firstDate,
       collect(coalesce(last.epochSeconds, 0.0 / 0.0)) AS lastDate,
       collect(amount) AS totalAmount, collect(value) AS totalValue,
       collect(usageSum) AS usageSum, collect(usageCount) AS usageCount,
       collect(engagementSum) AS engagementSum, collect(engagementCount) AS engagementCount,
       collect(currencies[0]) AS currency, collect(size(currencies)) AS currencies,
       collect(amountCount) AS amountCount, collect(valueCount) AS valueCount,
       collect(amountReporting) AS amountReporting, collect(amountConverted) AS amountConverted,
       collect(valueReporting) AS valueReporting, collect(valueConverted) AS valueConverted
