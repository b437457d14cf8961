"""Where training runs and what fits there: the device, the memory budget, customer batches.

Training is full-batch when the whole graph fits the memory budget (every epoch encodes the
whole graph once), else in customer batches (:func:`plan_batches`, :func:`batch_subgraph`).
Full-batch memory grows with customers x products (the softmax) plus interactions x hidden
(attention): measured peak RSS 2.3 GB for 50,000 customers x 60 products; in batches of at
most 16,384 customers, 5.1 GB for 200,000 x 1,000 (both with about 1 GB of PyTorch itself).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch_geometric.data import HeteroData

from ..config import TrainConfig, parse_size
from .data import REV_USES, USES, Prepared
from .model import CO_ADOPTED, kept_plan


def pick_device(name: str) -> torch.device:
    """``auto``: the GPU when there is one."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


@dataclass
class Batches:
    """How training takes the graph: all customers in one step, or ``customers`` per step.

    ``fanout``: in a batch step, each product (and context node) hears at most about this
    many of its customers, drawn afresh each step (a customer in the batch hears all of
    its own products: with one attention round its representation is exact).
    """

    customers: int
    total: int  # customers in the graph
    fanout: int
    budget: int  # bytes
    estimate: int  # bytes the whole graph at once would need
    reason: str = ""
    plans: int = 0  # bytes of the item channel's gathering plans: held whatever the batch (channel_plans)

    @property
    def full(self) -> bool:
        """One full-batch step an epoch: the whole graph fits the budget."""
        return not self.reason

    def describe(self) -> dict:
        return {
            "customers": self.total,
            "fullBatch": self.full,
            "customersPerStep": self.customers,
            "fanout": self.fanout,
            "memoryBudget": self.budget,
            "estimate": self.estimate,
            "channelPlans": self.plans,
        }


BYTES_PER_SCORE = 48  # float32 scores x the copies the two softmax losses and their gradients hold at once


BYTES_PER_EDGE_UNIT = 24  # float32 x the per-edge tensors GATv2 keeps for its gradient, per hidden unit


# and on an interaction edge with the evidence term (EvidenceGATv2Conv): its gathered query, key and
# value; measured at 50,000 x 60, full batch: 0.53 GB more than plain GATv2 over 509k such edges x 64
BYTES_PER_EVIDENCE_UNIT = 16


