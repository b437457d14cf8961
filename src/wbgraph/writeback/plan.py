"""What a writeback will write, computed before the first write: scores, rules, top K, segments, reasons.

Every customer the model knows is scored against every product (one matrix product; on the
GPU when there is one); products it holds and candidates the eligibility rules exclude are
removed, and its top K are kept, ranks 1..K, each with its reasons. Customers are clustered
into segments on the model's embeddings. Nothing here touches the database but the export
that :meth:`wbgraph.runs.Run.restore` does; :mod:`.write` writes the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import neo4j
import numpy as np
import pandas as pd
import torch
from sklearn.decomposition import PCA

from ..config import Settings
from ..gnn.data import build_graph
from ..gnn.train import pick_device
from ..runs import DEFAULT_RUNS_DIR, Restored, Run
from . import explain
from .eligibility import DEFAULT_RULES, exclusions, load_rules
from .segments import profiles, segment


@dataclass
class Plan:
    """Everything a writeback writes, computed before the first write."""

    run: Run
    created_at: str | None
    customer_ids: list[str]
    rows: list[
        dict
    ]  # per customer: customerId, segment, segmentKey, recommendations [{productId, score, rank, reasons}]
    segments: list[dict]  # Segment node properties
    excluded: dict = field(default_factory=dict)  # rule -> candidates it excluded (not already held)
    candidates: int = 0  # (customer, product) pairs not held, before the rules
    projection: np.ndarray | None = None  # [customers, 2]: the embeddings' first two principal components
    labels: np.ndarray | None = None  # segment of each customer

    @property
    def run_id(self) -> str:
        return self.run.id


def plan(
    driver: neo4j.Driver,
    settings: Settings,
    run: str | Path | None = None,
    top_k: int = 10,
    segments: int | str = "auto",
    rules: str | Path | None = DEFAULT_RULES,
    runs_dir: str | Path = DEFAULT_RUNS_DIR,
) -> Plan:
    """Score, filter, rank, segment and explain, without writing anything."""
    rule_list = load_rules(rules)  # a bad rules file fails before the export
    return plan_restored(Run.open(run, runs_dir).restore(driver, settings), top_k, segments, rule_list)


def plan_restored(restored: Restored, top_k: int = 10, segments: int | str = "auto", rules: list | None = None) -> Plan:
    """:func:`plan` for a run already restored (no database needed): ``rules`` as :func:`load_rules` gives them."""
    rule_list = rules or []
    data = restored.data
    graph, scores, embeddings = _score_everything(restored)
    held = data.matrix(data.split.train | data.split.val | data.split.test).numpy()
    customers, products = data.customers(), data.products()
    excluded_by = exclusions(rule_list, customers, products)
    values, picks = _top_k(scores, held, excluded_by, min(top_k, data.n_products))

    seg = segment(embeddings, segments, seed=restored.config.seed)
    segment_props = profiles(
        seg, customers, held, _picked(picks, held.shape), data.encoders.product_ids, restored.run_id
    )
    why = explain.reasons(
        picks,
        held,
        explain.attention(restored.model, graph).numpy(),
        seg.labels,
        _text(customers["industry"]),
        data.peer_groups(),
        data.encoders.product_ids,
        _text(products["productType"]).tolist(),
    )
    rows = [
        {
            "customerId": customer,
            "segment": int(seg.labels[i]),
            "segmentKey": f"{restored.run_id}/{int(seg.labels[i])}",
            "recommendations": [
                {
                    "productId": data.encoders.product_ids[p],
                    "score": float(values[i, j]),
                    "rank": j + 1,
                    "reasons": why[i][j],
                }
                for j, p in enumerate(picks[i])
                if p >= 0
            ],
        }
        for i, customer in enumerate(data.encoders.customer_ids)
    ]
    return Plan(
        restored.run,
        restored.run.metrics().get("trainedAt"),
        data.encoders.customer_ids,
        rows,
        segment_props,
        {name: int((m & ~held).sum()) for name, m in excluded_by.items()},
        int((~held).sum()),
        _projection(embeddings),
        seg.labels,
    )


def _score_everything(restored: Restored) -> tuple:
    """``(graph, scores, customer embeddings)`` with every interaction visible, as in serving."""
    data = restored.data
    device = pick_device(restored.config.device)
    everything = data.split.train | data.split.val | data.split.test
    graph = build_graph(data.tables, data.encoders, data.tables.interactions[everything]).to(device)
    scores, h = restored.model.to(device).score_all(graph)
    return graph, scores.cpu(), h["customer"].cpu().numpy()


def _top_k(scores: torch.Tensor, held: np.ndarray, excluded_by: dict, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, product indices)`` of each customer's best ``k`` candidates; -1 where fewer are eligible."""
    blocked = held.copy()
    for matrix in excluded_by.values():
        blocked |= matrix
    scores = scores.clone()
    scores[torch.as_tensor(blocked)] = float("-inf")
    best = scores.topk(k, dim=1)
    values = best.values.numpy()
    return values, np.where(np.isfinite(values), best.indices.numpy(), -1)


def _picked(picks: np.ndarray, shape: tuple) -> np.ndarray:
    """The picks as a boolean ``[customers, products]`` matrix."""
    out = np.zeros(shape, dtype=bool)
    rows = np.repeat(np.arange(len(picks)), picks.shape[1])
    flat = picks.ravel()
    out[rows[flat >= 0], flat[flat >= 0]] = True
    return out


def _projection(embeddings: np.ndarray) -> np.ndarray:
    """The first two principal components of the customer embeddings (for pictures only)."""
    if min(embeddings.shape) < 2:
        return np.zeros((len(embeddings), 2))
    return PCA(2, random_state=0).fit_transform(embeddings)


def _text(values: pd.Series) -> np.ndarray:
    """Values as text for the reasons, ``""`` where missing (the reason then leaves the fact out)."""
    return np.array([str(v) if v is not None and v == v else "" for v in values], dtype=object)
