// Customer -> product interactions of the customers in $customerIds as known in a date
// window: aggregated from the transactions dated in [$since, $until) (null = open end), as
// loaders/refresh_usage.cypher aggregates them (no money added across currencies; the total
// in the reporting currency only when every value was converted).
// Columns as in export_interactions.cypher; a missing number is NaN in its place.
UNWIND $customerIds AS id
MATCH (c:Customer {customerId: id})-[:PERFORMED]->(t:Transaction)-[:OF_PRODUCT]->(p:Product)
WHERE ($since IS NULL OR t.date >= datetime($since)) AND ($until IS NULL OR t.date < datetime($until))
WITH id, p, count(t) AS n, min(t.date) AS first, max(t.date) AS last, sum(t.value) AS value,
     sum(t.amount) AS amount, avg(t.productUsage) AS usage, avg(t.customerEngagement) AS engagement,
     size(collect(DISTINCT coalesce(t.currency, ''))) = 1 AS oneCurrency,
     count(t.value) AS valueCount, sum(t.valueReporting) AS valueReporting, count(t.valueReporting) AS converted
WITH id, p, n, first, last, usage, engagement,
     CASE WHEN oneCurrency THEN value END AS value, CASE WHEN oneCurrency THEN amount END AS amount,
     CASE WHEN converted > 0 AND converted = valueCount THEN valueReporting END AS valueReporting
RETURN collect(id) AS customerId, collect(p.productId) AS productId,
       collect(n) AS transactionCount,
       collect(coalesce(first.epochSeconds, 0.0 / 0.0)) AS firstDate,
       collect(coalesce(last.epochSeconds, 0.0 / 0.0)) AS lastDate,
       collect(coalesce(value, 0.0 / 0.0)) AS totalValue,
       collect(coalesce(amount, 0.0 / 0.0)) AS totalAmount,
       collect(coalesce(usage, 0.0 / 0.0)) AS meanUsage,
       collect(coalesce(engagement, 0.0 / 0.0)) AS meanEngagement,
       collect(coalesce(valueReporting, 0.0 / 0.0)) AS totalValueReporting
