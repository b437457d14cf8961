// The (customer, product) pairs a writeback must not propose because of what became of
// earlier offers (wbgraph outcomes ingest; a rules file's [suppression]): declined within
// $declinedDays days (from the decision, else the offer, to today), or offered $noResponseMax
// times or more without an answer. A date that cannot be read stops the read (fails closed).
MATCH (c:Customer)-[:RECEIVED]->(o:Offer)-[:FOR]->(p:Product)
WITH c, p, collect(o) AS offers
WITH c, p,
     any(o IN offers WHERE o.outcome = 'declined'
         AND date(coalesce(o.decidedAt, o.offeredAt)) >= date() - duration({days: $declinedDays})) AS declined,
     size([o IN offers WHERE o.outcome = 'no-response']) >= $noResponseMax AS unanswered
WHERE declined OR unanswered
RETURN c.customerId AS customerId, p.productId AS productId, declined, unanswered
