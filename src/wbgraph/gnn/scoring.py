"""The model's figures on a question: each mix of its two parts, and each part alone.

Validation scores every mix of :data:`MIXES` each epoch and keeps the best; the test part is
scored once, at the mix validation chose (:func:`scored`). On a graph with corporate groups,
the group part (what the rest of the customer's group holds, :func:`~.model.with_group`) is
added at the weight of :data:`GROUP_WEIGHTS` that validation chooses once the parts are
trained and mixed (:func:`choose_group_weight`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import torch
from torch_geometric.data import HeteroData

from .memory import (
    batch_subgraph,
)
from .metrics import Answered, RankedRows, per_customer
from .model import CO_ADOPTED, HeteroGATRecommender, channel_share, mixed, with_group

PARTS = ("gat", "channel")  # the order of a mix's weights


ALONE = ((1.0, 0.0), (0.0, 1.0))  # each part alone: scored every epoch, each part's own curve


MIXES = ((1.0, 0.0), (1.0, 0.5), (1.0, 1.0), (1.0, 2.0), (0.0, 1.0))  # (GAT part, item channel)


GROUP_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)  # the group part's, in spreads of the mixed scores


@torch.no_grad()
def parts_by_rows(
    model: HeteroGATRecommender, graph: HeteroData, relevant: torch.Tensor, rows_per_chunk: int
) -> Iterator[tuple]:
    """``(rows, GAT scores, item-channel scores or None, group part or None)`` a block of customers
    at a time, on the model's device.

    All customers in one block when ``rows_per_chunk`` covers them (the full-batch case),
    else only the customers with something ``relevant``, ``rows_per_chunk`` at a time, from
    one encoding (without gradients) of the sub-graph their representations need.
    """
    model.eval()
    n_c = graph["customer"].num_nodes
    has_channel = model.channel and CO_ADOPTED in graph.edge_types
    if rows_per_chunk >= n_c:
        h = model.encode_graph(graph)
        yield (
            torch.arange(n_c),
            model.score(h["customer"], h["product"]),
            model.channel_of(graph) if has_channel else None,
            model.group_of(graph),
        )
        return
    device = graph["customer"].x.device
    wanted = torch.nonzero(relevant.any(1)).flatten()
    h = model.encode(*batch_subgraph(graph, None, wanted.to(device), None))  # their customers first, in order
    for start in range(0, len(wanted), rows_per_chunk):
        rows = wanted[start : start + rows_per_chunk]
        on = rows.to(device)
        channel = model.channel_of(graph, on) if has_channel else None
        gat = model.score(h["customer"][start : start + len(rows)], h["product"])
        yield rows, gat, channel, model.group_of(graph, on)


def final_scores(
    model: HeteroGATRecommender, graph: HeteroData, relevant: torch.Tensor, rows: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``(rows, scores)`` of the model as it ranks (mix and group part), a block of customers at a time."""
    for block, gat, channel, group in parts_by_rows(model, graph, relevant, rows):
        scores = gat if channel is None else mixed(gat, channel, model.mix.to(gat.device))
        yield block, with_group(scores, group, model.group_weight)


PER_CUSTOMER = ("recall@10", "ndcg@10", "map@10")  # customer_figures' columns beside customerId


def customer_figures(
    model: HeteroGATRecommender, graph: HeteroData, relevant: torch.Tensor, held: torch.Tensor, rows: int, ids: list
) -> pd.DataFrame:
    """Each customer's ``recall@10``, ``ndcg@10`` and ``map@10`` on a question (``customerId``
    from ``ids``, customers with an answer only): what ``runs compare`` pairs two runs on."""
    frames = []
    for block, scores in final_scores(model, graph, relevant, rows):
        answers = relevant[block]
        figures = per_customer(scores.cpu(), answers, held[block], 10, ("map",))
        answered = block[answers.any(1)].tolist()
        frames.append(pd.DataFrame({"customerId": [ids[i] for i in answered]} | figures))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["customerId", *PER_CUSTOMER])


