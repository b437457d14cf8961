"""What a writeback will write, computed before the first write: scores, rules, top K, segments, reasons.

Every customer the model knows is scored against every product (one matrix product; on the
GPU when there is one); products it holds and candidates the eligibility rules exclude are
removed, and its top K are kept, ranks 1..K, each with its reasons. Customers are clustered
into segments on the model's embeddings. What a customer holds and the facts the rules read
always come from the current, whole graph, whatever window or filter the run was trained on
(a product bought after a run's ``--until`` is held all the same). Nothing here touches the
database but the exports; :mod:`.write` writes the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import neo4j
import numpy as np
import pandas as pd
import torch
from sklearn.decomposition import PCA

from ..config import Settings
from ..db import read
from ..errors import QueryFailed
from ..gnn.data import Encoders, group_codes, group_popularity, peer_groups
from ..gnn.export import GraphTables, fetch
from ..gnn.memory import pick_device
from ..gnn.restore import Restored, calibrator_of, restore
from ..runs import Run
from . import explain
from .eligibility import DEFAULT_RULES, Suppression, exclusions, group_facts, impact, load_rules, missing_facts
from .segments import Segmentation, profiles, segment


@dataclass
class Plan:
    """Everything a writeback writes, computed before the first write."""

    run: Run
    created_at: str | None
    customer_ids: list[str]
    rows: list[
        dict
    ]  # per customer: customerId, segment, segmentKey, recommendations [{productId, score, rank, reasons}]
    segments: list[dict]  # Segment node properties
    excluded: dict = field(default_factory=dict)  # rule -> candidates it excluded (not already held)
    candidates: int = 0  # (customer, product) pairs not held, before the rules
    rules: list = field(default_factory=list)  # per rule: excluded, share of candidates, customersShort
    warnings: list = field(default_factory=list)  # rules that cannot see most facts, or swallowed most candidates
    projection: np.ndarray | None = None  # [customers, 2]: the embeddings' first two principal components
    labels: np.ndarray | None = None  # segment of each customer
    suppressed: dict = field(default_factory=dict)  # declined / noResponse -> candidates earlier offers kept away

    @property
    def run_id(self) -> str:
        return self.run.id


@dataclass
class Newcomers:
    """Whom a newcomers' plan is for, and the segments the run's writeback gave the others."""

    customers: set[str]  # the customers to plan for: those without a current set
    segment_of: dict[str, int]  # customer -> segment, from the run's writeback (empty: never written back)


def plan(
    driver: neo4j.Driver,
    settings: Settings,
    run: str | Path | None = None,
    top_k: int = 10,
    segments: int | str = "auto",
    rules: str | Path | None = DEFAULT_RULES,
    runs_dir: str | Path | None = None,
    suppression: Suppression | None = None,
) -> Plan:
    """Score, filter, rank, segment and explain, without writing anything. ``suppression``:
    keep away what earlier offers say to (:func:`suppressed_offers`); None: offers play no part."""
    rule_list = load_rules(rules)  # a bad rules file fails before the export
    suppressed = suppressed_offers(driver, settings, suppression)  # unreadable offers fail before the export
    restored = restore(Run.open(run, runs_dir), driver, settings)
    filtered = any(v is not None for v in restored.config.filters().values())
    current = fetch(driver, settings) if filtered else None  # held products and facts: the whole graph
    parents = _parents(driver, settings, restored)
    return plan_restored(restored, top_k, segments, rule_list, current, parents=parents, suppressed=suppressed)


def plan_newcomers(
    driver: neo4j.Driver,
    settings: Settings,
    run: Run,
    top_k: int = 10,
    rules: list | None = None,
    customers: list[str] | None = None,
    suppression: Suppression | None = None,
) -> Plan:
    """The plan for customers without a current set (or for ``customers``), scored by ``run``
    without retraining, over the current graph: customers and products that arrived after
    training included (:func:`wbgraph.gnn.restore.restore` with ``newcomers``). A customer that
    holds nothing is ranked by what the rest of its corporate group holds when it belongs to one
    that holds something, else by segment popularity (what its type-and-industry peers hold).
    Segments are the run's: a newcomer joins the one whose members' embeddings are
    nearest on average; no Segment node is rewritten.
    """
    suppressed = suppressed_offers(driver, settings, suppression)
    restored = restore(run, driver, settings, newcomers=True)
    if customers is None:
        customers = [r["customerId"] for r in read(driver, settings, "writeback/customers_without_set")]
    projection = run.projection()
    segment_of = {} if projection is None else dict(zip(projection["customerId"], projection["segment"].astype(int)))
    return plan_restored(
        restored,
        top_k,
        rules=rules,
        newcomers=Newcomers(set(customers), segment_of),
        parents=_parents(driver, settings, restored),
        suppressed=suppressed,
    )


def suppressed_offers(driver: neo4j.Driver, settings: Settings, suppression: Suppression | None) -> dict | None:
    """``{"declined": [(customerId, productId), ...], "noResponse": [...]}``: the pairs earlier
    offers keep away under ``suppression`` (None: none asked for). Offers that cannot be read
    stop the writeback in one line (it fails closed): ``--no-suppression`` goes on without them."""
    if suppression is None:
        return None
    try:
        records = read(
            driver,
            settings,
            "writeback/suppressed_offers",
            declinedDays=suppression.declined_days,
            noResponseMax=suppression.no_response_max,
        )
    except neo4j.exceptions.Neo4jError as e:
        raise QueryFailed(
            f"The offers cannot be read for suppression ({(e.message or str(e)).splitlines()[0]}): nothing written; "
            "fix them with `wbgraph outcomes ingest`, or write without them with --no-suppression."
        ) from None
    return {
        "declined": [(r["customerId"], r["productId"]) for r in records if r["declined"]],
        "noResponse": [(r["customerId"], r["productId"]) for r in records if r["unanswered"]],
    }


def _parents(driver: neo4j.Driver, settings: Settings, restored: Restored) -> dict | None:
    """``{customerId: (parentId, parentName)}`` of the graph's consolidation tree, for the group
    reasons; None when the run's data has no corporate groups."""
    if group_codes(restored.data.tables.customers) is None:
        return None
    records = read(driver, settings, "writeback/group_parents")
    return {r["customerId"]: (r["parentId"], r["parentName"]) for r in records}


