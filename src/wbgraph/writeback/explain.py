"""Reasons for each recommendation, from what the model attended to and what the graph holds.

Four kinds, each a count or share read off the graph, never canned text:

* **group**, first, for a member of a corporate group (``wbgraph ingest --hierarchy``) whose
  group already uses the product: its consolidation parent, named (or its ID, without a
  name), when that uses it, and since when; how many of its sister companies (the parent's
  other subsidiaries) use it, or else how many of the other companies of its group;

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

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

if TYPE_CHECKING:
    from torch_geometric.data import HeteroData

    from ..gnn.model import HeteroGATRecommender

MIN_TOGETHER = 3  # co-adopters needed before "taken together" is said
KINDS = ("group", "together", "similar", "peers")  # Reason.kind: the four kinds above, in that order
GROUP_PREFIX = "in its corporate group: "  # how a group reason starts (wbgraph forget finds them by it)


class Reason(str):
    """One reason: its sentence (the string itself), and what the sentence says as data.

    ``kind`` is one of :data:`KINDS`; ``cites`` what it cites (the parent named, else the
    group's ultimate parent; the product taken together with it, the segment, the peer group
    ``type|industry``); ``share`` the share of ``count`` customers (the sister companies or
    the rest of the group, the product's holders, the segment's customers of that industry,
    the peers) who hold the recommended product. The writeback stores the fields beside the sentences, on
    the customer (``recommendationReasonRanks``, ``...Kinds``, ``...Cites``, ``...Shares``,
    ``...Counts``), so an analyst can filter on them in Cypher (``queries/recommendations_by_reason``).
    """

    kind: str
    cites: str
    share: float
    count: int

    def __new__(cls, text: str, kind: str, cites: str, share: float, count: int) -> Reason:
        reason = super().__new__(cls, text)
        reason.kind, reason.cites, reason.share, reason.count = kind, cites, float(share), int(count)
        return reason


@dataclass
class Groups:
    """What group reasons read of the corporate groups, in model order: each customer's group
    (``group``: a code, -1 alone) and consolidation parent (``parent``: its ID or None, and
    ``parent_name``), with the first date each customer used each product (``first``:
    ``{(customer index, product index): epoch seconds}``, for the parents' holdings)."""

    group: np.ndarray
    group_key: list  # each customer's ultimate parent (None alone)
    parent: list
    parent_name: list
    parent_index: np.ndarray  # the parent's model index, -1 without one or when it is not a client
    first: dict


def group_structure(customers: pd.DataFrame, parents: dict, interactions: pd.DataFrame, product_ids: list) -> Groups:
    """:class:`Groups` of ``customers`` (the model-order table, with ``ultimateParentId``) from
    ``parents`` (``{customerId: (parentId, parentName)}``, the graph's SUBSIDIARY_OF tree) and the
    interactions' first dates (epoch seconds, ``firstDate``) of the customers that are parents."""
    from ..graphmodel import GROUP_KEY

    ids = customers["customerId"].tolist()
    key = customers[GROUP_KEY] if GROUP_KEY in customers else pd.Series([None] * len(ids), dtype=object)
    parent = [parents.get(c, (None, None)) for c in ids]
    index = {c: i for i, c in enumerate(ids)}
    product_index = {q: i for i, q in enumerate(product_ids)}
    parent_ids = {pid for pid, _ in parent if pid is not None}
    rows = interactions[interactions["customerId"].isin(parent_ids)]
    first = {
        (index[c], product_index[q]): t
        for c, q, t in zip(rows["customerId"], rows["productId"], rows["firstDate"])
        if c in index and q in product_index and t == t
    }
    return Groups(
        pd.factorize(key.reset_index(drop=True))[0],
        [k if isinstance(k, str) else None for k in key],
        [pid for pid, _ in parent],
        [name for _, name in parent],
        np.array([index.get(pid, -1) if pid is not None else -1 for pid, _ in parent], dtype=np.int64),
        first,
    )


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
    groups: Groups | None = None,
) -> list[list[list[Reason]]]:
    """Reasons for every pick, each a :class:`Reason` (a sentence with its figures as data):
    ``picks[c, k]`` is a product index (-1 = none) for customer ``c``.

    ``held`` bool and ``attended`` float are ``[customers, products]``; ``segments``,
    ``industry`` (names) and ``peer_group`` (type x industry: names or codes) are per customer.
    The figures are computed for all customers at once, ``chunk`` customers at a time.
    ``groups``: the corporate groups (:func:`group_structure`), for group reasons; None: none.
    """
    figures = _Figures(held, segments, industry, peer_group, product_ids, product_types)
    in_group = _GroupFigures(groups, held) if groups is not None and (groups.group >= 0).any() else None
    out = []
    for first in range(0, len(picks), chunk):
        rows = slice(first, first + chunk)
        p = np.clip(picks[rows], 0, None)
        weight = (attended[rows] * held[rows])[:, None, :] * figures.usable[p]  # [c, k, q]
        best_q, found_q = weight.argmax(-1), weight.max(-1) > 0
        for i, c in enumerate(range(first, min(first + chunk, len(picks)))):
            per_customer = []
            for k, product in enumerate(picks[c]):
                if product < 0:
                    per_customer.append([])
                    continue
                found = [in_group.reason(c, product, product_ids)] if in_group is not None else []
                found = [x for x in found if x is not None]
                found += [figures.together(best_q[i, k], product)] if found_q[i, k] else []
                found += [figures.similar(c, product)] if figures.adopters(c, product) else []
                per_customer.append(found or [figures.peers(c, product)])
            out.append(per_customer)
    return out


