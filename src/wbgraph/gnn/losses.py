"""What training learns: the questions the model is asked in training, and their losses.

Each epoch a random ``supervision_ratio`` of the training interactions is hidden from message
passing and used as positives (:func:`masked_links_loss`, the GAT part's ``mask`` task), so
the model learns to predict links it cannot see rather than to echo the ones it can. The
loss (``TrainConfig.loss``) is by default the likelihood of the hidden interactions under one
softmax per customer over every product it does not visibly hold (:func:`multinomial_loss`),
or BPR against one random product. The earlier questions (:class:`Question`: what was newly
taken in a window, from what was known before it) are the item channel's task and the GAT
part's ``temporal`` task.
"""

from __future__ import annotations

import torch
from torch_geometric.data import HeteroData

from ..config import TrainConfig
from .data import REV_USES, USES, Prepared, Stage
from .memory import (
    batch_subgraph,
)
from .model import HeteroGATRecommender, bpr_loss, rows_of


def multinomial_loss(scores: torch.Tensor, c: torch.Tensor, p: torch.Tensor, held: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood of each hidden interaction ``(c, p)`` under its customer's softmax.

    One softmax per customer over every product it does not visibly hold (``held`` minus the
    hidden ones), so the memory is customers x products, not interactions x products.
    """
    targets = torch.zeros_like(held)
    targets[c, p] = True
    rows = targets.any(1)
    log_p = torch.log_softmax(scores[rows].masked_fill(held[rows] & ~targets[rows], float("-inf")), dim=1)
    return -log_p.masked_fill(~targets[rows], 0.0).sum() / targets.sum()


def declined_loss(scores: torch.Tensor, c: torch.Tensor, p: torch.Tensor, held: torch.Tensor) -> torch.Tensor:
    """Mean unlikelihood of declined offers: ``-log(1 - q)``, ``q`` the declined product's share
    of its customer's softmax over the products it does not hold (``scores``: those customers'
    rows, ``c`` indexing them). A declined product the customer took later (held) costs nothing."""
    log_q = torch.log_softmax(scores[c].masked_fill(held, float("-inf")), dim=1).gather(1, p[:, None]).squeeze(1)
    return -torch.log1p(-log_q.exp().clamp(max=1 - 1e-6)).mean()


class Declines:
    """The offers declined before a question's date, as hard negatives for the GAT part (``--hard-negatives``)."""

    def __init__(self, pairs: tuple, device: torch.device):
        self.c = torch.as_tensor(pairs[0], device=device)
        self.p = torch.as_tensor(pairs[1], device=device)

    def loss(
        self, model: HeteroGATRecommender, h: dict, held: torch.Tensor, customers: torch.Tensor | None = None
    ) -> torch.Tensor:
        """:func:`declined_loss` over representations ``h`` of the whole graph, or of ``customers``
        first (a batch's: only their declines count; zero when they have none)."""
        c, p = self.c, self.p
        if customers is not None:
            position = torch.full((held.shape[0],), -1, dtype=torch.long, device=c.device)
            position[customers] = torch.arange(len(customers), device=c.device)
            keep = position[c] >= 0
            if not keep.any():
                return torch.zeros((), device=c.device)
            rows, p, c = position[c[keep]], p[keep], c[keep]
            scores = model.score(h["customer"][: len(customers)], h["product"])
            return declined_loss(scores, rows, p, held[c])
        wanted, rows = torch.unique(c, return_inverse=True)
        return declined_loss(model.score(h["customer"][wanted], h["product"]), rows, p, held[c])


def declines_of(data: Prepared, config: TrainConfig, stage: Stage, device: torch.device) -> Declines | None:
    """The hard negatives a training for ``stage``'s question learns (``config.hard_negatives``):
    the offers declined before its date (as-of; the latest protocol has no date: all); None when none."""
    if not config.hard_negatives:
        return None
    pairs = data.declined_before(stage.asof if data.protocol.get("name") == "asof" else None)
    return None if pairs is None else Declines(pairs, device)


