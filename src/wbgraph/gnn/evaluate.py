"""``wbgraph evaluate``: the trained model against the strongest simple baselines, on held-out data.

The test part of the run's per-customer temporal split (:mod:`wbgraph.gnn.split`) is what
every method must predict; every method ranks, for each customer with something held out,
all products the customer does not already hold (training and validation interactions) and
is scored by the same :func:`ranking_metrics`. The baselines make their choices on the
validation part (:func:`wbgraph.gnn.baselines.fit_all`), as the GAT did in training; the
test part is read once, here. Each comparison carries a paired bootstrap 95% interval over
customers of the GAT's difference to the best baseline. With the generator's truth file,
the oracles (the true affinity rankings) show the ceiling.

The gate (``require_beat``) turns the comparison into a decision a scheduled job can act on:
the model must reach ``(1 + margin)`` times each named baseline's figure on ``metric``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import neo4j
import numpy as np
import torch

from ..config import Settings
from ..errors import ConfigError
from ..progress import Summary
from ..runs import Run
from .baselines import fit_all
from .metrics import bootstrap_difference, per_customer, ranking_metrics
from .model import channel_share

MODEL = "gat"
GAT_PART = "gat: graph part alone"
CHANNEL_PART = "gat: item channel alone"
COMPARED = ("recall@10", "ndcg@10")
GATE_METRICS = ("recall@10", "ndcg@10", "map@10", "hit@10", "recall@20", "ndcg@20")
BASELINES = ("popularity", "segment popularity", "item kNN", "EASE", "matrix factorisation", "LightGCN")


@dataclass
class Evaluation(Summary):
    """Every method's figures on the same held-out interactions, the comparison and the verdict."""

    run_id: str
    metrics: dict  # method -> metric -> value
    verdict: str
    truth: str | None = None
    comparison: dict = field(default_factory=dict)  # metric -> best baseline, difference, 95% interval, ratio
    chosen: dict = field(default_factory=dict)  # baseline -> hyperparameters chosen on validation
    gate: dict | None = None  # required baselines, metric, margin, passed, shortfalls
    parts: dict | None = None  # with the item channel: the mix validation chose and the channel's share


def evaluate(
    driver: neo4j.Driver,
    settings: Settings,
    run: str | Path | None = None,
    truth: str | Path | None = None,
    runs_dir: str | Path | None = None,
    require_beat: list[str] | None = None,
    metric: str = "recall@10",
    margin: float = 0.0,
    baselines: list[str] | None = None,
) -> Evaluation:
    """Score the run's model and the baselines (all, or those ``baselines`` names) on the same held-out interactions.

    The figures, and the gate's verdict when ``require_beat`` names baselines, are kept in
    the run's folder, for ``wbgraph report`` and ``writeback --require-evaluated``.
    """
    check_gate(require_beat, metric, margin, baselines)
    restored = Run.open(run, runs_dir, default="latest").restore(driver, settings)
    data = restored.data
    model = restored.model
    methods = {MODEL: model.score_all(data.test_graph)[0]}
    mix = None
    if model.channel:  # each part alone too, so that the table shows what each contributes
        with torch.no_grad():
            gat, channel, _ = model.parts(data.test_graph)
        methods |= {GAT_PART: gat, CHANNEL_PART: channel}
        mix = {"mix": model.mix.tolist(), "channelShare": channel_share(gat, channel, model.mix)}
    result = compare(
        restored.run_id,
        methods,
        train=data.matrix(data.split.train).float(),
        val=data.matrix(data.split.val),
        test=data.matrix(data.split.test),
        segments=data.peer_groups(),
        seed=restored.config.seed,
        truth=truth,
        ids=(data.encoders.customer_ids, data.encoders.product_ids),
        baselines=baselines,
    )
    result.parts = mix
    if require_beat:
        result.gate = gate(result.metrics, require_beat, metric, margin)
    restored.run.save_evaluation(result.to_json())
    return result


