// Customers without a current set of recommendations: never written back (newcomers since
// the last writeback), for `wbgraph writeback --only-new`; entities that are not clients
// (client = false) never get one.
MATCH (c:Customer)
WHERE c.recommendationRunId IS NULL AND (c.client IS NULL OR c.client <> false)
RETURN c.customerId AS customerId
