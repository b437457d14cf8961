// Replace the recommendations and segment membership of a batch of customers, in one
// transaction: a reader sees each customer's complete old set or its complete new set.
// The customer records the run and the size of its set (recommendationRunId,
// recommendationCount), so that a reader can tell a whole set from a commit half-seen.
// A set written by a different run is kept as previousRecommendations / previousRunId.
// The edges are light, (c)-[:RECOMMENDED {score, probability, rank, runId}]->(p) (probability:
// the calibrated chance the customer takes the product within the horizon; null for a run
// trained without a calibrator): the run's modelVersion
// and createdAt are on its (:Run {runId}) node (writeback/write_run), and the reasons of rank
// k on the customer, recommendationReasons[k - 1] (one text per rank, reasons separated by
// newlines: split(c.recommendationReasons[r.rank - 1], '\n') gives them back), with their
// figures as data (explain.Reason), parallel lists with one entry per reason of the set:
// recommendationReasonRanks (the rank it explains), ...Kinds, ...Cites, ...Shares, ...Counts.
// The serving read's copy of the set is on the customer too, written here with the edges:
// recommendationSnapshot, one JSON text (serve/customer_snapshot).
// $rows: [{customerId, segment, segmentKey, products: [productId by rank], scores: [score by
// rank], probabilities: [probability or null by rank], reasons: [text by rank], reasonRanks,
// reasonKinds, reasonCites, reasonShares, reasonCounts: [one per reason of the set],
// snapshot}]; $runId.
UNWIND $rows AS row
MATCH (c:Customer {customerId: row.customerId})
OPTIONAL MATCH (c)-[old:RECOMMENDED]->(op:Product)
WITH c, row, old, op ORDER BY old.rank
WITH c, row, collect(old) AS olds, collect(op.productId) AS oldProducts, head(collect(old.runId)) AS oldRun
FOREACH (o IN olds | DELETE o)
SET c.previousRunId = CASE WHEN oldRun IS NOT NULL AND oldRun <> $runId THEN oldRun ELSE c.previousRunId END,
    c.previousRecommendations = CASE WHEN oldRun IS NOT NULL AND oldRun <> $runId THEN oldProducts ELSE c.previousRecommendations END,
    c.segment = row.segment,
    c.recommendationRunId = $runId,
    c.recommendationCount = size(row.products),
    c.recommendationReasons = row.reasons,
    c.recommendationReasonRanks = row.reasonRanks,
    c.recommendationReasonKinds = row.reasonKinds,
    c.recommendationReasonCites = row.reasonCites,
    c.recommendationReasonShares = row.reasonShares,
    c.recommendationReasonCounts = row.reasonCounts,
    c.recommendationSnapshot = row.snapshot
WITH c, row
OPTIONAL MATCH (c)-[m:IN_SEGMENT]->(:Segment)
DELETE m
WITH DISTINCT c, row
OPTIONAL MATCH (g:Segment {segmentKey: row.segmentKey})
FOREACH (_ IN CASE WHEN g IS NULL THEN [] ELSE [1] END | CREATE (c)-[:IN_SEGMENT]->(g))
WITH c, row
UNWIND range(0, size(row.products) - 1) AS i
MATCH (p:Product {productId: row.products[i]})
CREATE (c)-[:RECOMMENDED {score: row.scores[i], probability: row.probabilities[i], rank: i + 1, runId: $runId}]->(p)
