// Every offer with what acceptance rates are broken down by: its run, rank and relationship
// manager (as the outcomes file gave them), the product, and the customer's segment now
// (c.segment: the serving run's). Columns, one list each (wbgraph report, evaluate --outcomes).
MATCH (c:Customer)-[:RECEIVED]->(o:Offer)-[:FOR]->(p:Product)
RETURN collect(o.outcome) AS outcome, collect(coalesce(o.runId, '')) AS runId,
       collect(coalesce(o.rank, 0)) AS rank, collect(coalesce(o.rm, '')) AS rm,
       collect(p.productId) AS productId, collect(coalesce(c.segment, 0)) AS segment
