"""Ranking metrics at K: recall, precision, NDCG, MAP, hit rate and catalogue coverage.

Every recommender, the GAT and the baselines alike, is scored by :func:`ranking_metrics`
on the same score matrix layout: one row per customer, one column per product, products a
customer already holds excluded, only customers with something held out counted.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from ..intervals import BOOTSTRAP_SAMPLES, bootstrap_difference  # noqa: F401  (re-exported: the metrics' intervals)

KS = (5, 10, 20)


def ranking_metrics(
    scores: torch.Tensor, relevant: torch.Tensor, exclude: torch.Tensor, ks: tuple[int, ...] = KS
) -> dict:
    """Metrics of ranking each row's products by ``scores``.

    ``relevant`` (bool, same shape) marks the held-out products; ``exclude`` (bool) marks
    products that must not be recommended (already held). Rows with no relevant product
    are ignored. Returns ``{"recall@10": ..., "ndcg@10": ..., ..., "customers": n}``.
    """
    return ranking_metrics_by_chunks([(scores, relevant, exclude)], scores.shape[1], ks)


def ranking_metrics_by_chunks(chunks: Iterable[tuple], n_items: int, ks: tuple[int, ...] = KS) -> dict:
    """:func:`ranking_metrics` of row blocks ``(scores, relevant, exclude)`` taken one at a time.

    The figures are those of the blocks stacked into one matrix, but only one block's scores
    are in memory at a time (plus each row's top ``max(ks)``): the way to score many
    customers against many products within a memory budget.
    """
    ranked = RankedRows(max(ks))
    for scores, relevant, exclude in chunks:
        ranked.add(scores, relevant, exclude)
    return ranked.figures(n_items, ks)


class RankedRows:
    """Rows ranked block by block, kept as their top ``k`` and its hits, for :func:`ranking_metrics`' figures."""

    def __init__(self, k: int = max(KS)):
        self.k, self.top, self.hits, self.n_relevant = k, [], [], []

    def add(self, scores: torch.Tensor, relevant: torch.Tensor, exclude: torch.Tensor) -> None:
        """Rank a block of rows (rows with nothing relevant are left out, as in :func:`ranking_metrics`).

        Ranked on the scores' device (a GPU's, when training there: no scores cross to the CPU);
        only the top ``k`` and their hits are kept, on the CPU.
        """
        device = scores.device
        answered = Answered(relevant.to(device), exclude.to(device))
        self.add_answered(answered.masked(scores), answered)

    def add_answered(self, masked: torch.Tensor, answered: Answered) -> None:
        """:meth:`add` of scores already cut to ``answered``'s rows and masked (:meth:`Answered.masked`).

        Several rankings of the same rows (training's validation ranks each mix of the model's
        parts every epoch) then find those rows, mask what is held and count the answers once.
        """
        top, hits = answered.top(masked, self.k)
        self.top.append(top.cpu())
        self.hits.append(hits.cpu())
        self.n_relevant.append(answered.n_relevant.cpu())

    def figures(self, n_items: int, ks: tuple[int, ...] = KS) -> dict:
        """``{"recall@10": ..., "customers": n}`` over every row added so far (``ks`` at most ``k``)."""
        top = torch.cat(self.top) if self.top else torch.zeros(0, 0, dtype=torch.long)
        hits = torch.cat(self.hits) if self.hits else torch.zeros(0, 0)
        n_relevant = torch.cat(self.n_relevant) if self.n_relevant else torch.zeros(0)
        n_rows, k_max = hits.shape
        out = {"customers": int(n_rows)}
        if n_rows == 0:
            return out
        for k in ks:
            kk = min(k, k_max)
            h = hits[:, :kk]
            found = h.sum(dim=1)
            precision_at = torch.cumsum(h, dim=1) / torch.arange(1, kk + 1, dtype=torch.float32)
            out[f"recall@{k}"] = float((found / n_relevant).mean())
            out[f"precision@{k}"] = float((found / k).mean())
            out[f"ndcg@{k}"] = float(_ndcg(h, n_relevant).mean())
            out[f"map@{k}"] = float(((precision_at * h).sum(dim=1) / torch.clamp(n_relevant, max=kk)).mean())
            out[f"hit@{k}"] = float((found > 0).float().mean())
            out[f"coverage@{k}"] = float(top[:, :kk].unique().numel() / n_items)
        return out


def per_customer(
    scores: torch.Tensor, relevant: torch.Tensor, exclude: torch.Tensor, k: int = 10, names: tuple[str, ...] = ()
) -> dict:
    """Each customer's ``recall@k`` and ``ndcg@k`` (and ``names``: any of ``precision``, ``map``,
    ``hit`` at ``k``) over the customers with something held out, in row order.

    Their means are :func:`ranking_metrics`' figures; the paired bootstrap resamples them.
    """
    _, hits, n_relevant = _ranked(scores, relevant, exclude, k)
    found = hits.sum(dim=1)
    kk = hits.shape[1]
    precision_at = torch.cumsum(hits, dim=1) / torch.arange(1, kk + 1, dtype=torch.float32)
    figures = {
        "recall": lambda: found / n_relevant,
        "ndcg": lambda: _ndcg(hits, n_relevant),
        "precision": lambda: found / k,
        "map": lambda: (precision_at * hits).sum(dim=1) / torch.clamp(n_relevant, max=kk),
        "hit": lambda: (found > 0).float(),
    }
    wanted = dict.fromkeys(("recall", "ndcg", *(n.partition("@")[0] for n in names)))
    return {f"{name}@{k}": figures[name]().numpy() for name in wanted}


class Answered:
    """A block's rows with something relevant (the rows a ranking counts), their answers and what they hold."""

    def __init__(self, relevant: torch.Tensor, exclude: torch.Tensor):
        self.rows = relevant.any(dim=1)
        self.relevant, self.exclude = relevant[self.rows], exclude[self.rows]
        self.n_relevant = self.relevant.sum(dim=1).float()

    def masked(self, scores: torch.Tensor) -> torch.Tensor:
        """``scores`` of these rows, what they hold at minus infinity (never recommended).

        Mixing masked scores with positive weights masks the mix: minus infinity stays so.
        """
        return scores[self.rows].float().masked_fill(self.exclude, float("-inf"))

    def top(self, masked: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(top k products, hit or not at each of them)`` of :meth:`masked` scores."""
        top = masked.topk(min(k, masked.shape[1]), dim=1).indices
        return top, self.relevant.gather(1, top).float()


def _ranked(scores: torch.Tensor, relevant: torch.Tensor, exclude: torch.Tensor, k: int) -> tuple:
    """``(top k products, hit or not at each of them, relevant count)`` of the rows with something relevant."""
    answered = Answered(relevant, exclude)
    return *answered.top(answered.masked(scores), k), answered.n_relevant


def _ndcg(hits: torch.Tensor, n_relevant: torch.Tensor) -> torch.Tensor:
    """Each row's NDCG at ``hits``' width: its discounted hits over the best its relevant count allows."""
    k = hits.shape[1]
    discounts = 1.0 / torch.log2(torch.arange(2, k + 2, dtype=torch.float32))
    ideal = torch.cumsum(discounts, 0)[(torch.clamp(n_relevant, max=k) - 1).long()]
    return (hits * discounts).sum(dim=1) / ideal
