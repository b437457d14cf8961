// One page of customers for the graph-learning export, in customerId order after $after.
// Optional filters: $customerType, $location (null = any). One row holding a list of rows,
// each [customerId] followed by the properties named in $properties (the graph model's
// customer attributes, then the mapping's model features): a missing property is a null in
// its place (a column per collect() would skip it and misalign the columns). Entities that are
// not clients (client = false: a hierarchy file's holding companies) are left out.
MATCH (c:Customer)
WHERE c.customerId > $after AND (c.client IS NULL OR c.client <> false)
  AND ($customerType IS NULL OR c.customerType = $customerType)
  AND ($location IS NULL OR c.location = $location)
WITH c ORDER BY c.customerId LIMIT $pageSize
RETURN collect([c.customerId] + [name IN $properties | c[name]]) AS rows
