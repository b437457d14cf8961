"""Per-feature drift between two runs: the population stability index of each customer feature.

``wbgraph train`` keeps a profile of what its customers looked like (:func:`profile`, the run
folder's ``features.json``): for each number the 101 percentiles (0, 1, ..., 100) and the
share missing, for each category the share of each value. :func:`psi` compares two profiles
feature by feature: the first run's deciles are the bins (a category's values are its bins,
missing values one more), the second run's share in each bin is read off its percentiles,
and ``PSI = Σ (b − a) · ln(b / a)`` over the bins (shares floored at 0.0001). Read as the
credit-risk convention has it: under 0.1 stable, 0.1 to 0.25 a moderate shift, above 0.25 a
significant one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FLOOR = 1e-4  # a bin's smallest share in the index: an empty bin is not an infinite shift
STABLE, MODERATE = 0.1, 0.25  # the usual reading: under 0.1 stable, above 0.25 significant
MISSING = "(missing)"


def profile(frame: pd.DataFrame, numbers: list[str], categories: list[str]) -> dict:
    """Each named column's summary (the columns ``frame`` lacks are left out)."""
    out = {}
    for column in numbers:
        if column in frame:
            values = pd.to_numeric(frame[column], errors="coerce")
            present = values.dropna().to_numpy(dtype=np.float64)
            out[column] = {
                "kind": "number",
                "missing": float(values.isna().mean()) if len(values) else 0.0,
                "percentiles": np.percentile(present, np.arange(101)).round(6).tolist() if len(present) else [],
            }
    for column in categories:
        if column in frame:
            values = frame[column].astype(object).where(frame[column].notna(), MISSING).astype(str)
            shares = values.value_counts(normalize=True)
            out[column] = {"kind": "category", "shares": {k: round(float(v), 6) for k, v in shares.items()}}
    return out


def psi(first: dict, second: dict) -> dict:
    """``{feature: {"psi", "reading"}}`` of every feature both profiles have, the largest shift
    first (ties by name)."""
    out = {}
    for name in first.keys() & second.keys():
        a, b = first[name], second[name]
        if a["kind"] != b["kind"]:
            continue
        shares = _category_shares(a, b) if a["kind"] == "category" else _number_shares(a, b)
        if shares is None:
            continue
        x, y = (np.maximum(s, FLOOR) for s in shares)
        value = float(((y - x) * np.log(y / x)).sum())
        out[name] = {"psi": round(value, 4), "reading": reading(value)}
    return dict(sorted(out.items(), key=lambda item: (-item[1]["psi"], item[0])))


def reading(value: float) -> str:
    return "stable" if value < STABLE else "moderate" if value <= MODERATE else "significant"


def _category_shares(a: dict, b: dict) -> tuple[np.ndarray, np.ndarray]:
    values = sorted(a["shares"].keys() | b["shares"].keys())
    return np.array([a["shares"].get(v, 0.0) for v in values]), np.array([b["shares"].get(v, 0.0) for v in values])


def _number_shares(a: dict, b: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """The shares of each of ``a``'s decile bins (and of missing values) in ``a`` and in ``b``."""
    if not a["percentiles"] or not b["percentiles"]:
        return None
    edges = np.unique(np.asarray(a["percentiles"])[10:100:10])  # the inner deciles: up to 10 bins
    levels = np.arange(101) / 100.0
    below_a = _cdf(a["percentiles"], levels, edges)
    below_b = _cdf(b["percentiles"], levels, edges)
    share_a = np.diff(np.concatenate([[0.0], below_a, [1.0]])) * (1 - a["missing"])
    share_b = np.diff(np.concatenate([[0.0], below_b, [1.0]])) * (1 - b["missing"])
    return np.append(share_a, a["missing"]), np.append(share_b, b["missing"])


def _cdf(percentiles: list, levels: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The share of values at or below each edge, read off a profile's percentiles."""
    points = np.asarray(percentiles, dtype=np.float64)
    below = np.array([levels[points <= edge].max() if (points <= edge).any() else 0.0 for edge in edges])
    return np.clip(below, 0.0, 1.0)
