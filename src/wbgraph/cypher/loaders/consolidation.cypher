// The consolidation tree as it stands, for `wbgraph ingest --hierarchy`: every SUBSIDIARY_OF
// as [child, parent], and the customers that carry group facts (ultimateParentId).
CALL () { MATCH (c:Customer)-[:SUBSIDIARY_OF]->(p:Customer) RETURN collect([c.customerId, p.customerId]) AS edges }
CALL () { MATCH (c:Customer) WHERE c.ultimateParentId IS NOT NULL RETURN collect(c.customerId) AS members }
RETURN edges, members
