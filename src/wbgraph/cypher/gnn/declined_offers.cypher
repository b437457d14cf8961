// The offers customers declined (wbgraph outcomes ingest), for training with --hard-negatives:
// each (customer, product) declined, and when (the decision, else the offer; epoch seconds),
// so a question is taught only the declines known at its date. Parameters: none.
MATCH (c:Customer)-[:RECEIVED]->(o:Offer {outcome: 'declined'})-[:FOR]->(p:Product)
RETURN c.customerId AS customerId, p.productId AS productId,
       datetime({date: coalesce(o.decidedAt, o.offeredAt)}).epochSeconds AS decided
