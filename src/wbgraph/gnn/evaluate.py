"""``wbgraph evaluate``: the trained model against baselines on held-out adoptions.

The test set is each customer's latest adoption; every method ranks, for each such
customer, all products the customer does not already hold (training and validation
interactions), and is scored by the same :func:`ranking_metrics`. With the generator's
truth file, the oracle (the true affinity ranking) shows the ceiling.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import neo4j
import torch

from ..config import Settings
from ..progress import Summary
from ..runs import DEFAULT_RUNS_DIR, Run
from . import baselines
from .metrics import ranking_metrics


@dataclass
class Evaluation(Summary):
    """Every method's figures on the same held-out adoptions, and the verdict."""

    run_id: str
    metrics: dict  # method -> metric -> value
    verdict: str
    truth: str | None = None


def evaluate(
    driver: neo4j.Driver,
    settings: Settings,
    run: str | Path | None = None,
    truth: str | Path | None = None,
    runs_dir: str | Path = DEFAULT_RUNS_DIR,
) -> Evaluation:
    """Score the run's model and the baselines on the same held-out adoptions.

    The figures are also kept in the run's folder, for ``wbgraph report``.
    """
    restored = Run.open(run, runs_dir).restore(driver, settings)
    data, encoders = restored.data, restored.data.encoders
    known = data.split.train | data.split.val
    held, relevant = data.matrix(known), data.matrix(data.split.test)
    seen = held.float()
    methods = {
        "gat": restored.model.score_all(data.test_graph)[0],
        "popularity": baselines.popularity(seen),
        "segment popularity": baselines.segment_popularity(seen, data.peer_groups()),
        "item kNN": baselines.item_knn(seen),
        "matrix factorisation": baselines.matrix_factorisation(seen, seed=restored.config.seed),
    }
    if truth:
        for name, key in ORACLES.items():
            methods[name] = oracle_scores(truth, encoders.customer_ids, encoders.product_ids, key)
    metrics = {name: ranking_metrics(scores, relevant, held) for name, scores in methods.items()}
    for oracle, key in (
        ("oracle", "shareOfOracleRecall@10"),
        ("oracle, from history", "shareOfHistoryOracleRecall@10"),
    ):
        if metrics.get(oracle, {}).get("recall@10"):
            for m in metrics.values():
                m[key] = m["recall@10"] / metrics[oracle]["recall@10"]
    result = Evaluation(restored.run_id, metrics, verdict(metrics), str(truth) if truth else None)
    restored.run.save_evaluation(result.to_json())
    return result


ORACLES = {"oracle": "ranking", "oracle, attributes only": "attributeRanking", "oracle, from history": "historyRanking"}


def oracle_scores(
    truth: str | Path, customer_ids: list[str], product_ids: list[str], key: str = "ranking"
) -> torch.Tensor:
    """A ranking from the generator's truth file as scores (higher = truer).

    ``ranking`` is the true affinity (it knows the hidden per-customer taste);
    ``attributeRanking`` the affinity without the taste: the best any method can do from
    customer attributes alone; ``historyRanking`` the Bayes-optimal guess at the last
    adoption from the attributes and every earlier adoption: the ceiling for any method
    that sees what the evaluation shows it.
    """
    customers = json.loads(Path(truth).read_text())["customers"]
    position = {p: i for i, p in enumerate(product_ids)}
    scores = torch.full((len(customer_ids), len(product_ids)), float("-inf"))
    for row, customer in enumerate(customer_ids):
        ranking = customers.get(customer, {}).get(key, [])
        for rank, product in enumerate(ranking):
            if product in position:
                scores[row, position[product]] = -float(rank)
    return scores


def verdict(metrics: dict) -> str:
    """One plain sentence on whether the model beats the best baseline."""
    baseline_names = [n for n in metrics if n != "gat" and not n.startswith("oracle")]
    best = max(baseline_names, key=lambda n: metrics[n].get("ndcg@10", 0.0))
    gat, base = metrics["gat"].get("ndcg@10", 0.0), metrics[best].get("ndcg@10", 0.0)
    if gat > base * 1.02:
        return f"The GAT beats every baseline: NDCG@10 {gat:.3f} against {base:.3f} for {best}."
    if best in ("popularity", "segment popularity"):
        return (
            f"The GAT does not beat {best} on this data (NDCG@10 {gat:.3f} against {base:.3f}): "
            "the graph may hold no signal beyond popularity."
        )
    return (
        f"The GAT does not beat {best} on this data (NDCG@10 {gat:.3f} against {base:.3f}): "
        f"use {best}, or more data, until it does."
    )
