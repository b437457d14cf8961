// Every product for the graph-learning export, with the regulations it is traded under.
// Columnar: one row of lists.
MATCH (p:Product)
OPTIONAL MATCH (p)-[:SUBJECT_TO]->(g:Regulation)
WITH p, collect(g.name) AS regulations ORDER BY p.productId
RETURN collect(p.productId) AS productId, collect(p.productType) AS productType,
       collect(p.category) AS category, collect(p.subcategory) AS subcategory,
       collect(p.features) AS features, collect(regulations) AS regulations
