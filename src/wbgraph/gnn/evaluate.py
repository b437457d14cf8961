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
from . import baselines
from .metrics import ranking_metrics


@torch.no_grad()
def score_all(model, graph) -> torch.Tensor:
    """Scores of every customer for every product, ``[customers, products]``."""
    model.eval()
    h = model.encode(graph.x_dict, graph.edge_index_dict, graph.edge_attr_dict)
    return model.score(h["customer"], h["product"])


@dataclass
class Evaluation:
    run_id: str
    metrics: dict  # method -> metric -> value
    verdict: str


def evaluate(driver: neo4j.Driver, settings: Settings, runs_dir="runs", run: str | None = None, truth: str | Path | None = None) -> Evaluation:
    """Score the run's model and the baselines on the same held-out adoptions.

    The figures are also saved as ``evaluation.json`` in the run's folder.
    """
    from .train import restore

    restored = restore(driver, settings, runs_dir, run)
    data, config, encoders = restored.data, restored.config, restored.data.encoders
    known = data.split.train | data.split.val
    held, relevant = data.matrix(known), data.matrix(data.split.test)
    seen = held.float()
    methods = {
        "gat": score_all(restored.model, data.test_graph),
        "popularity": baselines.popularity(seen),
        "segment popularity": baselines.segment_popularity(seen, data.segments()),
        "item kNN": baselines.item_knn(seen),
        "matrix factorisation": baselines.matrix_factorisation(seen, seed=config.seed),
    }
    if truth:
        methods["oracle"] = oracle_scores(truth, encoders.customer_ids, encoders.product_ids)
        methods["oracle, attributes only"] = oracle_scores(truth, encoders.customer_ids, encoders.product_ids, "attributeRanking")
        methods["oracle, from history"] = oracle_scores(truth, encoders.customer_ids, encoders.product_ids, "historyRanking")
    metrics = {name: ranking_metrics(scores, relevant, held) for name, scores in methods.items()}
    for oracle, key in (("oracle", "shareOfOracleRecall@10"), ("oracle, from history", "shareOfHistoryOracleRecall@10")):
        if metrics.get(oracle, {}).get("recall@10"):
            for m in metrics.values():
                m[key] = m["recall@10"] / metrics[oracle]["recall@10"]
    result = Evaluation(restored.run_id, metrics, verdict(metrics))
    if restored.run_dir:  # kept with the run, for `wbgraph report`
        (restored.run_dir / "evaluation.json").write_text(json.dumps(
            {"run": result.run_id, "truth": str(truth) if truth else None, "metrics": metrics, "verdict": result.verdict}, indent=2))
    return result


def oracle_scores(truth: str | Path, customer_ids: list[str], product_ids: list[str], key: str = "ranking") -> torch.Tensor:
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
        return (f"The GAT does not beat {best} on this data (NDCG@10 {gat:.3f} against {base:.3f}): "
                "the graph may hold no signal beyond popularity.")
    return (f"The GAT does not beat {best} on this data (NDCG@10 {gat:.3f} against {base:.3f}): "
            f"use {best}, or more data, until it does.")
