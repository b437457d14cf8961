// Replace the recommendations of a batch of customers, in one transaction: a reader sees each
// customer's complete old set or its complete new set, never a mix.
// $rows: [{customerId, recommendations: [{productId, score, rank}]}]; $runId, $modelVersion,
// $createdAt (ISO 8601) describe the run the scores come from.
UNWIND $rows AS row
MATCH (c:Customer {customerId: row.customerId})
OPTIONAL MATCH (c)-[old:RECOMMENDED]->(:Product)
DELETE old
WITH DISTINCT c, row
UNWIND row.recommendations AS rec
MATCH (p:Product {productId: rec.productId})
CREATE (c)-[:RECOMMENDED {score: rec.score, rank: rec.rank, runId: $runId,
                          modelVersion: $modelVersion, createdAt: datetime($createdAt)}]->(p)
