"""The heterogeneous graph-attention recommender."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn
from torch_geometric.nn import GATv2Conv, HeteroConv

if TYPE_CHECKING:
    from torch_geometric.data import HeteroData

    from ..config import TrainConfig


class HeteroGATRecommender(nn.Module):
    r"""Scores customer -> product pairs from a heterogeneous graph.

    Products and context nodes start as a learnable ID embedding plus, where the node type
    has features, a linear projection of them. Customers start from their features alone and
    learn everything else from the products they hold through attention: with a handful of
    adoptions each, a free embedding per customer memorises those few products instead of
    generalising (measured: recall@10 0.560 with one, 0.672 without, on the generator's
    50,000-row data), and an inductive customer is scored sensibly from its features and
    holdings even when it was never trained on. ``layers`` rounds of
    multi-head GATv2 attention, one convolution per edge type (``add_self_loops=False``: the graph is bipartite
    per type;
    interaction attributes enter the attention through ``edge_dim``), each with a residual
    connection, ELU, dropout and layer norm. The decoder is a dot product plus a product bias.

    Args:
        metadata: ``(node_types, edge_types)`` of the graph.
        num_nodes: nodes per node type.
        feature_dims: feature width per node type that has features.
        edge_dims: edge-attribute width per edge type that has attributes.
        hidden: width of every representation.
        heads: attention heads (``hidden`` must be divisible by it).
        layers: message-passing rounds.
        dropout: dropout on attention and on layer outputs.

    The defaults are :class:`wbgraph.config.TrainConfig`'s; :meth:`for_graph` builds one from it.

    Shapes:
        encode: ``x_dict[t]: [num_nodes[t], feature_dims[t]]`` -> ``{t: [num_nodes[t], hidden]}``
        score: ``[C, hidden], [P, hidden]`` -> ``[C, P]``
        score_all: a graph -> ``[customers, products]``
    """

    def __init__(
        self,
        metadata: tuple,
        num_nodes: dict,
        feature_dims: dict,
        edge_dims: dict,
        hidden: int = 64,
        heads: int = 2,
        layers: int = 1,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.hidden, self.heads, self.layers, self.dropout = hidden, heads, layers, dropout
        node_types, edge_types = metadata
        self.node_types = list(node_types)
        embedded = [t for t in node_types if t != "customer"]
        self.embeddings = nn.ModuleDict({t: nn.Embedding(num_nodes[t], hidden) for t in embedded})
        self.projections = nn.ModuleDict({t: nn.Linear(d, hidden) for t, d in feature_dims.items()})
        self.convs = nn.ModuleList(
            [
                HeteroConv(
                    {
                        et: GATv2Conv(
                            (hidden, hidden),
                            hidden // heads,
                            heads=heads,
                            add_self_loops=False,
                            edge_dim=edge_dims.get(et),
                            dropout=dropout,
                        )
                        for et in edge_types
                    },
                    aggr="sum",
                )
                for _ in range(layers)
            ]
        )
        self.norms = nn.ModuleList(
            [nn.ModuleDict({t: nn.LayerNorm(hidden) for t in node_types}) for _ in range(layers)]
        )
        self.product_bias = nn.Parameter(torch.zeros(num_nodes["product"]))
        self.reset_parameters()

    @classmethod
    def for_graph(cls, graph: HeteroData, config: TrainConfig) -> HeteroGATRecommender:
        """A model sized for ``graph`` with ``config``'s hyperparameters."""
        return cls(
            graph.metadata(),
            num_nodes={t: graph[t].num_nodes for t in graph.node_types},
            feature_dims={t: graph[t].x.shape[1] for t in graph.node_types if "x" in graph[t]},
            edge_dims={et: graph[et].edge_attr.shape[1] for et in graph.edge_types if "edge_attr" in graph[et]},
            hidden=config.hidden,
            heads=config.heads,
            layers=config.layers,
            dropout=config.dropout,
        )

    def reset_parameters(self) -> None:
        for embedding in self.embeddings.values():
            nn.init.normal_(embedding.weight, std=0.1)
        for module in (*self.projections.values(), *self.convs, *[n for d in self.norms for n in d.values()]):
            module.reset_parameters()
        nn.init.zeros_(self.product_bias)

    def initial(self, x_dict: dict) -> dict:
        """Every node's representation before attention: ID embedding and/or feature projection."""
        return {
            t: (self.embeddings[t].weight if t in self.embeddings else 0)
            + (self.projections[t](x_dict[t]) if t in self.projections else 0)
            for t in self.node_types
        }

    def encode(self, x_dict: dict, edge_index_dict: dict, edge_attr_dict: dict) -> dict:
        """Every node's representation after ``layers`` rounds of attention."""
        h = self.initial(x_dict)
        for conv, norms in zip(self.convs, self.norms):
            out = conv(h, edge_index_dict, edge_attr_dict=edge_attr_dict)
            h = {
                t: norms[t](h[t] + nn.functional.dropout(nn.functional.elu(out[t]), self.dropout, self.training))
                if t in out
                else h[t]
                for t in h
            }
        return h

    def encode_graph(self, graph: HeteroData) -> dict:
        """:meth:`encode` over all of ``graph``."""
        return self.encode(graph.x_dict, graph.edge_index_dict, graph.edge_attr_dict)

    def score(self, customers: torch.Tensor, products: torch.Tensor) -> torch.Tensor:
        """Scores of every given customer for every given product."""
        return customers @ products.T + self.product_bias

    def pair_score(self, customers: torch.Tensor, products: torch.Tensor, product_index: torch.Tensor) -> torch.Tensor:
        """Scores of customer ``i`` for product ``i``, row by row."""
        return (customers * products).sum(-1) + self.product_bias[product_index]

    @torch.no_grad()
    def score_all(self, graph: HeteroData) -> tuple[torch.Tensor, dict]:
        """``([customers, products] scores, representations)`` over ``graph``, in evaluation mode."""
        self.eval()
        h = self.encode_graph(graph)
        return self.score(h["customer"], h["product"]), h

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(hidden={self.hidden}, heads={self.heads}, layers={self.layers})"


def bpr_loss(positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
    """Bayesian personalised ranking: each positive's score should beat its negative's."""
    return -nn.functional.logsigmoid(positive - negative).mean()