def validate(
    model: HeteroGATRecommender, graph: HeteroData, relevant: torch.Tensor, held: torch.Tensor, rows: int
) -> tuple:
    """``(figures, mix, NDCG@10 of each part alone)`` of the model's best mix of its parts on validation."""
    tried = {}
    for block, gat, channel, _group in parts_by_rows(model, graph, relevant, rows):
        answered = Answered(relevant[block].to(gat.device), held[block].to(gat.device))  # ranked where scored
        gat = answered.masked(gat)  # the rows and the mask found once: every mix of them is masked too
        channel = answered.masked(channel) if channel is not None else None
        for mix in dict.fromkeys([*MIXES, *ALONE]) if channel is not None else ((1.0, 0.0),):
            scores = gat if channel is None else mixed(gat, channel, torch.tensor(mix))
            tried.setdefault(mix, RankedRows(10)).add_answered(scores, answered)
    figures = {mix: ranked.figures(relevant.shape[1], ks=(10,)) for mix, ranked in tried.items()}
    if len(figures) == 1:
        return figures[(1.0, 0.0)], (1.0, 0.0), {"gat": figures[(1.0, 0.0)]["ndcg@10"]}
    mix = max(MIXES, key=lambda m: figures[m]["ndcg@10"])
    return figures[mix], mix, {"gat": figures[(1.0, 0.0)]["ndcg@10"], "channel": figures[(0.0, 1.0)]["ndcg@10"]}


def choose_group_weight(
    model: HeteroGATRecommender, graph: HeteroData, relevant: torch.Tensor, held: torch.Tensor, rows: int
) -> tuple[float, dict]:
    """``(weight, NDCG@10 on validation of each weight of GROUP_WEIGHTS)``: the group part's
    weight beside the model's mix (ties go to the smaller); ``(0.0, {})`` without groups."""
    tried = {}
    for block, gat, channel, group in parts_by_rows(model, graph, relevant, rows):
        if group is None:
            return 0.0, {}
        answered = Answered(relevant[block].to(gat.device), held[block].to(gat.device))
        scores = gat if channel is None else mixed(gat, channel, model.mix)
        for weight in GROUP_WEIGHTS:
            tried.setdefault(weight, RankedRows(10)).add_answered(
                answered.masked(with_group(scores, group, weight)), answered
            )
    figures = {w: ranked.figures(relevant.shape[1], ks=(10,))["ndcg@10"] for w, ranked in tried.items()}
    return max(GROUP_WEIGHTS, key=lambda w: (figures[w], -w)), figures


def scored(
    model: HeteroGATRecommender,
    graph: HeteroData,
    relevant: torch.Tensor,
    known: torch.Tensor,
    rows: int,
    parts: bool = False,
) -> dict:
    """The model's figures (its chosen mix) on ``relevant``.

    With ``parts``: each part's figures alone, the channel's share of the ranking and the group
    part's weight.
    """
    mixed_rows, gat_rows, channel_rows, shares, counted = RankedRows(), RankedRows(), RankedRows(), 0.0, 0
    for block, gat, channel, group in parts_by_rows(model, graph, relevant, rows):
        answers, seen = relevant[block].to(gat.device), known[block].to(gat.device)  # ranked where scored
        scores = gat if channel is None else mixed(gat, channel, model.mix.cpu())
        mixed_rows.add(with_group(scores, group, model.group_weight), answers, seen)
        if parts and channel is not None:
            gat_rows.add(gat, answers, seen)
            channel_rows.add(channel, answers, seen)
            shares += channel_share(gat, channel, model.mix.cpu()) * len(block)
            counted += len(block)
    n_items = relevant.shape[1]
    out = mixed_rows.figures(n_items)
    if counted:
        out["parts"] = {
            "mix": model.mix.tolist(),
            "gatAlone": headline(gat_rows.figures(n_items)),
            "channelAlone": headline(channel_rows.figures(n_items)),
            "channelShare": shares / counted,
            "groupWeight": float(model.group_weight),
        }
    return out


def headline(metrics: dict) -> dict:
    return {k: metrics[k] for k in ("recall@10", "ndcg@10") if k in metrics}
