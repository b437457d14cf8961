// Replace the recommendations and segment membership of a batch of customers, in one
// transaction: a reader sees each customer's complete old set or its complete new set.
// The customer records the run and the size of its set (recommendationRunId,
// recommendationCount), so that a reader can tell a whole set from a commit half-seen.
// A set written by a different run is kept as previousRecommendations / previousRunId.
// $rows: [{customerId, segment, segmentKey, recommendations: [{productId, score, rank, reasons}]}];
// $runId, $modelVersion, $createdAt (ISO 8601) describe the run the scores come from.
WITH datetime($createdAt) AS createdAt
UNWIND $rows AS row
MATCH (c:Customer {customerId: row.customerId})
OPTIONAL MATCH (c)-[old:RECOMMENDED]->(op:Product)
WITH createdAt, c, row, old, op ORDER BY old.rank
WITH createdAt, c, row, collect(old) AS olds, collect(op.productId) AS oldProducts, head(collect(old.runId)) AS oldRun
FOREACH (o IN olds | DELETE o)
SET c.previousRunId = CASE WHEN oldRun IS NOT NULL AND oldRun <> $runId THEN oldRun ELSE c.previousRunId END,
    c.previousRecommendations = CASE WHEN oldRun IS NOT NULL AND oldRun <> $runId THEN oldProducts ELSE c.previousRecommendations END,
    c.segment = row.segment,
    c.recommendationRunId = $runId,
    c.recommendationCount = size(row.recommendations)
WITH createdAt, c, row
OPTIONAL MATCH (c)-[m:IN_SEGMENT]->(:Segment)
DELETE m
WITH DISTINCT createdAt, c, row
OPTIONAL MATCH (g:Segment {segmentKey: row.segmentKey})
FOREACH (_ IN CASE WHEN g IS NULL THEN [] ELSE [1] END | CREATE (c)-[:IN_SEGMENT]->(g))
WITH createdAt, c, row
UNWIND row.recommendations AS rec
MATCH (p:Product {productId: rec.productId})
CREATE (c)-[:RECOMMENDED {score: rec.score, rank: rec.rank, runId: $runId, reasons: rec.reasons,
                          modelVersion: $modelVersion, createdAt: createdAt}]->(p)
