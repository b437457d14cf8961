// One segment for `wbgraph visualize --segment`: the segment (with its profile), some of its
// members and their top-3 recommendations. Parameters: $segmentId, $limit (members shown).
// No row when the current run has no such segment.
MATCH (g:Segment {segmentId: $segmentId})
WITH g ORDER BY g.runId DESC LIMIT 1
RETURN g {.segmentId, .name, .size, .silhouette, .dominantIndustry, .mostRecommended} AS segment,
       COLLECT {
         MATCH (c:Customer)-[:IN_SEGMENT]->(g)
         WITH c ORDER BY c.customerId LIMIT $limit
         RETURN c {.customerId, .customerType, .industry}
       } AS members,
       COLLECT {
         MATCH (c:Customer)-[:IN_SEGMENT]->(g)
         WITH c ORDER BY c.customerId LIMIT $limit
         MATCH (c)-[r:RECOMMENDED]->(p:Product) WHERE r.rank <= 3
         RETURN {customerId: c.customerId, productId: p.productId, productType: p.productType, score: r.score,
                 probability: r.probability, rank: r.rank}
       } AS recommendations
