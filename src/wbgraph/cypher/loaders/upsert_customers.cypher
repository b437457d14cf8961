// Create or update customers. $customers: [{customerId, asOf, props: {...}}], one per customer.
// Attributes come from the customer's latest transaction: a row older than what the graph
// already holds (attributesAsOf) changes nothing; a row with props null only makes sure the
// customer exists (its attributes come from another chunk of the file). Context links follow the attributes: the
// old ones are deleted first, so the new ones are created without a MERGE on dense nodes.
// A customer a hierarchy file made (client = false) is a client from its first transaction.
UNWIND $customers AS row
MERGE (c:Customer {customerId: row.customerId})
FOREACH (_ IN CASE WHEN c.client = false THEN [1] ELSE [] END | REMOVE c.client)
WITH c, row, datetime(row.asOf) AS asOf
WHERE row.props IS NOT NULL AND (c.attributesAsOf IS NULL OR asOf > c.attributesAsOf)
SET c += row.props, c.attributesAsOf = asOf
WITH c, row
OPTIONAL MATCH (c)-[old:IN_INDUSTRY|LOCATED_IN|MANAGED_BY]->()
DELETE old
WITH DISTINCT c, row
FOREACH (name IN [name IN [row.props.industry] WHERE name IS NOT NULL] |
  MERGE (n:Industry {name: name}) CREATE (c)-[:IN_INDUSTRY]->(n))
FOREACH (name IN [name IN [row.props.location] WHERE name IS NOT NULL] |
  MERGE (n:Location {name: name}) CREATE (c)-[:LOCATED_IN]->(n))
FOREACH (name IN [name IN [row.props.relationshipManager] WHERE name IS NOT NULL] |
  MERGE (n:RelationshipManager {name: name}) CREATE (c)-[:MANAGED_BY]->(n))
