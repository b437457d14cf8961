"""The propensity model banks already run: a gradient-boosted tree over (customer, candidate product) pairs.

The Santander product-recommendation competition was won this way: for every customer and
every product it does not hold, one row of features, labelled by whether the customer took
the product in the next window; LightGBM (binary objective) learns the chance; a customer's
candidates are ranked by it. Here the rows are made from the same questions the GAT answers
(:attr:`wbgraph.gnn.data.Prepared.history`): each earlier window gives training rows with
known answers, and the question asked gives the rows to score.

Features of a pair, all as known at the question's date:

- the customer's attributes (categories as categories, numbers as numbers) and the
  product's (its identity, type and category, up to :data:`MAX_CANDIDATES` products), the
  mapping's ``model = true`` properties of both among them, and the customer's behaviour
  features when the run adds them (``--behaviour``);
- the customer's holdings: each product held ever and held within the last horizon (up to
  :data:`HOLDING_COLUMNS` products; beyond, their counts), how many, how long since its
  latest adoption and since its first, how many it took in the last horizon;
- the product's popularity (share of customers holding it), its popularity among recent
  adoptions (within the last horizon; under the latest protocol, customers' latest
  adoptions) and within the customer's peer group;
- EASE's score of the pair (the regularisation EASE chose on validation);
- with corporate groups (a hierarchy loaded, not ignored): the share of the rest of the
  customer's group holding the product (``groupShare``), what the group popularity baseline
  ranks by.

Candidates: every product the customer does not hold when there are at most
:data:`MAX_CANDIDATES` products, else its top :data:`MAX_CANDIDATES` by EASE.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd
import torch

from ..graphmodel import features_of
from .data import Side, Stage, group_codes, group_popularity
from .ease import ease
from .split import latest_first

MAX_CANDIDATES = 200
HOLDING_COLUMNS = 64
MAX_TREES = 400
CHECKPOINTS = (25, 50, 100, 150, 200, 300, 400)
PARAMETERS = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_child_samples": 50,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}
# the graph model's properties the tree reads (graphmodel.Property.tree)
CUSTOMER_CATEGORIES = features_of("Customer", ("category",), tree=True)
CUSTOMER_NUMBERS = features_of("Customer", ("number", "log"), tree=True)
PRODUCT_CATEGORIES = features_of("Product", ("category",), tree=True)
# the pair's chance may only rise with these: a window's popularity figures cannot stand in for a
# product's identity (with a few windows a tree otherwise splits on their exact values, which move)
INCREASING = ("popularity", "recentPopularity", "segmentPopularity", "ease")


def train_rows(history: list[Stage], side: Side, lam: float) -> tuple[pd.DataFrame, np.ndarray]:
    """``(features, labels)`` of every candidate pair of every customer known at each question in ``history``."""
    frames, labels = [], []
    for task in history:
        customers = np.unique(task.customer)
        features, c, p = pair_features(task, side, lam, customers)
        frames.append(features)
        labels.append(task.answers()[torch.as_tensor(c), torch.as_tensor(p)].numpy())
    return pd.concat(frames, ignore_index=True), np.concatenate(labels).astype("float32")


def fit(history: list[Stage], side: Side, lam: float, trees: int | None = None) -> object:
    """LightGBM trained on ``history``'s candidate pairs (``trees`` boosting rounds; default
    :data:`MAX_TREES`, read when called)."""
    import lightgbm

    features, labels = train_rows(history, side, lam)
    parameters = PARAMETERS | {"seed": side.seed, "num_threads": os.cpu_count() or 1}
    parameters["monotone_constraints"] = [1 if name in INCREASING else 0 for name in features.columns]
    rows = lightgbm.Dataset(features, labels, free_raw_data=True)
    return lightgbm.train(parameters, rows, num_boost_round=trees or MAX_TREES)


def score(booster: object, task: Stage, side: Side, lam: float, trees: int | None = None) -> torch.Tensor:
    """The chance (as log-odds) of each candidate pair of ``task``'s customers (those with something
    known) as a [customers, products] score matrix; other pairs get the lowest score."""
    return scores_at(booster, task, side, lam, (trees or booster.num_trees(),))[0]


def scores_at(booster: object, task: Stage, side: Side, lam: float, checkpoints: tuple[int, ...]) -> list:
    """:func:`score` after each of ``checkpoints`` trees (ascending), from one pass over the trees:
    each stretch of trees is predicted once and added to the log-odds so far."""
    n_c, n_p = task.shape
    features, c, p = pair_features(task, side, lam, np.unique(task.customer))
    raw, done, out = np.zeros(len(features)), 0, []
    for trees in checkpoints:
        if len(features) and trees > done:
            raw = raw + booster.predict(features, start_iteration=done, num_iteration=trees - done, raw_score=True)
            done = trees
        matrix = torch.full((n_c, n_p), float("-inf"))
        matrix[torch.as_tensor(c, dtype=torch.long), torch.as_tensor(p, dtype=torch.long)] = torch.as_tensor(
            raw, dtype=torch.float32
        )
        out.append(matrix)
    return out


def importance(booster: object) -> dict:
    """Each feature's share of the total gain, largest first (features with none left out)."""
    gains = booster.feature_importance(importance_type="gain")
    total = float(gains.sum()) or 1.0
    pairs = sorted(zip(booster.feature_name(), gains), key=lambda kv: -kv[1])
    return {name: round(float(g) / total, 4) for name, g in pairs if g > 0}


