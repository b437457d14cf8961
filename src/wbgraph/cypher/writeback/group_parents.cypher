// Each entity's consolidation parent (the SUBSIDIARY_OF tree of wbgraph ingest --hierarchy)
// and the parent's name, for the reasons that cite a customer's group ("its parent ACME
// Holdings has used CM-01 since January 2024"). One row per subsidiary.
MATCH (c:Customer)-[:SUBSIDIARY_OF]->(p:Customer)
RETURN c.customerId AS customerId, p.customerId AS parentId, p.name AS parentName