def plan_restored(
    restored: Restored,
    top_k: int = 10,
    segments: int | str = "auto",
    rules: list | None = None,
    current: GraphTables | None = None,
    newcomers: Newcomers | None = None,
    parents: dict | None = None,
    suppressed: dict | None = None,
) -> Plan:
    """:func:`plan` for a run already restored (no database needed): ``rules`` as :func:`load_rules` gives them.

    ``current``: the whole graph's tables when the run was trained on a window or a filter
    (held products and facts then come from it); None when the run's export is the whole graph.
    ``newcomers``: plan for those customers only, in the run's segments (:func:`plan_newcomers`).
    ``parents``: the graph's consolidation tree (``{customerId: (parentId, parentName)}``), for
    reasons that cite a customer's corporate group; None: no group reasons.
    ``suppressed``: the pairs earlier offers keep away (:func:`suppressed_offers`), never proposed.
    """
    rule_list = rules or []
    data = restored.data
    graph, scores, embeddings = _score_everything(restored)
    held, customers, products, groups = _current(data, current, any(rule.group for rule in rule_list))
    probability = _probabilities(restored, scores, held)
    wanted = np.ones(len(held), dtype=bool)
    source = np.full(len(held), "model", dtype=object)
    if newcomers is not None:
        wanted = np.isin(np.array(data.encoders.customer_ids, dtype=object), list(newcomers.customers))
        scores = _holding_nothing(scores, held, customers, wanted & ~held.any(1), source)
    excluded_by = exclusions(rule_list, customers, products, groups)
    k = min(top_k, data.n_products)
    planned_for = {name: m[wanted] for name, m in excluded_by.items()}  # the figures: of the customers planned for
    impacts, swallowed = impact(
        rule_list,
        planned_for,
        held[wanted],
        k,
        customers[wanted].reset_index(drop=True),
        products,
        groups[wanted].reset_index(drop=True) if groups is not None else None,
    )
    kept_away, suppressed_counts = _suppression(suppressed, data.encoders, held, wanted)
    values, picks = _top_k(scores, held, excluded_by | kept_away, k)
    picks[~wanted] = -1  # no reasons worked out for customers not planned for

    if newcomers is None:
        seg = segment(embeddings, segments, seed=restored.config.seed)
        segment_props = profiles(
            seg, customers, held, _picked(picks, held.shape), data.encoders.product_ids, restored.run_id
        )
    else:
        seg, segment_props = _join_segments(embeddings, data.encoders.customer_ids, newcomers.segment_of), []
    attended = explain.attention(restored.model, graph).numpy()
    tree = _groups(customers, parents, (current or data.tables).interactions, data.encoders.product_ids)
    why = explain.reasons(picks, held, attended, seg.labels, *_facts(customers, products, data), groups=tree)
    rows = _rows(data.encoders, wanted, seg.labels, source, values, picks, why, restored.run_id, probability)
    return Plan(
        restored.run,
        restored.run.metrics().get("trainedAt"),
        [c for c, w in zip(data.encoders.customer_ids, wanted) if w],
        rows,
        segment_props,
        {name: int((m & ~held[wanted]).sum()) for name, m in planned_for.items()},
        int((~held[wanted]).sum()),
        impacts,
        missing_facts(rule_list, customers, products, groups) + swallowed,
        _projection(embeddings)[wanted] if newcomers is None else None,
        seg.labels[wanted],
        suppressed_counts,
    )


