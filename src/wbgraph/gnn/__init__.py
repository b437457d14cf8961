"""Graph learning: Neo4j -> tables -> HeteroData, the heterogeneous GAT, training, evaluation, baselines."""

import warnings

# torch_geometric touches torch.jit.script at import time, which newer torch versions flag.
warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*is deprecated", category=FutureWarning)
