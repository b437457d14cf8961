// One page of customers for the graph-learning export, in customerId order after $after.
// Optional filters: $customerType, $location (null = any). One row holding a list of rows,
// each [customerId, customerType, industry, location, relationshipManager, riskRating,
// companySize, creditScore, defaultProbability, exposure] followed by the extra properties
// named in $extras (gnn/model_features): a missing property is a null in its place (a column
// per collect() would skip it and misalign the columns).
MATCH (c:Customer)
WHERE c.customerId > $after
  AND ($customerType IS NULL OR c.customerType = $customerType)
  AND ($location IS NULL OR c.location = $location)
WITH c ORDER BY c.customerId LIMIT $pageSize
RETURN collect([c.customerId, c.customerType, c.industry, c.location, c.relationshipManager, c.riskRating,
                c.companySize, c.creditScore, c.defaultProbability, c.exposure]
               + [name IN $extras | c[name]]) AS rows
