"""Graph learning: Neo4j -> PyG export, heterogeneous GAT recommender, evaluation against baselines."""

import warnings

# torch_geometric touches torch.jit.script at import time, which newer torch versions flag.
warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*is deprecated", category=FutureWarning)
