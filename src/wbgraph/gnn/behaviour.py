"""What each customer did lately, as known at a question's date: the customer features of bank data.

A monthly holdings extract says more than which products a customer holds: whether its
product count is rising or falling, what it took up or let go in the last month, which
products it dropped and took up again (payroll, pension payroll and direct debit switch on
and off). Under the as-of protocol the transactions are summed per period, one horizon
long (:mod:`wbgraph.gnn.asof`), so these are exact at every boundary and use nothing on or
after it. Three groups, which a run adds by name (``behaviour``; none by default: none helped
on validation on the data we have, docs/benchmarks.md):

- ``trajectory``: how many products the customer used in each of the last three periods;
- ``changes``: the count's change from the period before, the products first taken in the
  last period, and those used the period before but not in the last one;
- ``reactivations``: products used, then not for at least a period, then used again (ever),
  and those taken up again in the last period.

A feature that takes one value for every customer at the question the model learns from
(e.g. three periods deep with only two periods before it) carries nothing the model could
learn, and is left out (:meth:`wbgraph.gnn.data.Encoders.fit_behaviour`). The latest
protocol has no periods, hence none of these.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from ..config import BEHAVIOUR

if TYPE_CHECKING:
    import pandas as pd

GROUPS = {
    "trajectory": ("productsLastPeriod", "productsPeriodBefore", "productsTwoPeriodsBefore"),
    "changes": ("productCountChange", "productsTakenUp", "productsDropped"),
    "reactivations": ("productsReactivatedEver", "productsReactivated"),
}
assert tuple(GROUPS) == BEHAVIOUR, "config.BEHAVIOUR names the groups a run may add"
FEATURES = tuple(name for names in GROUPS.values() for name in names)
SIGNED = {"productCountChange"}  # a change: sign kept, log scale of its size; the others are counts


def behaviour(
    parts: pd.DataFrame,
    customer: np.ndarray,
    product: np.ndarray,
    boundary: int,
    n_customers: int,
    n_products: int,
    start: int,
) -> dict[str, np.ndarray]:
    """Each of :data:`FEATURES` per customer (model order) as known before boundary ``boundary``.

    ``parts`` are the per-period sums (one row per customer, product and period), ``customer``
    and ``product`` their rows' model indices (-1: not in the model); ``start`` the data's
    first period. A feature that looks back before it is unknown (NaN), not zero: in the data's
    first period every holding would look newly taken up.
    """
    period = parts["period"].to_numpy()
    keep = (period <= boundary) & (customer >= 0) & (product >= 0)
    c, p, t = customer[keep].astype(np.int64), product[keep].astype(np.int64), period[keep].astype(np.int64)
    key = c * n_products + p

    def per_customer(rows: np.ndarray) -> np.ndarray:
        return np.bincount(c[rows], minlength=n_customers).astype("float64")

    out = {name: per_customer(t == boundary - back) for back, name in enumerate(GROUPS["trajectory"])}
    out["productCountChange"] = out["productsLastPeriod"] - out["productsPeriodBefore"]
    order = np.lexsort((t, key))  # each pair's periods in order
    k, tt = key[order], t[order]
    first_of_pair = np.r_[True, k[1:] != k[:-1]]
    heads = np.flatnonzero(first_of_pair)
    first = np.repeat(tt[heads], np.diff(np.r_[heads, len(k)]))  # each row's pair's first period
    previous = np.where(first_of_pair, -1, np.r_[-1, tt[:-1]])  # the pair's period before this row's
    pair_customer = c[order]
    now = tt == boundary
    out["productsTakenUp"] = np.bincount(pair_customer[now & (first == boundary)], minlength=n_customers)
    used_before = tt == boundary - 1
    still = np.isin(k[used_before], k[now])
    out["productsDropped"] = np.bincount(pair_customer[used_before][~still], minlength=n_customers)
    resumed = (previous >= 0) & (tt - previous > 1)  # used again after a period or more without
    out["productsReactivatedEver"] = np.bincount(pair_customer[resumed], minlength=n_customers)
    out["productsReactivated"] = np.bincount(pair_customer[resumed & now], minlength=n_customers)
    looks_back = dict.fromkeys(("productsPeriodBefore", *GROUPS["changes"]), 1)
    looks_back |= dict.fromkeys(("productsTwoPeriodsBefore", *GROUPS["reactivations"]), 2)
    return {
        name: np.asarray(out[name], dtype="float64")
        if boundary - looks_back.get(name, 0) >= start
        else np.full(n_customers, np.nan)
        for name in FEATURES
    }


def transform(name: str, values: np.ndarray) -> np.ndarray:
    """Counts on a log scale; a change keeps its sign."""
    if name in SIGNED:
        return np.sign(values) * np.log1p(np.abs(values))
    return np.log1p(values)


def expand(groups: Iterable[str]) -> tuple[str, ...]:
    """The features of ``groups`` (names of :data:`GROUPS`), in :data:`FEATURES` order."""
    chosen = {name for group in groups for name in GROUPS[group]}
    return tuple(name for name in FEATURES if name in chosen)
