// A customer's corporate group as a picture: every entity under its ultimate parent (the
// customer alone when it belongs to none), who owns whom (OWNED_BY with its share; the
// consolidation tree as SUBSIDIARY_OF), the products each entity uses and the customer's
// current recommendations. Returns paths, so Neo4j Browser and Bloom draw the graph view.
// Parameters: $customerId (e.g. 'CUS-0001').
// In Neo4j Browser: :param customerId => 'CUS-0001'
MATCH (c:Customer {customerId: $customerId})
MATCH (m:Customer)
WHERE m = c OR (c.ultimateParentId IS NOT NULL AND m.ultimateParentId = c.ultimateParentId)
OPTIONAL MATCH tree = (m)-[:SUBSIDIARY_OF|OWNED_BY]->(:Customer)
OPTIONAL MATCH uses = (m)-[:USES]->(:Product)
OPTIONAL MATCH recommended = (c)-[:RECOMMENDED]->(:Product)
RETURN collect(DISTINCT m) AS members, collect(DISTINCT tree) AS tree, collect(DISTINCT uses) AS uses,
       collect(DISTINCT recommended) AS recommended