def plan_batches(data: Prepared, config: TrainConfig) -> Batches:
    """Full batch when the whole graph fits ``config.memory_budget``, else the batch size that does.

    ``config.batch_customers`` (when not 0) caps the customers a step whether or not the
    graph fits: an epoch is then several optimiser steps, each over its customers' sub-graph
    with ``fanout`` sampled customers per product, as when memory forces batches.

    The estimate: one float32 score per customer x product times :data:`BYTES_PER_SCORE`
    (the softmax loss and the item channel score every customer against every product),
    plus one attention message per edge and hidden unit times :data:`BYTES_PER_EDGE_UNIT`
    (GATv2 keeps several per-edge tensors for its gradient), and on the interaction edges
    :data:`BYTES_PER_EVIDENCE_UNIT` more with the evidence term. Measured (plain GATv2): at
    50,000 x 60 the estimate was 1.4 GB and full-batch training added 1.2 GB to the 1.1 GB
    already held (with evidence: 1.9 GB estimated, 1.7 GB added); at 200,000 x 1,000 it was
    14.6 GB, and with a 4 GB budget training added 3.9 GB to 1.8 GB.
    A step holds at most :data:`MAX_BATCH` customers whatever the budget allows. The item
    channel's gathering plans (:func:`channel_plans`) are held whatever the batch: they count
    against the budget first, and the rest is what the scores and edges may use. Outside the
    budget: PyTorch itself, three boolean customer x product matrices (held, and the
    validation and test answers, one byte a cell), the no-gradient encoding of the
    sub-graph validation needs, and the graphs of the earlier questions training learns
    (one, or with ``gat_task`` temporal, both or auto one per window, ``windows`` at most).
    """
    budget = parse_size(config.memory_budget) if config.memory_budget else default_budget(pick_device(config.device))
    n_c, n_p = data.n_customers, data.n_products
    graph = data.train_graph
    passing = [et for et in graph.edge_types if et != CO_ADOPTED]

    def per_edge(et: tuple) -> int:
        evidence = config.evidence and et in (USES, REV_USES)
        return config.hidden * (BYTES_PER_EDGE_UNIT + (BYTES_PER_EVIDENCE_UNIT if evidence else 0))

    estimate = n_c * n_p * BYTES_PER_SCORE + sum(graph[et].num_edges * per_edge(et) for et in passing)
    asked, plans = config.batch_customers, channel_plans(data, config)
    if estimate + plans <= budget:
        if 0 < asked < n_c:
            reason = f"batch_customers asks for {asked:,} a step"
            return Batches(asked, n_c, config.fanout, budget, estimate, reason, plans)
        return Batches(n_c, n_c, config.fanout, budget, estimate, plans=plans)
    # a step: its customers' scores and edges, plus each product's sampled customers
    fixed = sum(
        min(graph[et].num_edges, graph[et[2]].num_nodes * config.fanout) * per_edge(et)
        for et in passing
        if et[2] != "customer"
    )
    into_customers = sum(graph[et].num_edges * per_edge(et) for et in passing if et[2] == "customer")
    per_customer = n_p * BYTES_PER_SCORE + into_customers / max(n_c, 1)
    room = budget - plans - fixed
    customers = int(min(n_c, MAX_BATCH, max(MIN_BATCH, room // per_customer), asked or n_c))
    held = f" beside {plans / 1e9:.1f} GB of the item channel's plans" if plans else ""
    reason = (
        f"the whole graph at once needs about {estimate / 1e9:.1f} GB{held}, over the "
        f"{budget / 1e9:.1f} GB memory budget (--memory-budget)"
    )
    if plans >= budget:  # the smallest batches then, but they cannot bring it under the budget
        reason += "; the plans alone pass it, and no batch makes them smaller"
    return Batches(customers, n_c, config.fanout, budget, estimate, reason, plans)


def channel_plans(data: Prepared, config: TrainConfig) -> int:
    """Bytes of the item channel's gathering plans a training holds (0 where the channel scores
    densely, :data:`~.model.DENSE_CHANNEL_PRODUCTS` products or fewer, or is left out).

    A graph over a gathered catalogue keeps its plan (one entry per held product and EASE
    neighbour, :data:`~.data.PLAN_ENTRIES` at most): the training graph's and the test graph's,
    and each earlier question's, counted as the training graph's (each question is a graph of
    its own). On MovieLens at 250 neighbours they count 1.05 GB (the training graph's 0.32, the
    test graph's 0.40), beside 0.62 GB of scores and edges; the fit's peak was 3.10 GB.
    """
    if not config.channel:
        return 0
    train, test = (plan_bytes(g) for g in (data.train_graph, data.test_graph))
    return train * (1 + config.temporal_windows(len(data.history))) + test


def plan_bytes(graph: HeteroData) -> int:
    """Bytes of the gathering plan kept with ``graph`` (0 without one)."""
    if CO_ADOPTED not in graph.edge_types:
        return 0
    plan = kept_plan(graph[CO_ADOPTED])
    return sum(t.numel() * t.element_size() for t in plan) if plan else 0


MIN_BATCH = 32


# at most this many customers a step, for learning rather than memory: at 10M rows (200k customers)
# 118,892 a step (two steps an epoch) left the graph part behind the item channel for 30 epochs;
# 16,384 (13 steps) passed it at epoch 25 and reached test NDCG@10 0.2452 (EASE 0.2253) by epoch 30
MAX_BATCH = 16_384


VALIDATION_CUSTOMERS = 20_000  # in customer batches: the validation customers each epoch is judged on


def sample_rows(relevant: torch.Tensor, most: int, seed: int) -> torch.Tensor:
    """``relevant`` with only a seeded random ``most`` of its rows that have anything relevant left."""
    rows = torch.nonzero(relevant.any(1)).flatten()
    if len(rows) <= most:
        return relevant
    chosen = rows[torch.randperm(len(rows), generator=torch.Generator().manual_seed(seed))[:most]]
    out = torch.zeros_like(relevant)
    out[chosen] = relevant[chosen]
    return out


def default_budget(device: torch.device) -> int:
    """Half the memory free where training runs: the GPU's own on CUDA, else the machine's."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return free // 2
    return available_memory() // 2


def available_memory() -> int:
    """Bytes of memory available now (``MemAvailable``), else the machine's physical memory."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def batch_subgraph(
    graph: HeteroData,
    supervised: torch.Tensor | None,
    customers: torch.Tensor,
    fanout: int | None,
    generator: torch.Generator | None = None,
) -> tuple:
    """``(x_dict, edge_index_dict, edge_attr_dict)`` of the sub-graph a batch step passes messages over.

    The hidden (``supervised``) interactions are left out both ways; an edge into a
    customer is kept when the customer is in the batch; an edge into any other node is
    kept with probability ``fanout / that node's incoming edges`` (at most 1), so a
    product's attention is over about ``fanout`` of its customers, a fresh draw each step.
    Only the customers this needs are in the sub-graph: the batch's first, in its order
    (their representations are the first rows of the customer output), then the sampled
    ones the products hear. ``supervised`` None: nothing hidden; ``fanout`` None: every edge
    into other nodes kept (the exact sub-graph of ``customers``' representations).
    """
    n_c = graph["customer"].num_nodes
    device = customers.device
    in_batch = torch.zeros(n_c, dtype=torch.bool, device=device)
    in_batch[customers] = True
    kept = {}
    for et in graph.edge_types:
        if et == CO_ADOPTED:
            continue
        index = graph[et].edge_index
        keep = torch.ones(index.shape[1], dtype=torch.bool, device=device)
        if supervised is not None and et in (USES, REV_USES):
            keep = ~supervised
        if et[2] == "customer":
            keep = keep & in_batch[index[1]]
        elif fanout is not None:
            degree = torch.bincount(index[1][keep], minlength=graph[et[2]].num_nodes).clamp(min=1)
            chance = (fanout / degree.float()).clamp(max=1.0)
            keep = keep & (torch.rand(index.shape[1], generator=generator).to(device) < chance[index[1]])
        kept[et] = keep
    heard = [graph[et].edge_index[0][keep] for et, keep in kept.items() if et[0] == "customer"]
    heard = torch.cat(heard) if heard else customers[:0]
    needed = torch.cat([customers, torch.unique(heard[~in_batch[heard]])])
    position = torch.full((n_c,), -1, dtype=torch.long, device=device)
    position[needed] = torch.arange(len(needed), device=device)
    edge_index, edge_attr = {}, {}
    for et, keep in kept.items():
        source, target = graph[et].edge_index[:, keep]
        edge_index[et] = torch.stack(
            [position[source] if et[0] == "customer" else source, position[target] if et[2] == "customer" else target]
        )
        if "edge_attr" in graph[et]:
            edge_attr[et] = graph[et].edge_attr[keep]
    return graph.x_dict | {"customer": graph["customer"].x[needed]}, edge_index, edge_attr
