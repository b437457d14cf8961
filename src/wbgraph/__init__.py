"""wbgraph: a Neo4j-backed, graph-attention product recommender for wholesale banking."""

__version__ = "0.1.0"
