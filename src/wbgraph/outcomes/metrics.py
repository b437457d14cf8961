"""Acceptance rates of the offers made: by run, rank, segment, product and relationship manager,
each with its counts and a 95% interval (Wilson's), for ``wbgraph report`` and ``wbgraph
evaluate --outcomes``. A rate is accepted offers over all offers with an outcome (declined and
no-response ones included)."""

from __future__ import annotations

import math

import neo4j
import pandas as pd

from ..config import Settings
from ..db import read

BY = {"run": "runId", "rank": "rank", "segment": "segment", "product": "productId", "rm": "rm"}
Z = 1.959964  # the normal quantile of a 95% interval


def acceptance(driver: neo4j.Driver, settings: Settings) -> dict:
    """``{"overall": row, "run": [rows], "rank": [...], "segment": [...], "product": [...],
    "rm": [...]}``, a row being ``{value, offers, accepted, declined, noResponse, rate, low,
    high}``; offers without the value (no run, no rank, ...) are left out of that breakdown.
    Empty when the graph holds no offers."""
    columns = read(driver, settings, "outcomes/offer_outcomes")[0].data()
    offers = pd.DataFrame(columns)
    if offers.empty:
        return {}
    out = {"overall": _row("all", offers)}
    for name, column in BY.items():
        known = offers[(offers[column] != "") & (offers[column] != 0)]
        out[name] = [_row(value, group) for value, group in known.groupby(column, sort=True)]
    return out


def _row(value: object, offers: pd.DataFrame) -> dict:
    n, accepted = len(offers), int((offers["outcome"] == "accepted").sum())
    low, high = wilson(accepted, n)
    return {
        "value": value.item() if hasattr(value, "item") else value,
        "offers": n,
        "accepted": accepted,
        "declined": int((offers["outcome"] == "declined").sum()),
        "noResponse": int((offers["outcome"] == "no-response").sum()),
        "rate": accepted / n,
        "low": low,
        "high": high,
    }


def wilson(successes: int, n: int) -> tuple[float, float]:
    """The 95% Wilson score interval of a rate (sound at small counts and rates near 0 or 1)."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return max(0.0, centre - half), min(1.0, centre + half)