def _suppression(suppressed: dict | None, encoders: Encoders, held: np.ndarray, wanted: np.ndarray) -> tuple:
    """``({name: [customers, products] pairs kept away}, {name: candidates kept away, of the
    customers planned for, not already held})`` from :func:`suppressed_offers`' pairs."""
    if not suppressed:
        return {}, {}
    matrices, counts = {}, {}
    for name, pairs in suppressed.items():
        m = np.zeros(held.shape, dtype=bool)
        c = encoders.customer_index([c for c, _ in pairs])
        p = encoders.product_index([p for _, p in pairs])
        keep = (c >= 0) & (p >= 0)
        m[c[keep], p[keep]] = True
        matrices[f"suppressed: {name}"], counts[name] = m, int((m & ~held)[wanted].sum())
    return matrices, counts


def _groups(customers: pd.DataFrame, parents: dict | None, interactions: pd.DataFrame, product_ids: list):
    """The corporate groups the reasons cite (:func:`explain.group_structure`); None without groups."""
    if parents is None or group_codes(customers) is None:
        return None
    return explain.group_structure(customers, parents, interactions, product_ids)


def _facts(customers: pd.DataFrame, products: pd.DataFrame, data) -> tuple:
    """What :func:`explain.reasons` reads of the graph besides the picks: industries, peer groups, products."""
    product_ids = data.encoders.product_ids
    industry = _text(customers["industry"])
    peers = (_text(customers["customerType"]).astype(object) + "|" + industry.astype(object)).astype(str)
    return industry, peers, product_ids, _text(products["productType"]).tolist()


