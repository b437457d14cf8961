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

import numpy as np
import torch

from .data import REV_USES

MIN_TOGETHER = 3  # co-adopters needed before "taken together" is said


@torch.no_grad()
def attention(model, graph) -> torch.Tensor:
    """``[customers, products]``: the first round's attention of each customer to each product it holds."""
    model.eval()
    h = model.initial(graph.x_dict)
    conv = model.convs[0].convs[REV_USES]
    store = graph[REV_USES]
    _, (index, alpha) = conv((h["product"], h["customer"]), store.edge_index, store.edge_attr, return_attention_weights=True)
    out = torch.zeros(graph["customer"].num_nodes, graph["product"].num_nodes)
    out[index[1].cpu(), index[0].cpu()] = alpha.mean(-1).cpu()
    return out


def reasons(picks: np.ndarray, held: np.ndarray, attended: np.ndarray, segments: np.ndarray, industry: np.ndarray,
            peer_group: np.ndarray, product_ids: list[str], product_types: list[str]) -> list[list[list[str]]]:
    """Reasons for every pick: ``picks[c, k]`` is a product index (-1 = none) for customer ``c``.

    ``held`` bool and ``attended`` float are ``[customers, products]``; ``segments``,
    ``industry`` (names) and ``peer_group`` (type x industry codes) are per customer.
    """
    held_f = held.astype(np.float64)
    together = held_f.T @ held_f  # [P, P] customers holding both
    holders = np.diag(together).copy()
    share = together / np.maximum(holders[:, None], 1)  # P(p | q)
    base = holders / max(len(held), 1)
    lift = share / np.maximum(base[None, :], 1e-9)
    seg_ind = {}
    for key in set(zip(segments.tolist(), industry.tolist())):
        members = (segments == key[0]) & (industry == key[1])
        seg_ind[key] = held[members].sum(0)
    peers = {g: (held[peer_group == g].mean(0), int((peer_group == g).sum())) for g in np.unique(peer_group)}
    out = []
    for c in range(len(picks)):
        mine = np.flatnonzero(held[c])
        per_customer = []
        for p in picks[c]:
            if p < 0:
                per_customer.append([])
                continue
            found = []
            if len(mine):
                weight = attended[c, mine] * lift[mine, p] * (together[mine, p] >= MIN_TOGETHER) * (lift[mine, p] > 1)
                if weight.max() > 0:
                    q = mine[int(weight.argmax())]
                    found.append(f"often taken together with {product_ids[q]} ({product_types[q]}), which this customer uses: "
                                 f"{share[q, p]:.0%} of its {int(holders[q])} holders also use {product_ids[p]}")
            n = int(seg_ind[(segments[c], industry[c])][p])
            if n:
                found.append(f"adopted by {n} {industry[c]} customer{'s' if n > 1 else ''} in segment {segments[c]}, "
                             "whom the model sees as similar to this one")
            if not found:
                fraction, size = peers[peer_group[c]]
                found.append(f"held by {fraction[p]:.0%} of the {size} customers of this type and industry")
            per_customer.append(found)
        out.append(per_customer)
    return out
