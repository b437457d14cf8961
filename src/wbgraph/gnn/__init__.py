"""Graph learning: Neo4j -> PyG export, heterogeneous GAT recommender, evaluation (issue: learning)."""
