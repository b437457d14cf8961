// How many customers the database holds besides those in $customerIds (wbgraph demo runs
// only on an empty database or on its own earlier data).
MATCH (c:Customer) WHERE NOT c.customerId IN $customerIds
RETURN count(c) AS others