class _Figures:
    """What the reasons cite, counted once for all customers: co-adoption of the products, and
    holders in each segment x industry group and in each peer group (type x industry)."""

    def __init__(
        self,
        held: np.ndarray,
        segments: np.ndarray,
        industry: np.ndarray,
        peer_group: np.ndarray,
        product_ids: list[str],
        product_types: list[str],
    ):
        held_f = held.astype(np.float64)
        self.share, self.holders, self.usable = _co_adoption(held_f)
        self.group_of, self.group_held = _segment_industry_holders(segments, industry, held_f)
        self.group_of = self.group_of.ravel()
        self.group_size = np.bincount(self.group_of, minlength=self.group_held.shape[0])
        self.peer_of, self.peer_size, self.peer_share = _peer_shares(peer_group, held_f)
        self.peer_of = self.peer_of.ravel()
        self.segments, self.industry, self.peer_group = segments, industry, peer_group
        self.product_ids, self.product_types = product_ids, product_types

    def together(self, q: int, product: int) -> Reason:
        """Often taken together with ``q``, a product the customer uses."""
        ids, types = self.product_ids, self.product_types
        return Reason(
            f"often taken together with {ids[q]}"
            + (f" ({types[q]})" if types[q] else "")
            + ", which this customer uses: "
            f"{self.share[q, product]:.0%} of its {int(self.holders[q])} holders also use {ids[product]}",
            "together",
            ids[q],
            self.share[q, product],
            self.holders[q],
        )

    def adopters(self, c: int, product: int) -> int:
        """Customers of ``c``'s segment and industry who hold ``product``."""
        return int(self.group_held[self.group_of[c], product])

    def similar(self, c: int, product: int) -> Reason:
        """Adopted by customers of the same segment and industry."""
        n, size, industry = self.adopters(c, product), int(self.group_size[self.group_of[c]]), self.industry[c]
        return Reason(
            f"adopted by {n} {industry + ' ' if industry else ''}customer{'s' if n > 1 else ''} "
            f"in segment {self.segments[c]}, whom the model sees as similar to this one",
            "similar",
            f"{self.segments[c]}|{industry}",
            n / max(size, 1),
            size,
        )

    def peers(self, c: int, product: int) -> Reason:
        """Held by a share of the customers of the same type and industry."""
        group = self.peer_of[c]
        return Reason(
            f"held by {self.peer_share[group, product]:.0%} of the "
            f"{int(self.peer_size[group])} customers of this type and industry",
            "peers",
            str(self.peer_group[c]),
            self.peer_share[group, product],
            self.peer_size[group],
        )


class _GroupFigures:
    """Holders of each product in each group and among each parent's subsidiaries, counted once."""

    def __init__(self, groups: Groups, held: np.ndarray):
        self.groups, self.held = groups, held
        self.group_held, self.group_size = _holders_by(groups.group, held)
        self.sister_of = pd.factorize(pd.Series(groups.parent, dtype=object))[0]  # -1: no parent
        self.sister_held, self.sisters = _holders_by(self.sister_of, held)
        self.parent_at = groups.parent_index

    def reason(self, c: int, product: int, product_ids: list[str]) -> Reason | None:
        """The group reason for recommending ``product`` to customer ``c``, or None."""
        g, parts = self.groups, []
        cites, share, count = g.group_key[c], 1.0, 1
        parent = self.parent_at[c]
        if parent >= 0 and self.held[parent, product]:
            since = g.first.get((parent, product))
            when = f" since {pd.Timestamp(since, unit='s'):%B %Y}" if since is not None else ""
            parts.append(f"its parent {g.parent_name[c] or g.parent[c]} has used {product_ids[product]}{when}")
            cites = g.parent[c]
        sisters = self.sister_of[c]
        if sisters >= 0 and self.sisters[sisters] > 1:
            n, m = int(self.sister_held[sisters, product] - self.held[c, product]), int(self.sisters[sisters] - 1)
            if n:
                parts.append(f"{n} of its {m} sister {_companies(m)} use{'s' if n == 1 else ''} it")
                share, count = n / m, m
        group = g.group[c]
        if not parts and group >= 0 and self.group_size[group] > 1:
            n, m = int(self.group_held[group, product] - self.held[c, product]), int(self.group_size[group] - 1)
            if n:
                parts.append(f"{n} of the {m} other {_companies(m)} of its group use{'s' if n == 1 else ''} it")
                share, count = n / m, m
        return Reason(GROUP_PREFIX + "; ".join(parts), "group", cites, share, count) if parts else None


def _companies(n: int) -> str:
    return "company" if n == 1 else "companies"


def _holders_by(code: np.ndarray, held: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(holders of each product per code, customers per code)``; customers coded -1 count nowhere."""
    member = code >= 0
    n = int(code.max()) + 1 if member.any() else 0
    counts = np.zeros((n, held.shape[1]), dtype=np.int64)
    np.add.at(counts, code[member], held[member].astype(np.int64))
    return counts, np.bincount(code[member], minlength=n)


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