def compare(
    run_id: str,
    methods: dict,
    train: torch.Tensor,
    val: torch.Tensor,
    test: torch.Tensor,
    segments: np.ndarray,
    seed: int = 0,
    truth: str | Path | None = None,
    ids: tuple[list[str], list[str]] | None = None,
    baselines: list[str] | None = None,
) -> Evaluation:
    """The evaluation of ``methods`` (name -> test-time scores) beside every baseline, without a database."""
    known = train + val.float()
    held = known.bool()
    fitted = fit_all(train, val, known, segments, seed=seed, only=baselines)
    methods = dict(methods) | {name: f.scores for name, f in fitted.items()}
    if truth and ids:
        for name, key in ORACLES.items():
            methods[name] = oracle_scores(truth, ids[0], ids[1], key)
    metrics = {name: ranking_metrics(scores, test, held) for name, scores in methods.items()}
    for oracle, key in (
        ("oracle", "shareOfOracleRecall@10"),
        ("oracle, from history", "shareOfHistoryOracleRecall@10"),
    ):
        if metrics.get(oracle, {}).get("recall@10"):
            for m in metrics.values():
                m[key] = m["recall@10"] / metrics[oracle]["recall@10"]
    comparison = {}
    if metrics[MODEL].get("customers"):
        ours = per_customer(methods[MODEL], test, held)
        for name in COMPARED:
            best = max(fitted, key=lambda n: metrics[n][name])
            theirs = per_customer(methods[best], test, held)
            comparison[name] = {"baseline": best} | bootstrap_difference(ours[name], theirs[name], seed=seed)
    chosen = {name: f.chosen for name, f in fitted.items() if f.chosen}
    return Evaluation(run_id, metrics, verdict(metrics, comparison), str(truth) if truth else None, comparison, chosen)


def check_gate(require_beat: list[str] | None, metric: str, margin: float, baselines: list[str] | None = None) -> None:
    """A gate naming an unknown or unevaluated baseline or metric, or a negative margin, is a one-line error."""
    for option, names in (("--baselines", baselines), ("--require-beat", require_beat)):
        unknown = [n for n in names or [] if n not in BASELINES]
        if unknown:
            raise ConfigError(f"{option}: no baseline named {unknown[0]!r}; choose from {', '.join(BASELINES)}.")
    skipped = [n for n in require_beat or [] if baselines and n not in baselines]
    if skipped:
        raise ConfigError(f"--require-beat names {skipped[0]!r}, which --baselines leaves out.")
    if metric not in GATE_METRICS:
        raise ConfigError(f"--metric must be one of {', '.join(GATE_METRICS)}, not {metric!r}.")
    if not 0 <= margin < 10:
        raise ConfigError(f"--margin must be between 0 and 10 (a share: 0.02 is 2%), not {margin!r}.")


def gate(metrics: dict, require_beat: list[str], metric: str, margin: float) -> dict:
    """Whether the model reaches ``(1 + margin)`` times each required baseline on ``metric``.

    ``shortfalls`` lists, per baseline it did not beat, the figure it needed and reached.
    """
    ours = metrics[MODEL].get(metric, 0.0)
    shortfalls = []
    for name in require_beat:
        needed = (1 + margin) * metrics[name].get(metric, 0.0)
        if not ours >= needed or ours == 0.0:
            shortfalls.append({"baseline": name, "needed": needed, "reached": ours})
    return {
        "required": list(require_beat),
        "metric": metric,
        "margin": margin,
        "passed": not shortfalls,
        "shortfalls": shortfalls,
    }


def gate_message(evaluation: Evaluation) -> str:
    """One line saying by how much the model lost, for the error the CLI ends with."""
    g = evaluation.gate
    parts = [
        f"{s['baseline']} (needed {s['needed']:.4f}, {_percent(s['reached'], s['needed'])})" for s in g["shortfalls"]
    ]
    reached = evaluation.metrics[MODEL].get(g["metric"], 0.0)
    return (
        f"Run {evaluation.run_id} did not pass the gate: {g['metric']} {reached:.4f} "
        f"with a margin of {g['margin']:.0%} does not beat " + ", ".join(parts) + "."
    )


def _percent(reached: float, needed: float) -> str:
    return f"{(reached / needed - 1) * 100:+.1f}%" if needed else "n/a"


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


def verdict(metrics: dict, comparison: dict | None = None) -> str:
    """One plain sentence on whether the model beats the best baseline.

    With a ``comparison`` it wins only when the bootstrap interval of the NDCG@10 difference
    lies above zero; without one, when it is 2% ahead.
    """
    baseline_names = [n for n in metrics if not n.startswith(MODEL) and not n.startswith("oracle")]
    best = max(baseline_names, key=lambda n: metrics[n].get("ndcg@10", 0.0))
    gat, base = metrics[MODEL].get("ndcg@10", 0.0), metrics[best].get("ndcg@10", 0.0)
    c = (comparison or {}).get("ndcg@10")
    interval = f", 95% interval of the difference [{c['low']:+.3f}, {c['high']:+.3f}]" if c else ""
    wins = c["low"] > 0 if c else gat > base * 1.02
    if wins:
        return f"The GAT beats every baseline: NDCG@10 {gat:.3f} against {base:.3f} for {best}{interval}."
    if best in ("popularity", "segment popularity"):
        return (
            f"The GAT does not beat {best} on this data (NDCG@10 {gat:.3f} against {base:.3f}{interval}): "
            "the graph may hold no signal beyond popularity."
        )
    return (
        f"The GAT does not beat {best} on this data (NDCG@10 {gat:.3f} against {base:.3f}{interval}): "
        f"use {best}, or more data, until it does."
    )
