"""``wbgraph evaluate``: the trained model against the baselines a bank's data scientist brings, on held-out data.

The run's protocol (:mod:`wbgraph.gnn.data`: ``latest``, each customer's latest interactions
held out; ``asof``, the products newly taken after a cutoff) gives the test question every
method must answer; every method ranks, for each customer with something to find, all
products the customer does not already hold, and is scored by the same
:func:`ranking_metrics`. The baselines (:data:`wbgraph.gnn.baselines.REGISTRY`) make their
choices on the validation question, as the GAT did in training; the test is read once,
here. The comparator is the baseline **best on validation** for each metric (never the best
on test); each comparison carries a paired bootstrap 95% interval over customers of the
difference. With the generator's truth file, the oracles (the true affinity rankings) show
the ceiling.

The gate (``require_beat``) turns the comparison into a decision a scheduled job can act on:
it passes only with evidence, when the paired bootstrap interval's lower bound of
``model - (1 + margin) x baseline`` on ``metric`` is above zero for each named baseline.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import neo4j
import numpy as np
import torch

from ..config import Settings
from ..errors import ConfigError
from ..progress import Summary
from ..runs import Run
from .baselines import BASELINES, fit_all
from .calibration import question_figures
from .data import Prepared
from .metrics import KS, bootstrap_difference, per_customer, ranking_metrics
from .model import channel_share
from .restore import Restored, calibrator_of, restore

MODEL = "gat"
GAT_PART = "gat: graph part alone"
CHANNEL_PART = "gat: item channel alone"
METRIC = re.compile(r"(recall|ndcg|map|hit|precision)@(\d+)")
MAX_K = 50
NO_TEST = (  # a model trained as of the latest data: what train and evaluate say instead of figures
    "No customer to test on: nothing was newly taken in the test window (a model trained as of the "
    "latest data has no test; its evidence is the backtest's)."
)


@dataclass
class Evaluation(Summary):
    """Every method's figures on the same held-out question, the comparison and the verdict."""

    run_id: str
    metrics: dict  # method -> metric -> value
    verdict: str
    truth: str | None = None
    comparison: dict = field(default_factory=dict)  # metric -> best baseline on validation, difference, interval
    chosen: dict = field(default_factory=dict)  # baseline -> hyperparameters chosen on validation
    gate: dict | None = None  # required baselines, metric, margin, passed, shortfalls
    parts: dict | None = None  # with the item channel: the mix validation chose and the channel's share
    validation: dict = field(default_factory=dict)  # baseline -> its chosen setting's validation figures
    details: dict = field(default_factory=dict)  # baseline -> e.g. the boosted tree's feature importances
    protocol: dict = field(default_factory=dict)  # the run's: latest or asof (cutoff, horizon, windows)
    k: int = 10
    outcomes: dict | None = None  # asked for: the acceptance rates of the offers made (outcomes.metrics)
    calibration: dict | None = None  # the probabilities of the top k pairs against the answers (None: no calibrator)


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
    k: int = 10,
    outcomes: bool = False,
) -> Evaluation:
    """Score the run's model and the baselines (all, or those ``baselines`` names) on the same held-out question.

    The protocol, cutoff and horizon are the run's (a backtest of another window is another
    ``wbgraph train --cutoff``). ``k``: the cut-off of the ranking read beside 5, 10 and 20
    (7 for a month of the Santander data, as in its competition). The figures, and the
    gate's verdict when ``require_beat`` names baselines, are kept in the run's folder, for
    ``wbgraph report`` and ``writeback --require-evaluated``. ``outcomes``: the acceptance rates
    of the offers made too (:func:`wbgraph.outcomes.metrics.acceptance`).
    """
    check_gate(require_beat, metric, margin, baselines, k)
    restored = restore(Run.open(run, runs_dir, default="latest"), driver, settings)
    data = restored.data
    model = restored.model
    methods = {MODEL: model.score_all(data.test_graph)[0]}
    mix = None
    if model.channel:  # each part alone too, so that the table shows what each contributes
        with torch.no_grad():
            gat, channel, _ = model.parts(data.test_graph)
        methods |= {GAT_PART: gat, CHANNEL_PART: channel}
        mix = {
            "mix": model.mix.tolist(),
            "channelShare": channel_share(gat, channel, model.mix),
            "groupWeight": float(model.group_weight),
        }
    result = compare(
        restored.run_id,
        methods,
        data,
        seed=restored.config.seed,
        truth=truth,
        baselines=baselines,
        k=k,
        parts=mix,
        require_beat=require_beat,
        metric=metric,
        margin=margin,
    )
    result.calibration = calibration_of(restored, k)
    if outcomes:
        from ..outcomes.metrics import acceptance

        result.outcomes = acceptance(driver, settings)
    restored.run.save_evaluation(result.to_json())
    return result


