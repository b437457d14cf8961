// Create or update products. $products: [{productId, asOf, props: {...}, regulations: [...],
// replaceRegulations}]. Attributes come from the product's latest transaction, as for
// customers (props null: make sure it exists). Regulations: with replaceRegulations false
// (the mapping's regulations = "accumulate", the default) every regulation a product has been
// traded under accumulates; with true ("latest") they are its latest row's, replacing the
// old ones when this row is newer than the attributes the product has.
UNWIND $products AS row
MERGE (p:Product {productId: row.productId})
WITH p, row, datetime(row.asOf) AS asOf
WITH p, row, asOf, row.props IS NOT NULL AND (p.attributesAsOf IS NULL OR asOf > p.attributesAsOf) AS newer
CALL (p, row, newer) {
  WITH p, row, newer WHERE row.replaceRegulations AND newer
  OPTIONAL MATCH (p)-[old:SUBJECT_TO]->()
  DELETE old
}
FOREACH (name IN CASE WHEN row.replaceRegulations AND NOT newer THEN [] ELSE row.regulations END |
  MERGE (g:Regulation {name: name}) MERGE (p)-[:SUBJECT_TO]->(g))
WITH p, row, asOf WHERE newer
SET p += row.props, p.attributesAsOf = asOf
WITH p, row
OPTIONAL MATCH (p)-[old:IN_CATEGORY]->()
DELETE old
WITH DISTINCT p, row
FOREACH (name IN [name IN [row.props.category] WHERE name IS NOT NULL] |
  MERGE (n:ProductCategory {name: name}) CREATE (p)-[:IN_CATEGORY]->(n))
