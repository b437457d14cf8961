"""Ranking metrics at K: recall, precision, NDCG, MAP, hit rate and catalogue coverage.

Every recommender, the GAT and the baselines alike, is scored by :func:`ranking_metrics`
on the same score matrix layout: one row per customer, one column per product, products a
customer already holds excluded, only customers with something held out counted.
"""

from __future__ import annotations

import torch

KS = (5, 10, 20)


def ranking_metrics(
    scores: torch.Tensor, relevant: torch.Tensor, exclude: torch.Tensor, ks: tuple[int, ...] = KS
) -> dict:
    """Metrics of ranking each row's products by ``scores``.

    ``relevant`` (bool, same shape) marks the held-out products; ``exclude`` (bool) marks
    products that must not be recommended (already held). Rows with no relevant product
    are ignored. Returns ``{"recall@10": ..., "ndcg@10": ..., ..., "customers": n}``.
    """
    rows = relevant.any(dim=1)
    scores, relevant, exclude = scores[rows].float(), relevant[rows], exclude[rows]
    n_rows, n_items = scores.shape
    out = {"customers": int(n_rows)}
    if n_rows == 0:
        return out
    masked = scores.masked_fill(exclude, float("-inf"))
    k_max = min(max(ks), n_items)
    top = masked.topk(k_max, dim=1).indices
    hits = relevant.gather(1, top).float()
    n_relevant = relevant.sum(dim=1).float()
    discounts = 1.0 / torch.log2(torch.arange(2, k_max + 2, dtype=torch.float32))
    for k in ks:
        kk = min(k, k_max)
        h = hits[:, :kk]
        found = h.sum(dim=1)
        ideal = torch.cumsum(discounts, 0)[(torch.clamp(n_relevant, max=kk) - 1).long()]
        precision_at = torch.cumsum(h, dim=1) / torch.arange(1, kk + 1, dtype=torch.float32)
        out[f"recall@{k}"] = float((found / n_relevant).mean())
        out[f"precision@{k}"] = float((found / k).mean())
        out[f"ndcg@{k}"] = float(((h * discounts[:kk]).sum(dim=1) / ideal).mean())
        out[f"map@{k}"] = float(((precision_at * h).sum(dim=1) / torch.clamp(n_relevant, max=kk)).mean())
        out[f"hit@{k}"] = float((found > 0).float().mean())
        out[f"coverage@{k}"] = float(top[:, :kk].unique().numel() / n_items)
    return out