def calibration_of(restored: Restored, k: int) -> dict | None:
    """How the run's probabilities (:mod:`.calibration`) of each customer's top ``k`` match the
    test answers: ECE over equal-mass bins, Brier skill, the reliability table, the method;
    None for a run without a calibrator or a test question without answers."""
    calibrator = calibrator_of(restored.run)
    data = restored.data
    if calibrator is None or not len(data.test.answer_customer):
        return None
    protocol = data.protocol.get("name", "latest")
    with torch.no_grad():
        found = question_figures(restored.model, data.test_graph, data.test, data.n_customers, protocol, calibrator, k)
    return {"method": calibrator.method, "input": calibrator.input} | found


def compare(
    run_id: str,
    methods: dict,
    data: Prepared,
    seed: int = 0,
    truth: str | Path | None = None,
    baselines: list[str] | None = None,
    k: int = 10,
    parts: dict | None = None,
    require_beat: list[str] | None = None,
    metric: str = "recall@10",
    margin: float = 0.0,
) -> Evaluation:
    """The evaluation of ``methods`` (name -> test-time scores) beside every baseline, without a database."""
    ks = tuple(sorted(set(KS) | {k}))
    test, held = data.test.answers(), data.test.held()
    fitted = fit_all(data.history, data.val, data.test, data.side(seed), only=baselines, ks=ks)
    methods = dict(methods) | {name: f.scores for name, f in fitted.items()}
    if truth:
        for name, key in ORACLES.items():
            methods[name] = oracle_scores(truth, data.encoders.customer_ids, data.encoders.product_ids, key)
    metrics = _shares_of_oracles({name: ranking_metrics(scores, test, held, ks=ks) for name, scores in methods.items()})
    validation = {name: f.validation for name, f in fitted.items()}
    comparison, gated, per = {}, None, {}
    tested = bool(metrics[MODEL].get("customers"))

    def of(name: str, at: int) -> dict:
        if (name, at) not in per:
            per[(name, at)] = per_customer(methods[name], test, held, at, ("map", "hit", "precision"))
        return per[(name, at)]

    if tested and fitted:
        for name in compared(k):
            best = best_on_validation(validation, name)
            at = int(name.partition("@")[2])
            ours, theirs = of(MODEL, at)[name], of(best, at)[name]
            comparison[name] = {"baseline": best} | bootstrap_difference(ours, theirs, seed=seed)
    if require_beat:  # with nothing to test on, every required baseline is a shortfall: the gate fails closed
        at = int(metric.partition("@")[2])
        figures = {n: of(n, at)[metric] if tested else [] for n in [MODEL, *require_beat] if n in methods}
        gated = gate(figures, require_beat, metric, margin, seed)
    chosen = {name: f.chosen for name, f in fitted.items() if f.chosen}
    details = {name: f.details for name, f in fitted.items() if f.details}
    headline = compared(k)[0]
    return Evaluation(
        run_id,
        metrics,
        verdict(metrics, comparison, headline, parts, validation),
        str(truth) if truth else None,
        comparison,
        chosen,
        gated,
        parts,
        validation,
        details,
        data.protocol,
        k,
    )


def _shares_of_oracles(metrics: dict) -> dict:
    """``metrics`` with each method's recall@10 as a share of each oracle's, where there is one."""
    for oracle, key in (
        ("oracle", "shareOfOracleRecall@10"),
        ("oracle, from history", "shareOfHistoryOracleRecall@10"),
    ):
        if metrics.get(oracle, {}).get("recall@10"):
            for m in metrics.values():
                m[key] = m["recall@10"] / metrics[oracle]["recall@10"]
    return metrics


def compared(k: int) -> tuple[str, ...]:
    """The metrics each comparison reads, the headline first: MAP@k, recall@k, NDCG@10 (k = 10: NDCG@10 first)."""
    if k == 10:
        return ("ndcg@10", "recall@10", "map@10")
    return (f"map@{k}", f"recall@{k}", "ndcg@10")


def best_on_validation(validation: dict, metric: str) -> str:
    """The baseline whose chosen setting scored best on ``metric`` on validation (the first listed, on a tie)."""
    return max(validation, key=lambda name: validation[name].get(metric, 0.0))


def check_gate(
    require_beat: list[str] | None,
    metric: str,
    margin: float,
    baselines: list[str] | None = None,
    k: int = 10,
) -> None:
    """A gate naming an unknown or unevaluated baseline or metric, or a negative margin, is a one-line error."""
    for option, names in (("--baselines", baselines), ("--require-beat", require_beat)):
        unknown = [n for n in names or [] if n not in BASELINES]
        if unknown:
            raise ConfigError(f"{option}: no baseline named {unknown[0]!r}; choose from {', '.join(BASELINES)}.")
    skipped = [n for n in require_beat or [] if baselines and n not in baselines]
    if skipped:
        raise ConfigError(f"--require-beat names {skipped[0]!r}, which --baselines leaves out.")
    if not 1 <= k <= MAX_K:
        raise ConfigError(f"--k must be between 1 and {MAX_K}, not {k!r}.")
    match = METRIC.fullmatch(metric)
    if not match or not 1 <= int(match.group(2)) <= MAX_K or int(match.group(2)) not in (*KS, k):
        raise ConfigError(
            f"--metric must be recall, ndcg, map, hit or precision at 5, 10, 20 or --k ({k}), e.g. map@{k}, "
            f"not {metric!r}."
        )
    if not 0 <= margin < 10:
        raise ConfigError(f"--margin must be between 0 and 10 (a share: 0.02 is 2%), not {margin!r}.")