def pair_features(
    task: Stage, side: Side, lam: float, customers: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """``(features, customer index, product index)`` of ``customers``' candidate pairs in ``task``."""
    n_c, n_p = task.shape
    held = task.held()
    x = held.float()
    rows = torch.as_tensor(customers, dtype=torch.long)
    ease_scores = ease(x, lam)[rows] if len(customers) else torch.zeros(0, n_p)
    blocked = held[rows]
    if n_p > MAX_CANDIDATES:
        top = ease_scores.masked_fill(blocked, float("-inf")).topk(MAX_CANDIDATES, dim=1).indices
        chosen = torch.zeros_like(blocked).scatter_(1, top, True) & ~blocked
    else:
        chosen = ~blocked
    local, p = torch.nonzero(chosen, as_tuple=True)
    c = rows[local]
    c_np, p_np = c.numpy(), p.numpy()
    per_customer = _customer_table(task, side, held)
    per_product = _product_table(task, side, x)
    features = per_customer.iloc[c_np].reset_index(drop=True)
    features = pd.concat([features, per_product.iloc[p_np].reset_index(drop=True)], axis=1)
    features["segmentPopularity"] = _segment_share(x, side.segments)[side.segments[c_np], p_np]
    features["ease"] = ease_scores[local, p].numpy()
    group = group_codes(side.customers)
    if group is not None:
        features["groupShare"] = group_popularity(x, group)[c, p].numpy()
    return features, c_np, p_np


def _customer_table(task: Stage, side: Side, held: torch.Tensor) -> pd.DataFrame:
    """One row per customer: attributes and what it holds, as of the question's date."""
    n_c, n_p = task.shape
    out = pd.DataFrame(index=range(n_c))
    for column in CUSTOMER_CATEGORIES:
        if column in side.customers:
            out[column] = pd.Categorical(side.customers[column].astype("string"))
    for column in CUSTOMER_NUMBERS:
        if column in side.customers:
            out[column] = pd.to_numeric(side.customers[column], errors="coerce").to_numpy("float64")
    _extras(out, side.customers, side.features.get("Customer", {}), "customer")
    for name in side.behaviour:  # what the customer did lately, as the model has it (unknown: NaN)
        out[name] = task.behaviour[name] if task.behaviour is not None else np.nan
    recent = _recent(task, side)
    current = _matrix(task, _current_rows(task, side))
    out["holdings"] = held.sum(1).numpy()
    out["current"] = current.sum(1)
    out["recentAdoptions"] = _matrix(task, recent).sum(1)
    first = pd.to_numeric(task.rows["firstDate"], errors="coerce").to_numpy("float64")
    latest = np.full(n_c, np.nan)
    earliest = np.full(n_c, np.nan)
    if len(first):
        np.fmax.at(latest, task.customer, first)
        np.fmin.at(earliest, task.customer, first)
    out["daysSinceLatestAdoption"] = (task.asof - latest) / 86_400.0
    out["daysSinceFirst"] = (task.asof - earliest) / 86_400.0
    if n_p <= HOLDING_COLUMNS:
        names = [re.sub(r"\W", "_", str(n)) for n in side.products["productId"]]  # LightGBM's names: no JSON
        holding = pd.DataFrame(held.numpy().astype("int8"), columns=[f"holds_{n}" for n in names])
        now = pd.DataFrame(current.astype("int8"), columns=[f"current_{n}" for n in names])
        out = pd.concat([out, holding, now], axis=1)
    return out


def _product_table(task: Stage, side: Side, x: torch.Tensor) -> pd.DataFrame:
    """One row per product: what it is and how popular it is, as of the question's date."""
    n_c, n_p = task.shape
    out = pd.DataFrame(index=range(n_p))
    if n_p <= MAX_CANDIDATES:
        out["product"] = pd.Categorical(np.arange(n_p))
    for column in PRODUCT_CATEGORIES:
        if column in side.products:
            out[column] = pd.Categorical(side.products[column].astype("string"))
    _extras(out, side.products, side.features.get("Product", {}), "product")
    known = max(len(np.unique(task.customer)), 1)
    out["popularity"] = x.sum(0).numpy() / known
    out["recentPopularity"] = _matrix(task, _recent(task, side)).sum(0) / known
    return out


def _extras(out: pd.DataFrame, table: pd.DataFrame, kinds: dict, prefix: str) -> None:
    """The mapping's ``model = true`` properties as columns of ``out``: categories as categories,
    numbers as numbers (named ``customer_<property>`` / ``product_<property>``)."""
    for prop, kind in kinds.items():
        if prop not in table:
            continue
        name = f"{prefix}_{prop}"  # a mapping's extra name is letters, digits and _ already
        if kind == "category":
            out[name] = pd.Categorical(table[prop].astype("string"))
        else:
            out[name] = pd.to_numeric(table[prop], errors="coerce").to_numpy("float64")


def _recent(task: Stage, side: Side) -> np.ndarray:
    """Rows adopted within the last horizon before the question (latest protocol: each customer's latest)."""
    if side.horizon_days is None:
        return latest_first(task.rows) == 0 if len(task.rows) else np.zeros(0, dtype=bool)
    first = pd.to_numeric(task.rows["firstDate"], errors="coerce").to_numpy("float64")
    return first >= task.asof - side.horizon_days * 86_400.0


def _current_rows(task: Stage, side: Side) -> np.ndarray:
    """Rows held within the last horizon before the question (latest protocol: every row)."""
    if side.horizon_days is None:
        return np.ones(len(task.rows), dtype=bool)
    last = pd.to_numeric(task.rows["lastDate"], errors="coerce").to_numpy("float64")
    return last >= task.asof - side.horizon_days * 86_400.0


def _matrix(task: Stage, rows: np.ndarray) -> np.ndarray:
    """The selected rows of ``task`` as a 0/1 [customers, products] array."""
    out = np.zeros(task.shape, dtype="float32")
    out[task.customer[rows], task.product[rows]] = 1.0
    return out


def _segment_share(x: torch.Tensor, segments: np.ndarray) -> np.ndarray:
    """[segments, products]: the share of each peer group's customers holding each product."""
    seg = torch.tensor(np.asarray(segments), dtype=torch.long)
    groups = int(seg.max()) + 1 if len(seg) else 1
    totals = torch.zeros(groups, x.shape[1]).index_add_(0, seg, x)
    sizes = torch.bincount(seg, minlength=groups).clamp(min=1).float()
    return (totals / sizes[:, None]).numpy()
