"""``wbgraph train``: fit the graph-attention recommender on what is in Neo4j, save a run.

Training is full-batch: every epoch encodes the whole graph once. Each epoch a random
``supervision_ratio`` of the training interactions is hidden from message passing and used
as positives, so the model learns to predict links it cannot see rather than to echo the
ones it can. The loss (``TrainConfig.loss``) is by default the likelihood of the hidden
interactions under one softmax per customer over every product it does not visibly hold
(:func:`multinomial_loss`), or BPR against one random product. Validation NDCG@10 (the
validation part of the split) is measured every epoch; training stops after ``patience``
epochs without improvement, or a quarter of the epochs so far when that is more (full-batch
training has plateaus that grow with its length), and keeps the best weights.
Memory grows with (customers + products + context nodes) x hidden x layers plus
interactions x heads x hidden: measured peak RSS 3.4 GB for 50,000 customers and 213,000
interactions with two layers, about 1 GB of it PyTorch itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import neo4j
import pandas as pd
import torch

from .. import cypher
from ..config import Settings, TrainConfig
from ..db import describe_interrupted, interrupted_ingests
from ..progress import SILENT, Phases, Progress, Summary
from ..runs import Run, environment
from .data import REV_USES, USES, Prepared, build_graph, prepare
from .metrics import ranking_metrics
from .model import HeteroGATRecommender, bpr_loss, channel_share, mixed
from .split import supervision_split


@dataclass
class TrainResult(Summary):
    """What ``wbgraph train`` did: the run it saved and its validation and test figures."""

    run_id: str
    run_dir: str
    epochs: int
    best_epoch: int
    val: dict
    test: dict
    seconds: dict = field(default_factory=dict)  # export, train, perEpoch
    device: str = "cpu"
    notes: list = field(default_factory=list)  # features the data has no value for, left out of the model
    warnings: list = field(default_factory=list)  # e.g. an interrupted ingest: aggregates may be stale


@dataclass
class Fitted:
    """A trained model and how training went."""

    model: HeteroGATRecommender
    history: list
    best_epoch: int
    val: dict
    test: dict
    device: str


def pick_device(name: str) -> torch.device:
    """``auto``: the GPU when there is one."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def train(
    driver: neo4j.Driver,
    settings: Settings,
    config: TrainConfig | None = None,
    runs_dir: str | Path | None = None,
    progress: Progress = SILENT,
) -> TrainResult:
    """Export, split, train with early stopping, score the test set, save the run.

    An interrupted ingest in the graph (:func:`wbgraph.db.interrupted_ingests`) is a warning,
    said before the export and kept in the result: the aggregates trained on may be stale.
    """
    config = config or TrainConfig()
    phases = Phases()
    unfinished = interrupted_ingests(driver, settings)
    warnings = [describe_interrupted(unfinished)] if unfinished else []
    for warning in warnings:  # said first: the user may rather stop and rerun that ingest
        progress.say(f"Warning: {warning}")
    with phases("export"):
        counts = driver.execute_query(cypher.load("db/label_counts"), database_=settings.database).records[0].data()
        data = prepare(driver, settings, config.filters(), progress=progress, holdout_share=config.holdout_share)
    with phases("train"):
        fitted = fit(data, config, progress)
    seconds = {"export": phases["export"], "train": phases["train"], "perEpoch": phases["train"] / len(fitted.history)}
    now = datetime.now(UTC)
    metrics = {
        "split": data.split.sizes(),
        "bestEpoch": fitted.best_epoch,
        "val": fitted.val,
        "test": {"gat": fitted.test},
        "history": fitted.history,
        "seconds": seconds,
        "device": fitted.device,
        "trainedAt": now.isoformat(),
    }
    record = environment() | {
        "graph": counts | {"database": settings.database, "uri": settings.uri},
        "learnedFrom": {"customers": data.n_customers, "products": data.n_products, "interactions": len(data.customer)},
        "window": window(data.tables.interactions, config),
        "fingerprint": fingerprint(data.tables.interactions),
    }
    run = Run.create(runs_dir, Run.new_id(now, config.seed), fitted.model, data.encoders, config, metrics, record)
    return TrainResult(
        run.id,
        str(run.folder),
        len(fitted.history),
        fitted.best_epoch,
        fitted.val,
        fitted.test,
        seconds,
        fitted.device,
        data.encoders.notes(),
        warnings,
    )


def window(interactions: pd.DataFrame, config: TrainConfig) -> dict:
    """The data window a run learned from: its first and last adoption dates and its filters."""
    first = pd.to_numeric(interactions["firstDate"], errors="coerce").min()
    last = pd.to_numeric(interactions["lastDate"], errors="coerce").max()
    day = lambda seconds: None if pd.isna(seconds) else datetime.fromtimestamp(seconds, UTC).date().isoformat()
    return {"first": day(first), "last": day(last)} | {k: v for k, v in config.filters().items() if v is not None}


def fingerprint(interactions: pd.DataFrame) -> str:
    """A hash of the customer -> product interactions a run learned from, independent of their
    order: two runs with the same fingerprint saw the same data."""
    import hashlib

    import numpy as np

    columns = [c for c in ("customerId", "productId", "transactionCount", "firstDate", "lastDate") if c in interactions]
    rows = np.sort(pd.util.hash_pandas_object(interactions[columns], index=False).to_numpy())
    return hashlib.sha256(rows.tobytes()).hexdigest()[:16]


PROMISING = 0.75
MIXES = ((1.0, 0.0), (1.0, 0.5), (1.0, 1.0), (1.0, 2.0), (0.0, 1.0))  # (GAT part, item channel)