def _rows(
    encoders: Encoders,
    wanted: np.ndarray,
    labels: np.ndarray,
    source: np.ndarray,
    values: np.ndarray,
    picks: np.ndarray,
    why: list,
    run_id: str,
    probability: tuple | None = None,
) -> list[dict]:
    """One row per customer planned for: its segment, source and ranked picks with their
    reasons and calibrated probabilities (None for a run without a calibrator)."""
    chance = None if probability is None else probability[0].at(probability[1], picks)
    return [
        {
            "customerId": customer,
            "segment": int(labels[i]) if labels[i] > 0 else None,
            "segmentKey": f"{run_id}/{int(labels[i])}" if labels[i] > 0 else None,
            "source": source[i],
            "recommendations": [
                {
                    "productId": encoders.product_ids[p],
                    "score": float(values[i, j]),
                    "probability": None if chance is None else round(float(chance[i, j]), 6),
                    "rank": j + 1,
                    "reasons": why[i][j],
                }
                for j, p in enumerate(picks[i])
                if p >= 0
            ],
        }
        for i, customer in enumerate(encoders.customer_ids)
        if wanted[i]
    ]


def _current(data, current: GraphTables | None, with_groups: bool = False) -> tuple:
    """``(held [customers, products], customer facts, product facts, group facts)`` in model order,
    from ``current`` if given; the group facts (only ``with_groups``: a rule reads them, else None)
    from every member, in the run's filter or not."""
    if current is None:
        customers = data.customers()
        return (
            data.everything.held().numpy(),
            customers,
            data.products(),
            group_facts(customers) if with_groups else None,
        )
    enc = data.encoders
    c = enc.customer_index(current.interactions["customerId"])
    p = enc.product_index(current.interactions["productId"])
    keep = (c >= 0) & (p >= 0)
    held = np.zeros((len(enc.customer_ids), len(enc.product_ids)), dtype=bool)
    held[c[keep], p[keep]] = True
    groups = _group_facts_of(current.customers, enc.customer_ids) if with_groups else None
    customers = current.customers.set_index("customerId").reindex(enc.customer_ids).reset_index()
    products = current.products.set_index("productId").reindex(enc.product_ids).reset_index()
    return held, customers, products, groups


def _group_facts_of(everyone: pd.DataFrame, customer_ids: list) -> pd.DataFrame:
    """:func:`group_facts` of the whole graph's customers, in model order (a customer no longer in
    the graph: nothing known)."""
    everyone = everyone.reset_index(drop=True)
    at = pd.Series(np.arange(len(everyone)), index=everyone["customerId"]).reindex(customer_ids).to_numpy()
    groups = group_facts(everyone).reindex(at).reset_index(drop=True)
    groups[["exposureKnown", "riskRatingKnown"]] = groups[["exposureKnown", "riskRatingKnown"]].fillna(False)
    return groups


def _score_everything(restored: Restored) -> tuple:
    """``(graph, scores, customer embeddings)`` with every interaction visible, as in serving."""
    data = restored.data
    device = pick_device(restored.config.device)
    graph = data.everything.graph(data.tables, data.encoders).to(device)
    scores, h = restored.model.to(device).score_all(graph)
    return graph, scores.cpu(), h["customer"].cpu().numpy()


def _probabilities(restored: Restored, scores: torch.Tensor, held: np.ndarray) -> tuple | None:
    """``(calibrator, its input for every pair)``: each picked pair's calibrated probability
    (:mod:`wbgraph.gnn.calibration`) comes from the model's own scores, whatever ranked the
    customer's set (a newcomer's popularity, rules that took some picks away): the model's
    chance that the customer takes the product within the horizon. None for a run trained
    before calibration."""
    calibrator = calibrator_of(restored.run)
    if calibrator is None:
        return None
    return calibrator, calibrator.input_of(scores, torch.as_tensor(~held))


def _segment_popularity(scores: torch.Tensor, held: np.ndarray, peers: np.ndarray, rows: np.ndarray) -> torch.Tensor:
    """``scores`` with the ``rows`` customers ranked by what their peers (same type and
    industry) hold, ties broken by what everyone holds: for customers that hold nothing yet."""
    if not rows.any():
        return scores
    everyone = held.sum(0).astype(np.float64)
    out = scores.clone()
    for group in np.unique(peers[rows]):
        members = peers == group
        popularity = held[members].sum(0) + everyone / (everyone.max() + 1.0)
        out[torch.as_tensor(rows & members)] = torch.as_tensor(popularity, dtype=out.dtype)
    return out


