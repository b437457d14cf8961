// Every product for the graph-learning export, with the regulations it is traded under.
// One row holding a list of rows, each [productId] followed by the properties named in
// $properties (the graph model's product attributes), the product's regulations, and the
// properties named in $extras (gnn/model_features); a missing property is a null in its place.
MATCH (p:Product)
OPTIONAL MATCH (p)-[:SUBJECT_TO]->(g:Regulation)
WITH p, collect(g.name) AS regulations ORDER BY p.productId
RETURN collect([p.productId] + [name IN $properties | p[name]] + [regulations]
               + [name IN $extras | p[name]]) AS rows
