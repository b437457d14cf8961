"""Item-item baselines: item kNN, RP3beta and EASE read through a recency decay.

Each scores a customer's unheld products by how strongly the products it holds point at
them; they differ in the item-item weights. ``X`` is the customers x products 0/1 matrix of
what each customer holds.

- **item kNN**: cosine similarity with a shrinkage term, each product keeping only its
  ``neighbours`` most similar products (Sarwar et al. 2001; shrinkage as in Koren 2008).
- **RP3beta** (Paudel et al. 2017): the probability of a three-step random walk customer ->
  product -> customer -> product, transition probabilities raised to ``alpha``, divided by the
  target's popularity to the power ``beta``.
- **EASE-recency**: EASE's weights ``B`` (:mod:`wbgraph.gnn.ease`) applied to a customer's
  holdings weighted by ``0.5 ** (age / half_life)``: the most recent holdings speak loudest.
  Age counts adoptions back from the customer's latest (0 = latest), or days before the date
  the question is asked (since the adoption, or since the product was last held).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .ease import ease_weights, gram
from .split import latest_first


def item_knn(
    train: torch.Tensor, neighbours: int | None = None, shrink: float = 0.0, co: torch.Tensor | None = None
) -> torch.Tensor:
    """Item co-occurrence kNN: products often held together with the customer's products.

    ``similarity(i, j) = co(i, j) / (|i| |j| + shrink)`` with ``|i|`` the square root of i's
    holders; for each product ``j`` only its ``neighbours`` most similar products vote (None:
    all). Ties in the scores are broken by popularity. ``co``: ``X'X``, when the caller kept it.
    """
    co = train.T @ train if co is None else co
    norms = torch.sqrt(torch.diag(co)).clamp(min=1e-9)
    similarity = co / (norms[:, None] * norms[None, :] + shrink)
    similarity.fill_diagonal_(0.0)
    n_p = similarity.shape[0]
    tie = 1e-3 * train.sum(0, keepdim=True) / max(float(train.shape[0]), 1.0)
    if neighbours is None or neighbours >= n_p - 1:
        return train @ similarity + tie
    top = similarity.topk(neighbours, dim=0)  # per target product j (column): its most similar products i
    rows = top.indices.reshape(-1)
    columns = torch.arange(n_p).repeat(neighbours)
    kept = torch.sparse_coo_tensor(
        torch.stack([columns, rows]), top.values.reshape(-1), (n_p, n_p), check_invariants=False
    )
    return torch.sparse.mm(kept.coalesce(), train.T).T + tie  # (S' X')' = X S, S sparse


def rp3beta(train: torch.Tensor, alpha: float = 1.0, beta: float = 0.5) -> torch.Tensor:
    """RP3beta scores: ``X W`` with ``W = (P_pc^alpha P_cp^alpha) / popularity^beta``, zero diagonal.

    ``P_cp`` is ``X`` with each customer's row divided by its holdings, ``P_pc`` ``X'`` with
    each product's row divided by its holders. With fewer customers than products the
    products x products ``W`` is never formed: ``X W = ((X P_pc^a) P_cp^a) / pop^b`` less the
    diagonal's share.
    """
    x = train.double()
    holdings = x.sum(1, keepdim=True).clamp(min=1.0)
    holders = x.sum(0, keepdim=True).clamp(min=1.0)
    p_cp = (x / holdings) ** alpha  # customer -> product
    p_pc = (x / holders) ** alpha  # product -> customer, as columns: [customers, products]
    scale = holders.squeeze(0) ** -beta
    n_c, n_p = x.shape
    if n_c < n_p:
        walked = (x @ p_pc.T) @ p_cp  # X P_pc^a P_cp^a
        diagonal = (p_pc * p_cp).sum(0)  # W's diagonal before the popularity scale
        out = (walked - x * diagonal[None, :]) * scale[None, :]
    else:
        w = p_pc.T @ p_cp
        w.fill_diagonal_(0.0)
        out = (x @ w) * scale[None, :]
    return (out + 1e-9 * holders).float()


DECAYS = ("adoptions", "days since adoption", "days since held")
HALF_LIVES = {"adoptions": (1.0, 2.0, 4.0, 8.0, 16.0), "days since adoption": (30.0, 90.0, 365.0)}
HALF_LIVES["days since held"] = HALF_LIVES["days since adoption"]


def recency_weights(rows: pd.DataFrame, asof: float, decay: str, half_life: float) -> np.ndarray:
    """``0.5 ** (age / half_life)`` of each interaction row (its age by ``decay``, see the module)."""
    if decay == "adoptions":
        age = latest_first(rows).astype("float64")
    else:
        column = "firstDate" if decay == "days since adoption" else "lastDate"
        age = np.clip((asof - pd.to_numeric(rows[column], errors="coerce").to_numpy("float64")) / 86_400.0, 0, None)
        age = np.nan_to_num(age, nan=0.0)
    return 0.5 ** (age / half_life)


class EaseSolver:
    """EASE's weights for one matrix ``X`` and ``lam``, kept to score many weightings ``W`` of it: ``W B``.

    With more customers than products ``B`` itself (products x products); with fewer, the
    customers x customers pieces (Woodbury, as :func:`wbgraph.gnn.ease.ease`):
    ``W B = W - W P / diag(P)``, ``W P = (W - (W X') K^-1 X) / lam``, ``K = X X' + lam I``.
    """

    def __init__(self, train: torch.Tensor, lam: float):
        self.lam = lam
        self.x = train  # float32: the customers x products matrix is copied to float64 a block at a time
        n_c, n_p = train.shape
        self.wide = n_c < n_p
        if self.wide:
            x = train.double()
            self.kx = torch.linalg.solve(x @ x.T + lam * torch.eye(n_c, dtype=torch.float64), x)
            self.diagonal = (1.0 - (x * self.kx).sum(0)) / lam
        else:
            self.b = ease_weights(gram(train), lam)

    def scores(self, weights: torch.Tensor) -> torch.Tensor:
        """``W B`` for a customers x products weighting ``W`` of ``X`` (``X`` itself: EASE's scores)."""
        if self.wide:
            w, x = weights.double(), self.x.double()
            wp = (w - (w @ x.T) @ self.kx) / self.lam
            return (w - wp / self.diagonal[None, :]).float()
        out = torch.empty(weights.shape, dtype=torch.float32)
        for rows in torch.arange(weights.shape[0]).split(20_000):
            out[rows] = (weights[rows].double() @ self.b).float()
        return out
