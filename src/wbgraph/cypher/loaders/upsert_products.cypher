// Create or update products. $products: [{productId, asOf, props: {...}, regulations: [...]}].
// Attributes come from the product's latest transaction, as for customers (props null: make
// sure it exists); the regulations a product has been traded under accumulate.
UNWIND $products AS row
MERGE (p:Product {productId: row.productId})
FOREACH (name IN row.regulations |
  MERGE (g:Regulation {name: name}) MERGE (p)-[:SUBJECT_TO]->(g))
WITH p, row, datetime(row.asOf) AS asOf
WHERE row.props IS NOT NULL AND (p.attributesAsOf IS NULL OR asOf > p.attributesAsOf)
SET p += row.props, p.attributesAsOf = asOf
WITH p, row
OPTIONAL MATCH (p)-[old:IN_CATEGORY]->()
DELETE old
WITH DISTINCT p, row
FOREACH (name IN [name IN [row.props.category] WHERE name IS NOT NULL] |
  MERGE (n:ProductCategory {name: name}) CREATE (p)-[:IN_CATEGORY]->(n))
