// Offers and their outcomes (wbgraph outcomes ingest): one (:Offer {offerKey}) per customer,
// product and offer date, (:Customer)-[:RECEIVED]->(:Offer)-[:FOR]->(:Product), and
// (:Offer)-[:FROM_RUN]->(:Run) when its runId names a run the graph knows. Loading the same
// offer again replaces its facts. $rows: [{offerKey, customerId, productId, offeredAt,
// outcome, decidedAt, channel, rm, runId, rank}] (dates as ISO text).
UNWIND $rows AS row
MATCH (c:Customer {customerId: row.customerId})
MATCH (p:Product {productId: row.productId})
MERGE (o:Offer {offerKey: row.offerKey})
SET o.offeredAt = date(row.offeredAt),
    o.outcome = row.outcome, o.decidedAt = CASE WHEN row.decidedAt IS NULL THEN null ELSE date(row.decidedAt) END,
    o.channel = row.channel, o.rm = row.rm, o.runId = row.runId, o.rank = row.rank
MERGE (c)-[:RECEIVED]->(o)
MERGE (o)-[:FOR]->(p)
WITH o, row
OPTIONAL MATCH (o)-[old:FROM_RUN]->()
DELETE old
WITH DISTINCT o, row
OPTIONAL MATCH (r:Run {runId: row.runId})
FOREACH (_ IN CASE WHEN r IS NULL THEN [] ELSE [1] END | MERGE (o)-[:FROM_RUN]->(r))