def gate(per_customer_figures: dict, require_beat: list[str], metric: str, margin: float, seed: int = 0) -> dict:
    """Whether the model beats each required baseline on ``metric`` with evidence.

    ``per_customer_figures``: method -> each test customer's figure (:func:`per_customer`).
    A baseline is beaten when the paired bootstrap 95% interval of the mean of ``model -
    (1 + margin) x baseline`` over customers lies above zero: a point estimate ahead is not
    enough. ``shortfalls`` lists, per baseline not beaten, the figure the model needed and
    reached and the interval of the difference.
    """
    ours = np.asarray(per_customer_figures[MODEL], dtype="float64")
    shortfalls = []
    for name in require_beat:
        theirs = np.asarray(per_customer_figures[name], dtype="float64")
        if not len(ours):  # nothing to test on: no evidence
            shortfalls.append({"baseline": name, "needed": 0.0, "reached": 0.0, "low": None, "high": None})
            continue
        interval = bootstrap_difference(ours, (1 + margin) * theirs, seed=seed)
        if not interval["low"] > 0:
            shortfalls.append(
                {
                    "baseline": name,
                    "needed": float((1 + margin) * theirs.mean()),
                    "reached": float(ours.mean()),
                    "low": interval["low"],
                    "high": interval["high"],
                }
            )
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
    if not evaluation.metrics[MODEL].get("customers"):
        return (
            f"Run {evaluation.run_id} did not pass the gate: no customer to test on (nothing was newly taken "
            "in the test window), so no evidence that it beats " + ", ".join(g["required"]) + "."
        )
    parts = [
        f"{s['baseline']} with evidence (needed {s['needed']:.4f}, {_percent(s['reached'], s['needed'])}; "
        f"95% interval of the difference [{s['low']:+.4f}, {s['high']:+.4f}])"
        for s in g["shortfalls"]
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


def verdict(
    metrics: dict,
    comparison: dict | None = None,
    headline: str = "ndcg@10",
    parts: dict | None = None,
    validation: dict | None = None,
) -> str:
    """Plain sentences: does the model beat the best baseline on ``headline``, and which part of it decided?

    The baseline is the one best on validation (``validation``; without it, the best on
    test). With a ``comparison`` the model wins only when the bootstrap interval of the
    difference lies above zero; without one, when it is 2% ahead.
    """
    if not metrics[MODEL].get("customers", 1):
        return NO_TEST
    baseline_names = [n for n in metrics if not n.startswith(MODEL) and not n.startswith("oracle")]
    c = (comparison or {}).get(headline)
    if c:
        best = c["baseline"]
    elif validation:
        best = best_on_validation(validation, headline)
    else:
        best = max(baseline_names, key=lambda n: metrics[n].get(headline, 0.0))
    name = headline.replace("ndcg", "NDCG").replace("map", "MAP")
    gat, base = metrics[MODEL].get(headline, 0.0), metrics[best].get(headline, 0.0)
    interval = f", 95% interval of the difference [{c['low']:+.3f}, {c['high']:+.3f}]" if c else ""
    wins = c["low"] > 0 if c else gat > base * 1.02
    if wins:
        text = f"The GAT beats the best baseline on validation, {best}: {name} {gat:.3f} against {base:.3f}{interval}."
    elif best in ("popularity", "segment popularity"):
        text = (
            f"The GAT does not beat {best} on this data ({name} {gat:.3f} against {base:.3f}{interval}): "
            "the graph may hold no signal beyond popularity."
        )
    else:
        text = (
            f"The GAT does not beat {best} on this data ({name} {gat:.3f} against {base:.3f}{interval}): "
            f"use {best}, or more data, until it does."
        )
    return text + decided(metrics, headline, parts)


def decided(metrics: dict, headline: str, parts: dict | None) -> str:
    """The sentence naming the part of the model that decided its ranking, when it has two."""
    if not parts or GAT_PART not in metrics:
        return ""
    name = headline.replace("ndcg", "NDCG").replace("map", "MAP")
    share = parts.get("channelShare", 0.0)
    return (
        f" The item channel decided {share:.0%} of the ranking (mix {_mix(parts.get('mix'))}); "
        f"the GAT part alone scores {name} {metrics[GAT_PART].get(headline, 0.0):.3f}, "
        f"the item channel alone {metrics[CHANNEL_PART].get(headline, 0.0):.3f}."
    )


def _mix(mix: list | None) -> str:
    return "GAT:channel " + ":".join(f"{m:g}" for m in mix) if mix else "n/a"
