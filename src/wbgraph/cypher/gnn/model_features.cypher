// The extra properties that finished ingests' mappings marked model = true, as
// "Owner.property:kind" (kind: number or category), oldest ingest first: where two ingests
// declare one property differently, the later one wins.
MATCH (i:WbgraphIngest)
WHERE i.finishedAt IS NOT NULL AND i.modelFeatures IS NOT NULL
WITH i ORDER BY i.startedAt
UNWIND i.modelFeatures AS feature
RETURN collect(feature) AS features
