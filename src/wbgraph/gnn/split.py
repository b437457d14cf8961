"""The temporal split: what each customer adopted last is what the model must predict.

For every customer with at least ``min_history + 2`` adoptions, ordered by the date of the
first transaction with each product, the latest adoption is held out for testing and the
one before it for validation; all earlier ones are for training. Customers with shorter
histories train only. Ties in date are broken by product ID, so the split is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class Split:
    """Boolean masks over the rows of an interactions table."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def sizes(self) -> dict:
        return {"train": int(self.train.sum()), "val": int(self.val.sum()), "test": int(self.test.sum())}


def temporal_split(interactions: pd.DataFrame, min_history: int = 1) -> Split:
    """Hold out each customer's latest adoption (test) and the one before (validation)."""
    order = interactions.sort_values(["customerId", "firstDate", "productId"], kind="stable")
    position_from_end = order.groupby("customerId").cumcount(ascending=False).reindex(interactions.index).to_numpy()
    history = interactions.groupby("customerId")["productId"].transform("size").to_numpy()
    eligible = history >= min_history + 2
    test = eligible & (position_from_end == 0)
    val = eligible & (position_from_end == 1)
    return Split(train=~(test | val), val=val, test=test)
