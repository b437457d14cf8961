"""Reasons for each recommendation, from what the model attended to and what the graph holds.

Three kinds, each a count or share read off the graph, never canned text:

* **taken together**: of the products the customer holds, the one whose attention weight
  (how much the model listened to it when representing this customer, first attention
  round, mean over heads) times its co-adoption lift with the recommended product is
  largest, with the share of its holders who also hold the recommended product;
* **similar customers**: how many customers of the same segment (KMeans on the model's
  embeddings) and industry hold the recommended product;
* **peer share**, when neither applies: the share of customers of the same type and
  industry who hold it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from torch_geometric.data import HeteroData

    from ..gnn.model import HeteroGATRecommender

MIN_TOGETHER = 3  # co-adopters needed before "taken together" is said


def attention(model: HeteroGATRecommender, graph: HeteroData) -> torch.Tensor:
    """``[customers, products]``: the first round's attention of each customer to each product it holds
    (:meth:`~wbgraph.gnn.model.HeteroGATRecommender.holdings_attention`)."""
    return model.holdings_attention(graph)


def reasons(
    picks: np.ndarray,
    held: np.ndarray,
    attended: np.ndarray,
    segments: np.ndarray,
    industry: np.ndarray,
    peer_group: np.ndarray,
    product_ids: list[str],
    product_types: list[str],
    chunk: int = 2_048,
) -> list[list[list[str]]]:
    """Reasons for every pick: ``picks[c, k]`` is a product index (-1 = none) for customer ``c``.

    ``held`` bool and ``attended`` float are ``[customers, products]``; ``segments``,
    ``industry`` (names) and ``peer_group`` (type x industry codes) are per customer.
    The figures are computed for all customers at once, ``chunk`` customers at a time.
    """
    held_f = held.astype(np.float64)
    share, holders, usable = _co_adoption(held_f)
    group_of, group_held = _segment_industry_holders(segments, industry, held_f)
    peer_of, peer_size, peer_share = _peer_shares(peer_group, held_f)

    out = []
    for first in range(0, len(picks), chunk):
        rows = slice(first, first + chunk)
        p = np.clip(picks[rows], 0, None)
        weight = (attended[rows] * held[rows])[:, None, :] * usable[p]  # [c, k, q]
        best_q, found_q = weight.argmax(-1), weight.max(-1) > 0
        group = group_of.ravel()[rows]
        for i, c in enumerate(range(first, min(first + chunk, len(picks)))):
            per_customer = []
            for k, product in enumerate(picks[c]):
                if product < 0:
                    per_customer.append([])
                    continue
                found = []
                if found_q[i, k]:
                    q = best_q[i, k]
                    found.append(
                        f"often taken together with {product_ids[q]}"
                        + (f" ({product_types[q]})" if product_types[q] else "")
                        + ", which this customer uses: "
                        f"{share[q, product]:.0%} of its {int(holders[q])} holders also use {product_ids[product]}"
                    )
                n = int(group_held[group[i], product])
                if n:
                    found.append(
                        f"adopted by {n} {industry[c] + ' ' if industry[c] else ''}customer{'s' if n > 1 else ''} "
                        f"in segment {segments[c]}, "
                        "whom the model sees as similar to this one"
                    )
                if not found:
                    found.append(
                        f"held by {peer_share[peer_of.ravel()[c], product]:.0%} of the "
                        f"{int(peer_size[peer_of.ravel()[c]])} customers of this type and industry"
                    )
                per_customer.append(found)
            out.append(per_customer)
    return out


def _co_adoption(held: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(share, holders, usable)`` from ``held`` (float ``[customers, products]``): ``share[q, p]``
    of q's holders who hold p too, each product's holders, and ``usable[p, q]``, the weight of q
    as a reason for p (its lift, where at least :data:`MIN_TOGETHER` hold both and it is above 1)."""
    together = held.T @ held  # [P, P] customers holding both
    holders = np.diag(together).copy()
    share = together / np.maximum(holders[:, None], 1)  # P(p | q)
    base = holders / max(len(held), 1)
    lift = share / np.maximum(base[None, :], 1e-9)
    return share, holders, (lift * (together >= MIN_TOGETHER) * (lift > 1)).T


def _segment_industry_holders(
    segments: np.ndarray, industry: np.ndarray, held: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(group of each customer, holders of each product in each segment x industry group)``."""
    industry_code = np.unique(industry, return_inverse=True)[1]
    groups, group_of = np.unique(np.stack([segments, industry_code]), axis=1, return_inverse=True)
    in_group = np.zeros((groups.shape[1], len(held)))
    in_group[group_of.ravel(), np.arange(len(held))] = 1.0
    return group_of, (in_group @ held).astype(np.int64)


def _peer_shares(peer_group: np.ndarray, held: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(peer group of each customer, each group's size, the share of each group holding each product)``."""
    peer_codes, peer_of = np.unique(peer_group, return_inverse=True)
    peer_size = np.bincount(peer_of.ravel(), minlength=len(peer_codes))
    peer_share = np.zeros((len(peer_codes), held.shape[1]))
    np.add.at(peer_share, peer_of.ravel(), held)
    peer_share /= np.maximum(peer_size[:, None], 1)
    return peer_of, peer_size, peer_share
