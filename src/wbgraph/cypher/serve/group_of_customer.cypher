// A customer's corporate group, for `wbgraph recommend --group` and `wbgraph visualize
// --group`: every entity under its ultimate parent (the customer alone when it belongs to
// none), each with its consolidation parent and the share that parent holds, whether it is a
// client, the products it uses and its current recommendations. Parameters: $customerId.
// No row when the customer does not exist.
MATCH (c:Customer {customerId: $customerId})
RETURN c.customerId AS customerId, c.ultimateParentId AS ultimateParentId,
       COLLECT {
         MATCH (m:Customer)
         WHERE m = c OR (c.ultimateParentId IS NOT NULL AND m.ultimateParentId = c.ultimateParentId)
         OPTIONAL MATCH (m)-[:SUBSIDIARY_OF]->(p:Customer)
         OPTIONAL MATCH (m)-[o:OWNED_BY]->(p)
         RETURN {customerId: m.customerId, name: m.name, client: coalesce(m.client, true),
                 riskRating: m.riskRating, exposure: m.exposure, parentId: p.customerId, share: o.share,
                 uses: [(m)-[:USES]->(q:Product) | q.productId],
                 recommended: [(m)-[r:RECOMMENDED]->(q:Product) | {productId: q.productId, rank: r.rank,
                                                                   score: r.score, probability: r.probability}]}
       } AS members
