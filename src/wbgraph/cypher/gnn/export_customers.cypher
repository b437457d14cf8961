// One page of customers for the graph-learning export, in customerId order after $after.
// Optional filters: $customerType, $location (null = any). Columnar: one row of lists.
MATCH (c:Customer)
WHERE c.customerId > $after
  AND ($customerType IS NULL OR c.customerType = $customerType)
  AND ($location IS NULL OR c.location = $location)
WITH c ORDER BY c.customerId LIMIT $pageSize
RETURN collect(c.customerId) AS customerId, collect(c.customerType) AS customerType,
       collect(c.industry) AS industry, collect(c.location) AS location,
       collect(c.relationshipManager) AS relationshipManager, collect(c.riskRating) AS riskRating,
       collect(c.companySize) AS companySize, collect(c.creditScore) AS creditScore,
       collect(c.defaultProbability) AS defaultProbability, collect(c.exposure) AS exposure
