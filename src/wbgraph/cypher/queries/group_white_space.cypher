// A customer's white space in its corporate group: each product used somewhere in its group
// (the entities under its ultimate parent) but not by the customer, with how many of the
// other members use it, who (the first 10), since when, and its rank among the customer's
// current recommendations (null: not recommended). None for a customer without a group.
// Parameters: $customerId (e.g. 'CUS-0001'), $limit (e.g. 25).
// In Neo4j Browser: :param customerId => 'CUS-0001'; :param limit => 25
MATCH (c:Customer {customerId: $customerId})
WHERE c.ultimateParentId IS NOT NULL
MATCH (m:Customer {ultimateParentId: c.ultimateParentId})-[u:USES]->(p:Product)
WHERE m <> c AND NOT (c)-[:USES]->(p)
WITH c, p, collect(m.customerId) AS usedBy, min(u.firstDate) AS since
OPTIONAL MATCH (c)-[r:RECOMMENDED]->(p)
RETURN p.productId AS product, p.productType AS productType, size(usedBy) AS members, usedBy[..10] AS usedBy,
       since, r.rank AS recommendedRank
ORDER BY members DESC, product
LIMIT $limit
