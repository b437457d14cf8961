"""How much two sets of recommendations differ: ``wbgraph runs compare A B``, and the churn a
writeback checks (``--max-churn``) against the sets in the graph.

Per customer in both: **overlap@k**, the share of the first k products of one set that are in
the first k of the other, and the rank correlation (Spearman's) of the products both sets
hold; then the mean of each and the customers whose sets changed most. A retrain that
silently changes half of every client's list shows as a mean overlap near 0.5. Beside them,
how far each customer feature moved between the two trainings (:mod:`.drift`: the population
stability index).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .drift import psi
from .folder import Run

MODEL = "gat"  # the model's name in metrics.json and evaluation.json (wbgraph.gnn.evaluate.MODEL)


def latest_sets(run: Run) -> pd.DataFrame:
    """``customerId, productId, rank`` of what the run's writebacks wrote last for each customer
    (its latest full writeback, then its top-ups), from the audit files."""
    written = run.audit()
    if written.empty:
        return pd.DataFrame(columns=["customerId", "productId", "rank"])
    latest = written.groupby("customerId")["writtenAt"].transform("max")
    return written.loc[written["writtenAt"] == latest, ["customerId", "productId", "rank"]].reset_index(drop=True)


def overlaps(a: pd.DataFrame, b: pd.DataFrame, k: int) -> pd.DataFrame:
    """Per customer in both tables (``customerId, productId, rank``): ``overlap`` (overlap@k),
    ``correlation`` (Spearman's, over the products both rank; NaN under 2), ``dropped`` and
    ``added`` (in ``a``'s first k, not in ``b``'s, and the other way)."""
    top_a = a[a["rank"] <= k].sort_values(["customerId", "rank"]).groupby("customerId")["productId"].agg(list)
    top_b = b[b["rank"] <= k].sort_values(["customerId", "rank"]).groupby("customerId")["productId"].agg(list)
    both = top_a.index.intersection(top_b.index)
    rows = []
    for customer in both:
        first, second = top_a[customer], top_b[customer]
        shared = [p for p in first if p in second]
        rows.append(
            {
                "customerId": customer,
                "overlap": len(shared) / k,
                "correlation": _spearman([first.index(p) for p in shared], [second.index(p) for p in shared]),
                "dropped": [p for p in first if p not in second],
                "added": [p for p in second if p not in first],
            }
        )
    return pd.DataFrame(rows, columns=["customerId", "overlap", "correlation", "dropped", "added"])


def compare(a: str, b: str, runs_dir: str | Path | None = None, k: int = 10, most: int = 10) -> dict:
    """Run ``a`` against run ``b``: how much their latest written sets differ (:func:`overlaps`),
    the customers whose sets changed most, the change in each test figure both recorded
    (from their evaluations, else from training: each run's own test question), and, when both
    asked the same test question, each per-customer figure's change with a paired interval
    (:func:`paired_figures`)."""
    first, second = Run.open(a, runs_dir), Run.open(b, runs_dir)
    sets_a, sets_b = latest_sets(first), latest_sets(second)
    per = overlaps(sets_a, sets_b, k)
    changed = per.sort_values(["overlap", "customerId"]).head(most)
    figures_a, figures_b = _figures(first), _figures(second)
    return {
        "runs": [first.id, second.id],
        "k": k,
        "customers": len(per),
        "onlyFirst": int(sets_a["customerId"].nunique() - len(per)),
        "onlySecond": int(sets_b["customerId"].nunique() - len(per)),
        "meanOverlap": float(per["overlap"].mean()) if len(per) else None,
        "rankCorrelation": float(per["correlation"].mean()) if per["correlation"].notna().any() else None,
        "changedMost": [_plain(row) for row in changed.to_dict("records")],
        "figures": {
            name: {"first": figures_a[name], "second": figures_b[name], "change": figures_b[name] - figures_a[name]}
            for name in sorted(figures_a.keys() & figures_b.keys())
        },
        "paired": paired_figures(first, second),
        "drift": _drift(first, second),
    }


def paired_figures(first: Run, second: Run) -> dict:
    """The change in each per-customer test figure with a paired bootstrap 95% interval, over the
    customers both runs were tested on, when both asked the same test question (the same
    protocol over the same interactions: equal fingerprints); else ``{"reason": ...}``."""
    a, b = first.test_customers(), second.test_customers()
    if a is None or b is None:
        return {"reason": "a run trained before per-customer test figures were kept"}
    same = first.record().get("fingerprint") == second.record().get("fingerprint")
    if not same or first.metrics().get("protocol") != second.metrics().get("protocol"):
        return {"reason": "the runs asked different test questions (other data or protocol): no pairing"}
    from ..intervals import bootstrap_difference

    both = a.merge(b, on="customerId", suffixes=("_a", "_b"))
    metrics = [c for c in a.columns if c != "customerId" and c in b.columns]
    return {"customers": len(both)} | {
        m: bootstrap_difference(both[f"{m}_b"].to_numpy(), both[f"{m}_a"].to_numpy()) for m in metrics
    }


def _drift(first: Run, second: Run) -> dict | None:
    """Each customer feature's population stability index from the first run's customers to the
    second's (:func:`.drift.psi`); None when either run was trained before the profiles."""
    a, b = first.features(), second.features()
    return None if a is None or b is None else psi(a, b)


def _plain(row: dict) -> dict:
    """A row for JSON: a missing correlation is None, not NaN."""
    return row | {"correlation": None if row["correlation"] != row["correlation"] else row["correlation"]}


def _figures(run: Run) -> dict:
    """The model's test figures: its evaluation's, else training's."""
    evaluation = run.evaluation() or {}
    model = (evaluation.get("metrics") or {}).get(MODEL) or (run.metrics().get("test") or {}).get(MODEL) or {}
    return {k: float(v) for k, v in model.items() if isinstance(v, (int, float)) and "@" in k}


def _spearman(x: list[int], y: list[int]) -> float:
    """Spearman's rank correlation of two rankings of the same items (NaN under two items)."""
    if len(x) < 2:
        return float("nan")
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    n = len(x)
    return float(1 - 6 * ((rx - ry) ** 2).sum() / (n * (n * n - 1)))
