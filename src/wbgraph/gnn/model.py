"""The heterogeneous graph-attention recommender."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch_geometric.nn import GATv2Conv, HeteroConv
from torch_geometric.utils import softmax as softmax_per_node

from ..graphmodel import GROUP_USES_EDGE, REV_USES_EDGE, USES_EDGE

SCORED = ("customer", "product")  # the node types a score reads
CO_ADOPTED = ("product", "co_adopted", "product")  # EASE's item-item weights: the item channel's edges
DENSE_CHANNEL_PRODUCTS = 4096  # up to this many products the channel multiplies by a dense item-item matrix

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
    connection, ELU, dropout and layer norm. The decoder is a dot product scaled by
    ``1/sqrt(hidden)`` plus a product bias: two layer-normed vectors have a dot product of
    spread ``sqrt(hidden)``, so unscaled, the first scores were a near one-hot softmax, and on
    the bank's month (24 products, a few thousand adoptions to learn from) one seed in five
    peaked at epoch 13 and stopped at 0.796 validation NDCG@10 where the others reach 0.85.
    On the interaction edges the convolution also carries signed evidence
    (:class:`EvidenceGATv2Conv`, ``evidence``): what an interaction's attributes say beyond
    what both ends predict, which attention's convex weights cannot express.

    Args:
        metadata: ``(node_types, edge_types)`` of the graph.
        num_nodes: nodes per node type.
        feature_dims: feature width per node type that has features.
        edge_dims: edge-attribute width per edge type that has attributes.
        hidden: width of every representation.
        heads: attention heads (``hidden`` must be divisible by it).
        layers: message-passing rounds.
        dropout: dropout on attention and on layer outputs.
        channel: add the item channel (:meth:`channel_scores`).
        evidence: interaction edges use :class:`EvidenceGATv2Conv` (else plain GATv2).

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
        channel: bool = True,
        evidence: bool = True,
    ):
        super().__init__()
        self.hidden, self.heads, self.layers, self.dropout = hidden, heads, layers, dropout
        self.evidence = evidence
        node_types, edge_types = metadata
        edge_types = [et for et in edge_types if et != CO_ADOPTED]  # the channel's, not message passing's
        self.node_types = list(node_types)
        embedded = [t for t in node_types if t != "customer"]
        self.embeddings = nn.ModuleDict({t: nn.Embedding(num_nodes[t], hidden) for t in embedded})
        self.projections = nn.ModuleDict({t: nn.Linear(d, hidden) for t, d in feature_dims.items()})
        self.convs = nn.ModuleList(
            [
                HeteroConv(
                    {
                        et: (EvidenceGATv2Conv if evidence and edge_dims.get(et) else GATv2Conv)(
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
        self.channel = channel
        if channel:
            self.attend_edge = nn.Linear(edge_dims[USES_EDGE], hidden)
            self.attend_customer = nn.Linear(feature_dims["customer"], hidden, bias=False)
            self.attend_product = (
                nn.Linear(feature_dims["product"], hidden, bias=False) if "product" in feature_dims else None
            )
            self.attend_vector = nn.Parameter(torch.empty(hidden))
            self.log_temperature = nn.Parameter(torch.empty(()))
        # how the two parts are mixed: (GAT, item channel), chosen on validation by training
        self.register_buffer("mix", torch.tensor([1.0, 1.0 if channel else 0.0]))
        # the group part's weight (with_group): chosen on validation after the mix, 0 without groups
        self.register_buffer("group_weight", torch.tensor(0.0))
        # the decoder's scale (1 in runs from before it: restore.py)
        self.register_buffer("score_scale", torch.tensor(1.0 / math.sqrt(hidden)))
        self.reset_parameters()

    @classmethod
    def for_graph(cls, graph: HeteroData, config: TrainConfig, num_nodes: dict | None = None) -> HeteroGATRecommender:
        """A model sized for ``graph`` (or, per node type, ``num_nodes``) with ``config``'s hyperparameters."""
        return cls(
            graph.metadata(),
            num_nodes={t: graph[t].num_nodes for t in graph.node_types} | (num_nodes or {}),
            feature_dims={t: graph[t].x.shape[1] for t in graph.node_types if "x" in graph[t]},
            edge_dims={et: graph[et].edge_attr.shape[1] for et in graph.edge_types if "edge_attr" in graph[et]},
            hidden=config.hidden,
            heads=config.heads,
            layers=config.layers,
            dropout=config.dropout,
            channel=config.channel and CO_ADOPTED in graph.edge_types and USES_EDGE in graph.edge_types,
            evidence=config.evidence,
        )

    @torch.no_grad()
    def grow(self, num_nodes: dict) -> None:
        """Make room for nodes that arrived after training, to serve them without retraining.

        A new product (or context node) starts from the mean of the trained ID embeddings and
        a new product's bias from the trained mean, so its features decide where it ranks;
        customers have no ID embedding, so a new one needs nothing here.
        """
        for t, embedding in list(self.embeddings.items()):
            extra = num_nodes.get(t, embedding.num_embeddings) - embedding.num_embeddings
            if extra > 0:
                typical = embedding.weight.mean(0, keepdim=True).expand(extra, -1)
                self.embeddings[t] = nn.Embedding.from_pretrained(torch.cat([embedding.weight, typical]), freeze=False)
        extra = num_nodes.get("product", len(self.product_bias)) - len(self.product_bias)
        if extra > 0:
            self.product_bias = nn.Parameter(torch.cat([self.product_bias, self.product_bias.mean().expand(extra)]))

    def reset_parameters(self) -> None:
        for embedding in self.embeddings.values():
            nn.init.normal_(embedding.weight, std=0.1)
        for module in (*self.projections.values(), *self.convs, *[n for d in self.norms for n in d.values()]):
            module.reset_parameters()
        nn.init.zeros_(self.product_bias)
        if self.channel:
            for module in (self.attend_edge, self.attend_customer, self.attend_product):
                if module is not None:
                    module.reset_parameters()
            nn.init.normal_(self.attend_vector, std=0.1)
            nn.init.constant_(self.log_temperature, math.log(10.0))

    def initial(self, x_dict: dict) -> dict:
        """Every node's representation before attention: ID embedding and/or feature projection."""
        return {
            t: (self.embeddings[t].weight if t in self.embeddings else 0)
            + (self.projections[t](x_dict[t]) if t in self.projections else 0)
            for t in self.node_types
        }

    def encode(self, x_dict: dict, edge_index_dict: dict, edge_attr_dict: dict) -> dict:
        """Customers' and products' representations after ``layers`` rounds of attention (the other
        node types' after one round fewer: the last round passes only the messages into customers
        and products, the only ones read after it, so half the attention is not computed for nothing)."""
        h = self.initial(x_dict)
        for depth, (conv, norms) in enumerate(zip(self.convs, self.norms)):
            if depth == len(self.convs) - 1:
                edge_index_dict = {k: v for k, v in edge_index_dict.items() if k[2] in SCORED}
                edge_attr_dict = {k: v for k, v in edge_attr_dict.items() if k[2] in SCORED}
            out = conv(h, edge_index_dict, edge_attr_dict=edge_attr_dict)
            h = {
                t: norms[t](h[t] + nn.functional.dropout(nn.functional.elu(out[t]), self.dropout, self.training))
                if t in out
                else h[t]
                for t in h
            }
        return h

    @torch.no_grad()
    def holdings_attention(self, graph: HeteroData) -> torch.Tensor:
        """``[customers, products]``: the first round's attention of each customer to each product
        it holds, the mean over heads (0 where it holds none): what the reasons cite as "taken together"."""
        self.eval()
        h = self.initial(graph.x_dict)
        store = graph[REV_USES_EDGE]
        _, (index, alpha) = self.convs[0].convs[REV_USES_EDGE](
            (h["product"], h["customer"]), store.edge_index, store.edge_attr, return_attention_weights=True
        )
        out = torch.zeros(graph["customer"].num_nodes, graph["product"].num_nodes)
        out[index[1].cpu(), index[0].cpu()] = alpha.mean(-1).cpu()
        return out

    def encode_graph(self, graph: HeteroData) -> dict:
        """:meth:`encode` over all of ``graph``."""
        return self.encode(graph.x_dict, graph.edge_index_dict, graph.edge_attr_dict)

    def score(self, customers: torch.Tensor, products: torch.Tensor) -> torch.Tensor:
        """Scores of every given customer for every given product."""
        return (customers @ products.T) * self.score_scale + self.product_bias

    def pair_score(self, customers: torch.Tensor, products: torch.Tensor, product_index: torch.Tensor) -> torch.Tensor:
        """Scores of customer ``i`` for product ``i``, row by row."""
        return (customers * products).sum(-1) * self.score_scale + self.product_bias[product_index]

    def history_attention(self, x_dict: dict, edge_index: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        """Each customer's attention over the products it holds (one weight per edge, summing to 1 per customer).

        GATv2-style: ``a' LeakyReLU(W_e e_ci + W_c x_c + W_p x_p)``, softmax over the customer's
        products. It sees the interaction's attributes (how recent it is in the customer's
        history, how much, how often) and both ends' features, not their ID embeddings: what it
        learns is which holdings matter, not which IDs.
        """
        c, p = edge_index
        z = self.attend_edge(edge_attr) + self.attend_customer(x_dict["customer"]).index_select(0, c)
        if self.attend_product is not None:
            z = z + self.attend_product(x_dict["product"]).index_select(0, p)
        logits = nn.functional.leaky_relu(z, 0.2) @ self.attend_vector
        return softmax_per_node(logits, c, num_nodes=x_dict["customer"].shape[0])

    def channel_scores(
        self,
        x_dict: dict,
        edge_index: torch.Tensor,
        edge_attr: torch.Tensor,
        co_index: torch.Tensor,
        co_weight: torch.Tensor,
        n_products: int,
        plan: tuple | None = None,
    ) -> torch.Tensor:
        """The item channel: ``T * sum_i alpha_ci B_ij``, EASE's item-item weights ``B`` read through attention.

        ``alpha`` is :meth:`history_attention`, ``T`` a learned temperature. Products without
        interactions get no weight from ``B``; the GAT part scores them from their features.
        ``plan``: :func:`channel_plan` of these edges, when the caller kept it.
        """
        alpha = self.history_attention(x_dict, edge_index, edge_attr)
        n_customers = x_dict["customer"].shape[0]
        if n_products <= DENSE_CHANNEL_PRODUCTS:
            b = torch.zeros(n_products, n_products, device=co_weight.device)
            b[co_index[0], co_index[1]] = co_weight
            a = torch.sparse_coo_tensor(edge_index, alpha, (n_customers, n_products), check_invariants=False)
            out = torch.sparse.mm(a, b)
        else:  # each held product's neighbours, gathered: memory ~ edges x neighbours
            plan = plan if plan is not None else channel_plan(edge_index, co_index, co_weight, n_products)
            edge_of, target, weight = plan
            flat = torch.zeros(n_customers * n_products, device=co_weight.device)
            out = flat.index_add(0, target, alpha.index_select(0, edge_of) * weight).view(n_customers, n_products)
        return out * self.log_temperature.exp()

    def channel_of(self, graph: HeteroData, customers: torch.Tensor | None = None) -> torch.Tensor:
        """:meth:`channel_scores` over ``graph``'s holdings and co-adoption edges (its kept plan if any).

        ``customers``: only these customers' rows, in this order (each customer's attention
        is over its own holdings, so a row is the same alone as in the whole matrix).
        """
        uses, co = graph[USES_EDGE], graph[CO_ADOPTED]
        plan = kept_plan(co)
        n_products = graph["product"].num_nodes
        x_dict, edge_index, edge_attr = graph.x_dict, uses.edge_index, uses.edge_attr
        if customers is not None:
            keep, edge_index = rows_of(edge_index, customers, graph["customer"].num_nodes)
            x_dict, edge_attr, plan = x_dict | {"customer": x_dict["customer"][customers]}, edge_attr[keep], None
        return self.channel_scores(x_dict, edge_index, edge_attr, co.edge_index, co.edge_weight, n_products, plan)

    def group_of(self, graph: HeteroData, customers: torch.Tensor | None = None) -> torch.Tensor | None:
        """The group part: ``[customers, products]``, the share of the rest of each customer's
        corporate group holding each product (0 alone), read off ``graph``'s group edges (the
        holdings known when the graph's question is asked); None when the graph has no groups.
        ``customers``: only these customers' rows, in this order."""
        if GROUP_USES_EDGE not in graph.edge_types:
            return None
        edges = graph[GROUP_USES_EDGE]
        n_c, n_p = graph["customer"].num_nodes, graph["product"].num_nodes
        edge_index, share = edges.edge_index, edges.edge_attr[:, 0]
        if customers is not None:
            keep, edge_index = rows_of(edge_index, customers, n_c)
            share, n_c = share[keep], len(customers)
        out = torch.zeros(n_c, n_p, device=share.device)
        out[edge_index[0], edge_index[1]] = share
        return out

    def parts(self, graph: HeteroData) -> tuple[torch.Tensor, torch.Tensor | None, dict]:
        """``(GAT scores, item-channel scores or None, representations)`` over ``graph``."""
        h = self.encode_graph(graph)
        gat = self.score(h["customer"], h["product"])
        if not self.channel or CO_ADOPTED not in graph.edge_types:
            return gat, None, h
        return gat, self.channel_of(graph), h

    @torch.no_grad()
    def score_all(self, graph: HeteroData) -> tuple[torch.Tensor, dict]:
        """``([customers, products] scores, representations)`` over ``graph``, in evaluation mode.

        The scores are ``mix[0] * GAT + mix[1] * item channel``, with the mix training chose,
        plus the group part at the weight training chose (:func:`with_group`).
        """
        self.eval()
        gat, channel, h = self.parts(graph)
        scores = gat if channel is None else mixed(gat, channel, self.mix)
        return with_group(scores, self.group_of(graph), self.group_weight), h

    def set_dropout(self, dropout: float) -> None:
        """Train from here with ``dropout`` on attention and on layer outputs (``gat_task`` auto's second task)."""
        self.dropout = dropout
        for conv in self.convs:
            for module in conv.convs.values():
                module.dropout = dropout

    def part_state(self, part: str) -> dict:
        """A copy of one part's weights (``gat`` or ``channel``, :func:`part_of`): each part stops on its own."""
        return {
            k: v.detach().clone()
            for k, v in self.state_dict().items()
            if k not in ("mix", "group_weight", "score_scale") and part_of(k) == part
        }

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(hidden={self.hidden}, heads={self.heads}, layers={self.layers})"


class EvidenceGATv2Conv(GATv2Conv):
    r"""GATv2 attention over an interaction edge type, plus each interaction's signed evidence.

    Attention's weights are a softmax: the message into a customer is a convex combination of
    its products, so it can say which holdings matter but not that a product used less than
    its attributes predicted argues against products like it. The evidence term adds, per head,

    .. math::
        \frac{1}{d_i + 1} \sum_{j \in N(i)} \Big(a^\top e_{ij} + b
        - \tfrac{1}{\sqrt{C}} \langle Q x_i, K x_j \rangle\Big) V x_j

    the interaction's attributes ``e_ij`` (how much, how often, how intensely used) read as a
    score, less what the two ends' representations expect of the pair, weighing the
    neighbour's value vector; ``d_i`` is ``i``'s degree. That is the first step of a
    per-customer ridge regression of the usage residuals on product vectors: on the
    generator's data, where usage rises with the hidden taste, a ranking told those
    residuals (and the generator's parameters) finds the latest adoption at 0.925 of the
    oracle's rate (``benchmarks/generator_ceiling.py``); with the term the model went from
    0.870 to 0.887 of the oracle's recall@10 (latest fifth held out, three seeds). Shapes as
    :class:`GATv2Conv` with ``edge_attr``; the same ``(in, out)`` arguments.
    """

    def __init__(self, in_channels: tuple, out_channels: int, **kwargs) -> None:
        super().__init__(in_channels, out_channels, **kwargs)
        width, (source, target) = self.heads * out_channels, in_channels
        self.evidence_edge = nn.Linear(kwargs["edge_dim"], self.heads)
        self.evidence_query = nn.Linear(target, width, bias=False)
        self.evidence_key = nn.Linear(source, width, bias=False)
        self.evidence_value = nn.Linear(source, width, bias=False)
        self._reset_evidence()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if hasattr(self, "evidence_value"):  # GATv2Conv.__init__ resets before they exist
            self._reset_evidence()

    def _reset_evidence(self) -> None:
        for module in (self.evidence_edge, self.evidence_query, self.evidence_key, self.evidence_value):
            module.reset_parameters()

    def forward(
        self, x: tuple, edge_index: torch.Tensor, edge_attr: torch.Tensor, return_attention_weights: bool | None = None
    ) -> torch.Tensor | tuple:
        """The output; with ``return_attention_weights``, ``(output, (edge_index, attention))`` as GATv2's."""
        out, (index, alpha) = super().forward(x, edge_index, edge_attr, return_attention_weights=True)
        heads, width = self.heads, self.out_channels
        source, target = x
        j, i = index
        expected = (
            self.evidence_query(target).view(-1, heads, width)[i] * self.evidence_key(source).view(-1, heads, width)[j]
        ).sum(-1) / math.sqrt(width)
        weight = self.evidence_edge(edge_attr) - expected  # [E, heads]
        value = self.evidence_value(source).view(-1, heads, width)[j] * weight.unsqueeze(-1)
        n = out.shape[0]
        total = value.new_zeros(n, heads, width).index_add_(0, i, value)
        degree = torch.zeros(n, device=out.device).index_add_(0, i, torch.ones_like(i, dtype=out.dtype))
        out = out + (total / (degree + 1).view(-1, 1, 1)).view(n, -1)
        return (out, (index, alpha)) if return_attention_weights else out


def rows_of(edge_index: torch.Tensor, customers: torch.Tensor, n_customers: int) -> tuple:
    """``(kept, edge_index)``: the customer -> product edges of ``customers``, their sources
    renumbered to each customer's position in ``customers``."""
    position = torch.full((n_customers,), -1, dtype=torch.long, device=edge_index.device)
    position[customers] = torch.arange(len(customers), device=edge_index.device)
    source = position[edge_index[0]]
    kept = source >= 0
    return kept, torch.stack([source[kept], edge_index[1][kept]])


def kept_plan(co: object) -> tuple | None:
    """The gathering plan (:func:`channel_plan`) kept with a graph's co-adoption edges, None without one."""
    return (co.gather_edge, co.gather_target, co.gather_weight) if "gather_edge" in co else None


def channel_plan(edge_index: torch.Tensor, co_index: torch.Tensor, co_weight: torch.Tensor, n_products: int) -> tuple:
    """For the gathered channel: ``(edge_of, target, weight)``, one entry per (held product, neighbour) pair.

    ``edge_of`` is the customer -> product edge, ``target`` the flat (customer, neighbour)
    cell it adds to, ``weight`` the co-adoption weight (``co_index``'s sources must be
    ascending). It depends only on the graph, so a graph keeps it: each pass of the channel
    is then one gather of the attention, a product and an ``index_add``.
    """
    customer, held = edge_index
    counts = torch.bincount(co_index[0], minlength=n_products)
    start = torch.cumsum(counts, 0) - counts
    per_edge = counts[held]
    edge_of = torch.repeat_interleave(torch.arange(len(held), device=held.device), per_edge)
    offset = torch.arange(len(edge_of), device=held.device) - torch.repeat_interleave(
        torch.cumsum(per_edge, 0) - per_edge, per_edge
    )
    position = start[held][edge_of] + offset
    return edge_of, customer[edge_of] * n_products + co_index[1][position], co_weight[position]


CHANNEL_MODULES = ("attend_edge", "attend_customer", "attend_product", "attend_vector", "log_temperature")


def part_of(name: str) -> str:
    """Which part a weight of :class:`HeteroGATRecommender` belongs to: ``channel`` or ``gat``.

    The parts share no weight and each has its own loss term, so training them together
    is training each alone (Adam is per weight): each can keep its own best epoch.
    """
    return "channel" if name.split(".")[0] in CHANNEL_MODULES else "gat"


def mixed(gat: torch.Tensor, channel: torch.Tensor, mix: torch.Tensor) -> torch.Tensor:
    """``mix[0] * gat + mix[1] * channel``, a part with weight 0 left out (no 0 x inf)."""
    out = 0
    if mix[0] != 0:
        out = out + mix[0] * gat
    if mix[1] != 0:
        out = out + mix[1] * channel
    return out


def with_group(scores: torch.Tensor, group: torch.Tensor | None, weight: torch.Tensor | float) -> torch.Tensor:
    """``scores`` plus the group part: ``weight`` x each customer's spread of ``scores`` (their
    standard deviation over products) x the share of the rest of its group holding the product.
    In spreads, the weight means the same whatever the scale of the scores (the refit's or not);
    a customer alone, or a weight of 0, keeps its scores."""
    if group is None or float(weight) == 0:
        return scores
    return scores + float(weight) * scores.std(dim=1, keepdim=True) * group


def channel_share(gat: torch.Tensor, channel: torch.Tensor, mix: torch.Tensor) -> float:
    """How much of the ranking the item channel decides: the mean over customers of its share
    of the spread (standard deviation over products) of the mixed scores' two terms."""
    a = (mix[0] * gat).std(dim=1)
    b = (mix[1] * channel).std(dim=1)
    return float((b / (a + b).clamp(min=1e-12)).mean())


def bpr_loss(positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
    """Bayesian personalised ranking: each positive's score should beat its negative's."""
    return -nn.functional.logsigmoid(positive - negative).mean()
