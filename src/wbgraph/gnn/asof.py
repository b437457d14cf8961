"""The as-of protocol: a bank's question at a cutoff, answered with only what was known before it.

*At the cutoff, which products will each customer newly take within the horizon?* The
transactions are read once, summed per customer, product and **period**: the periods lie
between boundaries one horizon apart, ``..., cutoff - 2H, cutoff - H, cutoff, cutoff + H``,
going back to the earliest transaction (or ``--since``). The interactions as known at any
boundary are the sum of the periods before it (:func:`known_before`), so every view of the
past is a pure function of the transactions before its date: nothing summed past it leaks in.

- **test**: what each customer knew before the cutoff, and the products it first takes in
  ``[cutoff, cutoff + H)`` (never held before the cutoff);
- **validation**: the same question one horizon earlier: known before ``cutoff - H``, first
  taken in ``[cutoff - H, cutoff)``;
- **training windows**: the same question at each earlier boundary, as many as the data has.

Only customers and products seen before the cutoff are known: one first seen on or after it
is left out (of the model, the baselines and the answers). A question's answers count only
customers known at its own date. Customer and product attributes are as stored (the graph
keeps the latest values), a known limit of every attribute-using method.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import NotEnoughData
from ..horizon import Horizon, parse_date  # noqa: F401  (the protocol's units, re-exported)

MAX_PERIODS = 1_000


def boundaries(cutoff: pd.Timestamp, horizon: Horizon, earliest: pd.Timestamp | None) -> list[pd.Timestamp]:
    """``[cutoff - mH, ..., cutoff - H, cutoff, cutoff + H]``, ``m`` the fewest that reach back to ``earliest``.

    Each is computed from the cutoff (not from its neighbour), so calendar months do not drift.
    """
    out, k = [cutoff, horizon.shift(cutoff, 1)], 1
    while earliest is not None and out[0] > earliest:
        if k > MAX_PERIODS:
            raise NotEnoughData(
                f"The data reaches back more than {MAX_PERIODS} horizons of {horizon} before the cutoff: "
                "choose a longer horizon or a later --since."
            )
        out.insert(0, horizon.shift(cutoff, -k))
        k += 1
    return out


def epoch(when: pd.Timestamp) -> float:
    """Epoch seconds, as the exporter gives dates."""
    return float(when.timestamp())


def periods_of(dates: pd.Series, bounds: list[float]) -> np.ndarray:
    """Each date's period: how many boundaries lie at or before it (as the export's Cypher counts)."""
    return np.searchsorted(np.asarray(bounds, dtype="float64"), dates.to_numpy(dtype="float64"), side="right")


def known_before(parts: pd.DataFrame, boundary: int | None) -> pd.DataFrame:
    """The interactions as known before boundary number ``boundary`` (None: all of them).

    ``parts`` holds one row of sums, counts and bounds per (customer, product, period)
    (:func:`wbgraph.loaders.ingest.usage_parts`' columns and ``period``); the interactions
    are their sums over the periods before the boundary, as ``USES`` would have been then.
    """
    from ..loaders.usage import finish_usage, merge_usage

    rows = parts if boundary is None else parts[parts["period"] <= boundary]
    if not len(rows):
        return finish_usage(merge_usage([parts.iloc[:0]]))
    return finish_usage(merge_usage([rows.drop(columns="period")]))


def first_periods(parts: pd.DataFrame) -> pd.DataFrame:
    """Each (customer, product) pair's first period: the window in which the customer took it."""
    return parts.groupby(["customerId", "productId"], sort=False)["period"].min().reset_index()
