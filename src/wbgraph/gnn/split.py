"""The per-customer temporal split: what each customer adopted last is what a model must predict.

Each customer's interactions are ordered by the date of the first transaction with each
product; ties in date are broken by product ID (then by row order), so the split is the
same on every run. For a customer with ``n >= 3`` interactions:

- **test**: the latest ``max(1, floor(holdout_share * n))`` interactions;
- **validation**: of the ``m`` that remain, the latest ``max(1, floor(holdout_share * m))``;
- **training**: the rest (at least one).

Customers with fewer than 3 interactions train only. The test part is read once per reported
figure; every choice (hyperparameters, early stopping, a baseline's regularisation) is made
on the validation part by models fitted on the training part. With the default share of
0.2 a customer with fewer than 10 interactions holds out exactly its latest one for testing
and the one before for validation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

HOLDOUT_SHARE = 0.2
MIN_INTERACTIONS = 3  # one each for training, validation and testing


@dataclass
class Split:
    """Boolean masks over the rows of an interactions table."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def sizes(self) -> dict:
        return {"train": int(self.train.sum()), "val": int(self.val.sum()), "test": int(self.test.sum())}


def temporal_split(interactions: pd.DataFrame, holdout_share: float = HOLDOUT_SHARE) -> Split:
    """Hold out each customer's latest interactions for testing and the ones before for validation."""
    if not 0 <= holdout_share < 1:
        raise ValueError(f"holdout_share must be in [0, 1), not {holdout_share!r}")
    position_from_end = latest_first(interactions)
    n = interactions.groupby("customerId")["productId"].transform("size").to_numpy()
    n_test = held_out(n, holdout_share)
    n_val = held_out(n - n_test, holdout_share)
    eligible = n >= MIN_INTERACTIONS
    test = eligible & (position_from_end < n_test)
    val = eligible & ~test & (position_from_end < n_test + n_val)
    return Split(train=~(test | val), val=val, test=test)


def held_out(n: np.ndarray, share: float) -> np.ndarray:
    """How many of ``n`` interactions a share holds out: ``floor(share * n)``, at least one."""
    return np.maximum(1, np.floor(share * np.asarray(n) + 1e-9)).astype(np.int64)


def latest_first(interactions: pd.DataFrame) -> np.ndarray:
    """Each row's position in its customer's history counted from the latest (0 = latest)."""
    order = interactions.sort_values(["customerId", "firstDate", "productId"], kind="stable")
    return order.groupby("customerId").cumcount(ascending=False).reindex(interactions.index).to_numpy()


def supervision_split(interactions: pd.DataFrame, mask: np.ndarray, share: float = HOLDOUT_SHARE) -> np.ndarray:
    """Within the rows ``mask`` selects, the rows a model learns to predict from the others.

    The same rule one level down: each customer with at least two selected rows gives its
    latest ``max(1, floor(share * n))`` of them as targets; the earlier ones are its input.
    Training uses it so that what a model is fitted to predict looks like what it is tested on.
    """
    target = np.zeros(len(interactions), dtype=bool)
    rows = interactions[mask]
    if not len(rows):
        return target
    position_from_end = latest_first(rows)
    n = rows.groupby("customerId")["productId"].transform("size").to_numpy()
    target[np.flatnonzero(mask)] = (n >= 2) & (position_from_end < held_out(n, share))
    return target