def _holding_nothing(
    scores: torch.Tensor, held: np.ndarray, customers: pd.DataFrame, empty: np.ndarray, source: np.ndarray
) -> torch.Tensor:
    """``scores`` with the ``empty`` customers (holding nothing yet) ranked by what the rest of
    their corporate group holds, else by segment popularity; ``source`` says which, in place."""
    scores = _segment_popularity(scores, held, peer_groups(customers), empty)
    source[empty] = "segment popularity"
    scores, inherits = _group_popularity(scores, held, group_codes(customers), empty)
    source[inherits] = "group popularity"
    return scores


def _group_popularity(
    scores: torch.Tensor, held: np.ndarray, group: np.ndarray | None, rows: np.ndarray
) -> tuple[torch.Tensor, np.ndarray]:
    """``(scores, which rows inherit)``: the ``rows`` customers whose corporate group holds
    something ranked by the share of the rest of their group holding each product, ties by
    the scores they had (segment popularity): a newcomer inherits from its group at once."""
    if group is None or not rows.any():
        return scores, np.zeros(len(rows), dtype=bool)
    shares = group_popularity(torch.as_tensor(held, dtype=torch.float32), group)
    inherits = rows & (shares.sum(1) > 0).numpy()
    if inherits.any():
        scores = scores.clone()
        at = torch.as_tensor(inherits)
        below = scores[at] - scores[at].amin(1, keepdim=True)  # 0 .. spread: a tie-break under each share step
        step = below.amax(1, keepdim=True) + 1.0
        scores[at] = shares[at].to(scores.dtype) * step * len(held) + below
    return scores, inherits


def _join_segments(embeddings: np.ndarray, customer_ids: list[str], segment_of: dict) -> Segmentation:
    """The run's segments (``segment_of``) for its customers; every other customer joins the
    segment whose members' mean embedding is nearest. Without segments, every label is 0 (none)."""
    labels = np.array([int(segment_of.get(c, 0)) for c in customer_ids])
    known = labels > 0
    if known.any() and (~known).any():
        names = np.unique(labels[known])
        centres = np.stack([embeddings[labels == name].mean(0) for name in names])
        distance = ((embeddings[~known][:, None, :] - centres[None, :, :]) ** 2).sum(-1)
        labels[~known] = names[distance.argmin(1)]
    return Segmentation(labels, len(set(labels[known])), 0.0, {})


def _top_k(scores: torch.Tensor, held: np.ndarray, excluded_by: dict, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, product indices)`` of each customer's best ``k`` candidates; -1 where fewer are eligible."""
    blocked = held.copy()
    for matrix in excluded_by.values():
        blocked |= matrix
    scores = scores.clone()
    scores[torch.as_tensor(blocked)] = float("-inf")
    best = scores.topk(k, dim=1)
    values = best.values.numpy()
    return values, np.where(np.isfinite(values), best.indices.numpy(), -1)


def _picked(picks: np.ndarray, shape: tuple) -> np.ndarray:
    """The picks as a boolean ``[customers, products]`` matrix."""
    out = np.zeros(shape, dtype=bool)
    rows = np.repeat(np.arange(len(picks)), picks.shape[1])
    flat = picks.ravel()
    out[rows[flat >= 0], flat[flat >= 0]] = True
    return out


def _projection(embeddings: np.ndarray) -> np.ndarray:
    """The first two principal components of the customer embeddings (for pictures only)."""
    if min(embeddings.shape) < 2:
        return np.zeros((len(embeddings), 2))
    return PCA(2, random_state=0).fit_transform(embeddings)


def _text(values: pd.Series) -> np.ndarray:
    """Values as text for the reasons, ``""`` where missing (the reason then leaves the fact out)."""
    return np.array([str(v) if v is not None and v == v else "" for v in values], dtype=object)
