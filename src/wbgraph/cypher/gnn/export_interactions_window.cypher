// Customer -> product interactions of the customers in $customerIds as known in a date
// window: aggregated from the transactions dated in [$since, $until) (null = open end), as
// loaders/refresh_usage.cypher aggregates them (no money added across currencies; the total
// in the reporting currency only when every value was converted).
// Rows as in export_interactions.cypher; a missing value is a null in its place.
UNWIND $customerIds AS id
MATCH (c:Customer {customerId: id})-[:PERFORMED]->(t:Transaction)-[:OF_PRODUCT]->(p:Product)
WHERE ($since IS NULL OR t.date >= datetime($since)) AND ($until IS NULL OR t.date < datetime($until))
WITH id, p, count(t) AS n, min(t.date) AS first, max(t.date) AS last, sum(t.value) AS value,
     sum(t.amount) AS amount, avg(t.productUsage) AS usage, avg(t.customerEngagement) AS engagement,
     size(collect(DISTINCT coalesce(t.currency, ''))) = 1 AS oneCurrency,
     count(t.value) AS valueCount, sum(t.valueReporting) AS valueReporting, count(t.valueReporting) AS converted
RETURN collect([id, p.productId, n, first.epochSeconds, last.epochSeconds, CASE WHEN oneCurrency THEN value END,
                CASE WHEN oneCurrency THEN amount END, usage, engagement,
                CASE WHEN converted > 0 AND converted = valueCount THEN valueReporting END]) AS rows