def fit(data: Prepared, config: TrainConfig, progress: Progress = SILENT) -> Fitted:
    """Train on prepared data with early stopping on validation NDCG@10; keep the best weights.

    With the item channel, each epoch also fits it to predict each customer's latest
    training interactions from its earlier ones (the channel's EASE weights are fitted on
    those earlier ones only, so it cannot read the answer), and validation chooses, per
    epoch, the mix of the two parts from :data:`MIXES`; the best epoch's mix is kept.
    Training stops when for ``patience`` epochs (or a quarter of the epochs so far, when
    that is more: a long run's plateaus are longer) neither the mix nor either part alone
    improved on validation (the parts learn at different speeds), a part counting only
    while it is at least :data:`PROMISING` times as good as the best mix so far.
    """
    torch.manual_seed(config.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    device = pick_device(config.device)
    model = HeteroGATRecommender.for_graph(data.train_graph, config).to(device)
    graph = data.train_graph.to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator(device="cpu").manual_seed(config.seed)
    train_c = torch.as_tensor(data.customer[data.split.train], device=device)
    train_p = torch.as_tensor(data.product[data.split.train], device=device)
    held = data.matrix(data.split.train).to(device)
    val_relevant = data.matrix(data.split.val).cpu()
    channel = _ChannelTask(data, config, device) if model.channel else None

    history, best, best_state, best_epoch, stale, best_alone = [], -1.0, None, 0, 0, {}
    with progress.task("Training", "epochs") as update:
        for epoch in range(1, config.epochs + 1):
            model.train()
            supervised = (torch.rand(len(train_c), generator=generator) < config.supervision_ratio).to(device)
            loss = _loss(model, graph, config, train_c, train_p, supervised, held, generator, data.n_products)
            if channel is not None:
                loss = loss + channel.loss(model, held)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()

            val, mix, alone = _validate(model, graph, val_relevant, held.cpu())
            history.append(
                {"epoch": epoch, "loss": loss.item(), "val_ndcg@10": val["ndcg@10"], "mix": list(mix), "alone": alone}
            )
            update(epoch, config.epochs)
            stale += 1
            if any(f > best_alone.get(p, -1.0) and f >= PROMISING * best for p, f in alone.items()):
                stale = 0  # a part that counts still learns: its best mix may be ahead
            best_alone = best_alone | {p: max(f, best_alone.get(p, -1.0)) for p, f in alone.items()}
            if val["ndcg@10"] > best:
                best, best_epoch, stale = val["ndcg@10"], epoch, 0
                model.mix = torch.tensor(mix, device=device)
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            if stale >= patience_at(epoch, config.patience):
                break
    model.load_state_dict(best_state)

    val = ranking_metrics(model.score_all(graph)[0].cpu(), val_relevant, held.cpu())
    test_graph = data.test_graph.to(device)
    test_relevant, known = data.matrix(data.split.test), data.matrix(data.split.train | data.split.val)
    test = ranking_metrics(model.score_all(test_graph)[0].cpu(), test_relevant, known)
    if model.channel:
        with torch.no_grad():
            model.eval()
            gat, channel_scores, _ = model.parts(test_graph)
        test["parts"] = {
            "mix": model.mix.tolist(),
            "gatAlone": _headline(ranking_metrics(gat.cpu(), test_relevant, known)),
            "channelAlone": _headline(ranking_metrics(channel_scores.cpu(), test_relevant, known)),
            "channelShare": channel_share(gat, channel_scores, model.mix),
        }
    return Fitted(model, history, best_epoch, val, test, str(device))


def patience_at(epoch: int, patience: int) -> int:
    """Epochs without improvement that stop training at ``epoch``: ``patience``, or a quarter of the epochs so far.

    Full-batch training has plateaus that lengthen as it goes (measured on generated data:
    a fixed 20 stopped one seed at epoch 142, at 0.79 of the oracle, where the others reach 0.88).
    """
    return max(patience, epoch // 4)


class _ChannelTask:
    """The item channel's training task: each customer's latest training interactions from its earlier ones."""

    def __init__(self, data: Prepared, config: TrainConfig, device: torch.device):
        target = supervision_split(data.tables.interactions, data.split.train, config.holdout_share)
        given = data.split.train & ~target
        self.graph = build_graph(data.tables, data.encoders, data.tables.interactions[given]).to(device)
        self.customers = torch.as_tensor(data.customer[target], device=device)
        self.products = torch.as_tensor(data.product[target], device=device)

    def loss(self, model: HeteroGATRecommender, held: torch.Tensor) -> torch.Tensor:
        return multinomial_loss(model.channel_of(self.graph), self.customers, self.products, held)


@torch.no_grad()
def _validate(model: HeteroGATRecommender, graph, relevant: torch.Tensor, held: torch.Tensor) -> tuple:
    """``(figures, mix, NDCG@10 of each part alone)`` of the model's best mix of its parts on validation."""
    model.eval()
    gat, channel, _ = model.parts(graph)
    if channel is None:
        figures = ranking_metrics(gat.cpu(), relevant, held, ks=(10,))
        return figures, (1.0, 0.0), {"gat": figures["ndcg@10"]}
    gat, channel = gat.cpu(), channel.cpu()
    tried = {mix: ranking_metrics(mixed(gat, channel, torch.tensor(mix)), relevant, held, ks=(10,)) for mix in MIXES}
    mix = max(tried, key=lambda m: tried[m]["ndcg@10"])
    return tried[mix], mix, {"gat": tried[(1.0, 0.0)]["ndcg@10"], "channel": tried[(0.0, 1.0)]["ndcg@10"]}


def _headline(metrics: dict) -> dict:
    return {k: metrics[k] for k in ("recall@10", "ndcg@10") if k in metrics}


def _loss(
    model: HeteroGATRecommender,
    graph,
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
