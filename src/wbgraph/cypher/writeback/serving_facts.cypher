// What each customer's serving snapshot repeats of its run, its segment and its products,
// read once per writeback after the Run and Segment nodes are written. $runId.
// createdAt as the serving read shows it (toString of the Run's datetime).
MATCH (r:Run {runId: $runId})
RETURN toString(r.createdAt) AS createdAt,
       COLLECT { MATCH (g:Segment) RETURN [g.segmentKey, g.segmentId, g.name] } AS segments,
       COLLECT { MATCH (p:Product) RETURN [p.productId, p.productType, p.category] } AS products