def masked_links_loss(
    model: HeteroGATRecommender,
    graph: HeteroData,
    config: TrainConfig,
    train_c: torch.Tensor,
    train_p: torch.Tensor,
    supervised: torch.Tensor,
    held: torch.Tensor,
    generator: torch.Generator,
    n_products: int,
) -> torch.Tensor:
    """One epoch's loss: the ``supervised`` interactions are hidden from message passing and predicted."""
    edge_index, edge_attr = dict(graph.edge_index_dict), dict(graph.edge_attr_dict)
    for et in (USES, REV_USES):
        edge_index[et] = graph[et].edge_index[:, ~supervised]
        edge_attr[et] = graph[et].edge_attr[~supervised]
    h = model.encode(graph.x_dict, edge_index, edge_attr)
    c, p = train_c[supervised], train_p[supervised]
    if config.loss == "softmax":
        return multinomial_loss(model.score(h["customer"], h["product"]), c, p, held)
    negative = torch.randint(0, n_products, (len(c),), generator=generator).to(c.device)
    return bpr_loss(
        model.pair_score(h["customer"][c], h["product"][p], p),
        model.pair_score(h["customer"][c], h["product"][negative], negative),
    )


def questions_of(data: Prepared, config: TrainConfig, device: torch.device, shared: dict | None = None) -> list:
    """The earlier questions (:class:`Question`) a training learns, oldest first; ``shared``
    keeps those already built (by another setting of a race), by their place in the history."""
    shared = {} if shared is None else shared
    first = len(data.history) - config.temporal_windows(len(data.history))
    for index in range(first, len(data.history)):
        if index not in shared:
            shared[index] = Question(data, data.history[index], device)
    return [shared[index] for index in range(first, len(data.history))]


def in_turn(questions: list[Question], epoch: int) -> Question | None:
    """The question the GAT part's temporal task learns at ``epoch``: each in turn, oldest first.

    One a step, not all of them pooled: on generated data as of 2025-10-01 (7 windows) pooled
    and in turn reached the same validation figures, in turn at a third of the time."""
    return questions[(epoch - 1) % len(questions)] if questions else None


class Question:
    """An earlier question with its answers (:attr:`Prepared.history`), a training task of the model.

    Under the latest protocol each customer's latest training interactions from its earlier
    ones; under the as-of protocol a training window: what was newly taken in it, from what
    was known before it. The item channel learns the latest; the GAT part with ``gat_task``
    ``temporal`` or ``both`` (``auto``: after the hidden links) the latest ``windows`` of them
    in turn (the question the test asks, one window earlier and before).
    """

    def __init__(self, data: Prepared, task: Stage, device: torch.device):
        self.asof = task.asof
        self.graph = data.graph_of(task).to(device)
        self.customers = torch.as_tensor(task.answer_customer, device=device)
        self.products = torch.as_tensor(task.answer_product, device=device)
        self.held = task.held().to(device)  # what was held then: the answers are among the rest

    def loss(
        self, model: HeteroGATRecommender, held: torch.Tensor, customers: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The softmax loss of the channel's task, over all customers or only ``customers``."""
        if customers is None:
            return multinomial_loss(model.channel_of(self.graph), self.customers, self.products, held)
        kept, index = rows_of(torch.stack([self.customers, self.products]), customers, held.shape[0])
        if not kept.any():
            return torch.zeros((), device=held.device)
        return multinomial_loss(model.channel_of(self.graph, customers), index[0], index[1], held[customers])

    def gat_loss(
        self,
        model: HeteroGATRecommender,
        customers: torch.Tensor | None = None,
        fanout: int | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """The GAT part's softmax loss on this question: what each customer newly took, among what it
        did not hold then, from the graph as it was (all customers, or ``customers`` over their sub-graph)."""
        if customers is None:
            h = model.encode_graph(self.graph)
            return multinomial_loss(model.score(h["customer"], h["product"]), self.customers, self.products, self.held)
        kept, index = rows_of(torch.stack([self.customers, self.products]), customers, self.held.shape[0])
        if not kept.any():
            return torch.zeros((), device=self.held.device)
        h = model.encode(*batch_subgraph(self.graph, None, customers, fanout, generator))
        scores = model.score(h["customer"][: len(customers)], h["product"])
        return multinomial_loss(scores, index[0], index[1], self.held[customers])
