// Customers without a current set of recommendations: never written back (newcomers since
// the last writeback), for `wbgraph writeback --only-new`.
MATCH (c:Customer)
WHERE c.recommendationRunId IS NULL
RETURN c.customerId AS customerId
