"""Tables -> PyTorch Geometric: features, the temporal split and the ``HeteroData`` the model sees.

:class:`Encoders` turns properties into feature tensors (numbers standardised, sizes and
amounts on a log scale, categories one-hot) and remembers everything it learned
(vocabularies, means, deviations, ID <-> index maps), so a later export of the same model
maps identically. :func:`build_graph` assembles the heterogeneous graph (the context node
types and edge types from :data:`wbgraph.graphmodel.CONTEXTS`) from the interactions it is
given: only those the model may see. :func:`prepare` is export + split + graphs, which
training, evaluation and writeback share; :func:`prepare_tables` is the same without a
database, for notebooks and the unit tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

import neo4j
import numpy as np
import pandas as pd
import torch
from torch_geometric.data import HeteroData

from ..config import Settings
from ..errors import NotEnoughData
from ..graphmodel import (
    CONTEXTS,
    CUSTOMER_CATEGORY_FEATURES,
    CUSTOMER_NUMBER_FEATURES,
    GROUP_KEY,
    GROUP_USES_EDGE,
    PRODUCT_CATEGORY_FEATURES,
    REV_USES_EDGE,
    USES_EDGE,
)
from ..progress import SILENT, Progress
from .asof import Horizon, first_periods, known_before
from .behaviour import FEATURES, behaviour, expand, transform
from .ease import EASE_MAX_SIDE, ease, ease_neighbours, ease_weights, gram, interaction_matrix
from .export import GraphTables, fetch
from .model import CO_ADOPTED, DENSE_CHANNEL_PRODUCTS, channel_plan
from .split import HOLDOUT_SHARE, Split, latest_first, supervision_split, temporal_split

USES = USES_EDGE
REV_USES = REV_USES_EDGE
# strongest EASE neighbours kept per product (all of them in a catalogue of at most 251): on
# ml-latest-small (9,724 products) plain EASE loses 6% of its validation recall@10 at 100 (0.0877
# against 0.0934 with all), and the item channel went 0.1093 -> 0.1121 recall@10, 0.1579 -> 0.1598
# NDCG@10 (seeds 0-2) at 250, for 8 s more training (22.5 -> 30.3 s on seed 0)
CO_NEIGHBOURS = 250
CO_NEIGHBOURS_BEFORE = 100  # what runs saved before kept; the fewest a large gathered channel keeps
PLAN_ENTRIES = 30_000_000  # a gathered channel's plan (20 bytes an entry, one per held product and neighbour) per graph
CO_LAMBDAS = (10.0, 50.0, 200.0, 500.0)
EASE_BLOCK = 20_000  # customers scored at a time when the item channel's lambda is chosen
CUSTOMER_CATEGORIES = CUSTOMER_CATEGORY_FEATURES  # the graph model's: one-hot
RARE_SHARE = 0.01  # a customer category value held by fewer customers than this share has no column of its own
CUSTOMER_NUMBERS = CUSTOMER_NUMBER_FEATURES  # standardised; True: after log1p
PRODUCT_CATEGORIES = PRODUCT_CATEGORY_FEATURES
EDGE_NUMBERS = {
    "transactionCount": True,
    "recencyDays": False,
    "totalValue": True,
    "meanUsage": False,
    "meanEngagement": False,
    "historyRank": True,
    "historyShare": False,
    "daysBeforeLatest": True,
}


@dataclass
class Encoders:
    """Everything needed to turn exported tables into tensors the same way twice."""

    customer_ids: list[str]
    product_ids: list[str]
    vocabularies: dict[str, list[str]] = field(default_factory=dict)
    scales: dict[str, tuple[float, float]] = field(default_factory=dict)
    cutoff: float = 0.0  # epoch seconds of the latest interaction seen: recency is measured from here
    dropped: list[str] = field(default_factory=list)  # features with no value at all: not in the model
    co_lambda: float | None = None  # EASE's regularisation for the item channel; None: no channel
    ignored: list[str] = field(default_factory=list)  # attributes left out on request (TrainConfig.ignore)
    behaviour: list[str] = field(default_factory=list)  # the customer behaviour features in the model (as-of only)
    extras: dict = field(default_factory=dict)  # the mapping's model = true properties: owner -> {property: kind}
    groups: bool = False  # the graph has corporate groups and the model reads them (GROUP_USES_EDGE)
    too_rare: list[str] = field(default_factory=list)  # customer categories whose every value is under RARE_SHARE
    gaps: list[str] = field(default_factory=list)  # customer numbers with a missing value: a flag column each
    co_neighbours: int = CO_NEIGHBOURS_BEFORE  # EASE neighbours per product in the item channel (co_neighbours())

    @classmethod
    def fit(
        cls,
        tables: GraphTables,
        interactions: pd.DataFrame | None = None,
        ignore: Iterable[str] = (),
        asof: float | None = None,
    ) -> Encoders:
        """Learn the encodings; edge statistics come from ``interactions`` (default: all of them).

        ``ignore``: attributes left out as if they had no value; ``asof``: the date recency is
        measured from (default: the latest interaction's).
        """
        interactions = tables.interactions if interactions is None else interactions
        enc = cls(sorted(tables.customers["customerId"]), sorted(tables.products["productId"]))
        for column in CUSTOMER_CATEGORIES:
            enc.vocabularies[column] = _vocabulary(tables.customers[column], RARE_SHARE)
        for column in PRODUCT_CATEGORIES:
            enc.vocabularies[column] = _vocabulary(tables.products[column])
        for context in CONTEXTS:
            if context.many:
                enc.vocabularies[context.prop] = _vocabulary(tables.products[context.prop].explode())
        for column, log in CUSTOMER_NUMBERS.items():
            enc.scales[column] = _scale(_numbers(tables.customers[column], log))
        enc.extras = {owner: dict(props) for owner, props in tables.features.items()}
        extra_values = {}
        for owner, table in (("Customer", tables.customers), ("Product", tables.products)):
            for prop, kind in enc.extras.get(owner, {}).items():
                values = table[prop] if prop in table else pd.Series(dtype=object)
                if kind == "category":
                    rare = RARE_SHARE if owner == "Customer" else 0.0
                    enc.vocabularies[f"{owner}.{prop}"] = _vocabulary(values, rare)
                else:
                    enc.scales[f"{owner}.{prop}"] = _scale(_numbers(values, False))
                    extra_values[f"{owner}.{prop}"] = values
        enc.cutoff = float(interactions["lastDate"].max()) if len(interactions) else 0.0
        if asof is not None:
            enc.cutoff = float(asof)
        edges = edge_table(interactions, enc.cutoff)
        for column, log in EDGE_NUMBERS.items():
            enc.scales["edge." + column] = _scale(_numbers(edges[column], log))
        numbers = {c: tables.customers[c] for c in CUSTOMER_NUMBERS} | {"edge." + c: edges[c] for c in EDGE_NUMBERS}
        numbers |= extra_values
        enc.dropped = [name for name, values in enc.vocabularies.items() if not values]
        enc.too_rare = [  # a customer category with values, each under RARE_SHARE
            name
            for name in enc.dropped
            if (name in CUSTOMER_CATEGORIES or name.startswith("Customer."))
            and tables.customers.get(name.removeprefix("Customer."), pd.Series(dtype=object)).notna().any()
        ]
        enc.dropped += [name for name, values in numbers.items() if not np.isfinite(_numbers(values, False)).any()]
        enc.gaps = [  # a customer number with a value somewhere and a gap somewhere
            name
            for name, values in numbers.items()
            if not name.startswith(("edge.", "Product."))
            and name not in enc.dropped
            and not np.isfinite(_numbers(values, False)).all()
        ]
        grouped = group_codes(tables.customers) is not None
        enc.ignored = [name for name in ignore if name not in enc.dropped and (name != GROUP_KEY or grouped)]
        enc.dropped += enc.ignored
        enc.groups = grouped and GROUP_KEY not in enc.ignored
        return enc

    def fit_behaviour(self, values: dict | None, earliest: dict | None, groups: Iterable[str] = ()) -> None:
        """Learn the scales of the behaviour features of ``groups`` (:mod:`wbgraph.gnn.behaviour`) from
        ``values`` (at validation's question; None: the latest protocol, which has no periods). One that
        is unknown or one value for every customer at the last training window (``earliest``, the
        question the GAT part learns from before validation; None: none) is left out: the model
        could not learn what it means."""
        for name in expand(groups):
            x = transform(name, values[name]) if values is not None else np.full(1, np.nan)
            first = transform(name, earliest[name]) if earliest is not None else np.full(1, np.nan)
            if not all(np.isfinite(v).any() and np.ptp(v[np.isfinite(v)]) > 1e-12 for v in (x, first)):
                self.dropped.append(name)
                continue
            self.scales["behaviour." + name] = _scale(x)
            self.behaviour.append(name)

    def with_newcomers(self, tables: GraphTables) -> Encoders:
        """These encodings with the customers and products of ``tables`` they never saw appended
        (in ID order), for serving newcomers without retraining: every learned vocabulary and
        scale stays, so the known customers and products keep their positions."""
        from dataclasses import replace

        known_c, known_p = set(self.customer_ids), set(self.product_ids)
        new_c = sorted(set(tables.customers["customerId"]) - known_c)
        new_p = sorted(set(tables.products["productId"]) - known_p)
        return replace(self, customer_ids=self.customer_ids + new_c, product_ids=self.product_ids + new_p)

    def notes(self) -> list[str]:
        """One line per feature the data has no value for, which the model therefore does without."""
        return [
            f"{name.removeprefix('edge.')}: "
            + (
                "left out of the model on request (ignore)"
                if name in self.ignored
                else f"every value held by under {RARE_SHARE:.0%} of the customers, left out of the model"
                if name in self.too_rare
                else "needs the as-of protocol and a last training window that looks back as far: left out of the model"
                if name in FEATURES
                else "no value in the data, left out of the model"
            )
            for name in self.dropped
        ]

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Encoders:
        data = json.loads(text)
        data["scales"] = {k: tuple(v) for k, v in data["scales"].items()}
        return cls(**data)

    def customer_index(self, ids: Iterable) -> np.ndarray:
        """Positions of customer IDs in the model (-1 for IDs the model never saw)."""
        return _index(self.customer_ids, ids)

    def product_index(self, ids: Iterable) -> np.ndarray:
        return _index(self.product_ids, ids)

    def customer_features(self, customers: pd.DataFrame, behaviour: dict | None = None) -> torch.Tensor:
        """One row per customer: its attributes, and its :attr:`behaviour` features as known at the
        question (``behaviour``, zero where not given); a constant column when there is nothing at all."""
        rows = customers.set_index("customerId").reindex(self.customer_ids)
        parts = [_one_hot(rows[c], self.vocabularies[c]) for c in CUSTOMER_CATEGORIES if c not in self.dropped]
        for column, log in CUSTOMER_NUMBERS.items():
            if column not in self.dropped:
                parts += self._number(rows[column], column, log)
        parts += self._extras("Customer", rows)
        for name in self.behaviour:
            mean, std = self.scales["behaviour." + name]
            values = behaviour[name] if behaviour is not None else np.full(len(rows), np.nan)
            parts.append(np.nan_to_num((transform(name, values) - mean) / std, nan=0.0).reshape(-1, 1))
        if not sum(p.shape[1] for p in parts):
            parts = [np.ones((len(rows), 1), dtype="float32")]  # customers are then known by their products alone
        return torch.tensor(np.hstack(parts), dtype=torch.float32)

    def product_features(self, products: pd.DataFrame) -> torch.Tensor:
        rows = products.set_index("productId").reindex(self.product_ids)
        parts = [_one_hot(rows[c], self.vocabularies[c]) for c in PRODUCT_CATEGORIES if c not in self.dropped]
        vocabulary = [] if "regulations" in self.dropped else self.vocabularies["regulations"]
        counts = np.zeros((len(rows), len(vocabulary)), dtype="float32")  # how often each regulation is listed
        listed = rows["regulations"].apply(lambda v: v if isinstance(v, list) else []).reset_index(drop=True).explode()
        listed = listed[listed.notna()]
        column = _index(vocabulary, listed.to_numpy())
        known = column >= 0
        np.add.at(counts, (listed.index.to_numpy()[known], column[known]), 1.0)
        parts.append(counts)
        parts += self._extras("Product", rows)
        return torch.tensor(np.hstack(parts), dtype=torch.float32)

    def _extras(self, owner: str, rows: pd.DataFrame) -> list[np.ndarray]:
        """The mapping's ``model = true`` properties of ``owner``: categories one-hot, numbers standardised."""
        out = []
        for prop, kind in self.extras.get(owner, {}).items():
            name = f"{owner}.{prop}"
            if name in self.dropped:
                continue
            values = rows[prop] if prop in rows else pd.Series(np.nan, index=rows.index, dtype=object)
            if kind == "category":
                out.append(_one_hot(values, self.vocabularies[name]))
            else:
                out += self._number(values, name, False)
        return out

    def _number(self, values: pd.Series, name: str, log: bool) -> list[np.ndarray]:
        """A number standardised (missing: the mean) and, when it has gaps (:attr:`gaps`), a flag
        of where it is missing: on the bank's month, where the income is missing (a third of the
        customers) says something of its own (validation NDCG@10 with rare values collapsed and
        the scaled decoder: 0.8405 without the flags, 0.8453 with them, five seeds)."""
        out = [self._standard(values, name, log)]
        if name in self.gaps:
            out.append((~np.isfinite(_numbers(values, False))).astype("float32").reshape(-1, 1))
        return out

    def edge_features(self, interactions: pd.DataFrame, asof: float | None = None) -> torch.Tensor:
        """The interaction attributes, recency measured from ``asof`` (default: :attr:`cutoff`)."""
        edges = edge_table(interactions, self.cutoff if asof is None else asof)
        parts = [
            self._standard(edges[c], "edge." + c, log)
            for c, log in EDGE_NUMBERS.items()
            if "edge." + c not in self.dropped
        ]
        return torch.tensor(np.hstack(parts), dtype=torch.float32)

    def _standard(self, values: pd.Series, name: str, log: bool) -> np.ndarray:
        mean, std = self.scales[name]
        out = (_numbers(values, log) - mean) / std
        return np.nan_to_num(out, nan=0.0).reshape(-1, 1)


def edge_table(interactions: pd.DataFrame, cutoff: float) -> pd.DataFrame:
    """The interaction columns the edge features are made of (recency in days before the cutoff).

    The money feature is the pair's total value in the reporting currency where the mapping
    gave rates and every value was converted, else its total in its one currency.
    """
    out = interactions[["transactionCount", "totalValue", "meanUsage", "meanEngagement"]].copy()
    if "totalValueReporting" in interactions:  # money in the reporting currency, where a mapping gave rates
        out["totalValue"] = interactions["totalValueReporting"].combine_first(interactions["totalValue"])
    out["recencyDays"] = (cutoff - pd.to_numeric(interactions["lastDate"], errors="coerce")) / 86_400.0
    first = pd.to_numeric(interactions["firstDate"], errors="coerce")
    out["historyRank"] = latest_first(interactions).astype("float64")
    out["historyShare"] = out["historyRank"] / interactions.groupby("customerId")["productId"].transform("size")
    out["daysBeforeLatest"] = (first.groupby(interactions["customerId"]).transform("max") - first) / 86_400.0
    return out


def build_graph(
    tables: GraphTables,
    enc: Encoders,
    interactions: pd.DataFrame,
    asof: float | None = None,
    behaviour: dict | None = None,
) -> HeteroData:
    """The heterogeneous graph with ``interactions`` as its customer -> product edges, plus reverses.

    ``asof``: the date the interactions are known at (recency is measured from it; default
    the encoders' :attr:`Encoders.cutoff`); ``behaviour``: the customers' behaviour features then."""
    data = HeteroData()
    data["customer"].x = enc.customer_features(tables.customers, behaviour)
    data["customer"].num_nodes = len(enc.customer_ids)
    product_x = enc.product_features(tables.products)
    if product_x.shape[1]:  # without any product attribute, products are their ID embeddings alone
        data["product"].x = product_x
    data["product"].num_nodes = len(enc.product_ids)
    src = enc.customer_index(interactions["customerId"])
    dst = enc.product_index(interactions["productId"])
    keep = (src >= 0) & (dst >= 0)
    data[USES].edge_index = torch.tensor(np.vstack([src[keep], dst[keep]]), dtype=torch.long)
    data[USES].edge_attr = enc.edge_features(interactions[keep], asof)
    owners = {
        "Customer": (tables.customers.set_index("customerId").reindex(enc.customer_ids), enc.customer_ids),
        "Product": (tables.products.set_index("productId").reindex(enc.product_ids), enc.product_ids),
    }
    for context in CONTEXTS:
        if context.prop in enc.dropped:  # no value anywhere: no such context node
            continue
        vocab = enc.vocabularies[context.prop]
        data[context.node_type].num_nodes = len(vocab)
        table, ids = owners[context.owner]
        values = table[context.prop].explode() if context.many else table[context.prop]
        position = {v: i for i, v in enumerate(ids)}
        src_ids = values.index.map(position).to_numpy()
        dst_idx = _index(vocab, values.to_numpy())
        ok = dst_idx >= 0
        data[context.edge_type].edge_index = torch.tensor(np.vstack([src_ids[ok], dst_idx[ok]]), dtype=torch.long)
    if enc.groups:  # what the rest of each member's group holds, one attention round away
        group = data[GROUP_USES_EDGE]
        group.edge_index, group.edge_attr = group_edges(tables.customers, enc, src[keep], dst[keep])
    for edge_type in list(data.edge_types):  # reverse edges for message passing both ways
        src_type, relation, dst_type = edge_type
        store = data[edge_type]
        reverse = data[dst_type, "rev_" + relation, src_type]
        reverse.edge_index = store.edge_index.flip(0)
        if "edge_attr" in store:
            reverse.edge_attr = store.edge_attr
    if enc.co_lambda is not None:
        held = interaction_matrix(src[keep], dst[keep], len(enc.customer_ids), len(enc.product_ids))
        co = data[CO_ADOPTED]
        co.edge_index, co.edge_weight = ease_neighbours(held, enc.co_lambda, enc.co_neighbours)
        if len(enc.product_ids) > DENSE_CHANNEL_PRODUCTS:  # the model gathers: keep its plan with the graph
            co.gather_edge, co.gather_target, co.gather_weight = channel_plan(
                data[USES].edge_index, co.edge_index, co.edge_weight, len(enc.product_ids)
            )
    return data


def group_edges(
    customers: pd.DataFrame, enc: Encoders, customer: np.ndarray, product: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor]:
    """``([2, edges], [edges, 1])``: each member of a corporate group to every product another
    member of its group holds in ``customer``/``product`` (the interactions known then), whether
    or not it holds the product itself (so an edge says nothing of the member's own holdings,
    which a training task may hide), with the share of the rest of the group holding it."""
    from scipy import sparse

    key = customers.set_index("customerId")[GROUP_KEY].reindex(enc.customer_ids)
    codes, found = pd.factorize(key)  # -1: no group
    n_c, n_p = len(enc.customer_ids), len(enc.product_ids)
    member = np.flatnonzero(codes >= 0)
    belongs = sparse.csr_matrix((np.ones(len(member)), (member, codes[member])), shape=(n_c, max(len(found), 1)))
    held = sparse.csr_matrix((np.ones(len(customer)), (customer, product)), shape=(n_c, n_p)).sign()
    mates = (belongs @ (belongs.T @ held) - held).tocoo()  # the other members holding each product
    keep = mates.data > 0
    size = np.bincount(codes[member], minlength=len(found))  # members the model knows, per group
    others = np.maximum(size[codes[mates.row[keep]]] - 1, 1)
    index = torch.tensor(np.vstack([mates.row[keep], mates.col[keep]]), dtype=torch.long)
    return index, torch.tensor(mates.data[keep] / others, dtype=torch.float32)[:, None]


def group_codes(customers: pd.DataFrame) -> np.ndarray | None:
    """Each customer's corporate group as a code (-1: alone), in the table's order; None when the
    data has no groups (no hierarchy loaded, or the run leaves it out)."""
    if GROUP_KEY not in customers or not customers[GROUP_KEY].notna().any():
        return None
    return pd.factorize(customers[GROUP_KEY])[0]


def group_popularity(held: torch.Tensor, group: np.ndarray) -> torch.Tensor:
    """The share of the rest of the customer's corporate group holding each product (0 alone).

    ``group``: each customer's group code, -1 for a customer alone."""
    code = torch.tensor(np.asarray(group), dtype=torch.long)
    member = code >= 0
    n_groups = int(code.max()) + 1 if member.any() else 1
    per_group = torch.zeros(n_groups, held.shape[1]).index_add_(0, code[member], held[member])
    size = torch.bincount(code[member], minlength=n_groups).float()
    out = torch.zeros_like(held)
    others = (size[code[member]] - 1).clamp(min=1)[:, None]
    out[member] = (per_group[code[member]] - held[member]) / others
    return out


@dataclass
class Stage:
    """One question of the protocol: the interactions known at ``asof``, and the products then newly taken.

    ``rows`` are the interactions as known then (only the customers and products the model
    knows), ``customer``/``product`` their model indices; ``answer_customer``/``answer_product``
    the pairs newly taken after it (none where that is not known, e.g. when serving).
    """

    rows: pd.DataFrame
    customer: np.ndarray
    product: np.ndarray
    answer_customer: np.ndarray
    answer_product: np.ndarray
    asof: float  # epoch seconds: recency is measured from here
    shape: tuple[int, int]  # customers, products
    behaviour: dict | None = None  # the customers' behaviour features then (as-of only; wbgraph.gnn.behaviour)

    @classmethod
    def of(
        cls,
        enc: Encoders,
        rows: pd.DataFrame,
        answers: pd.DataFrame | None,
        asof: float,
        behaviour: dict | None = None,
    ) -> Stage:
        """The stage of ``rows`` (known) and ``answers`` (customerId, productId newly taken), in ``enc``'s indices."""
        c, p = enc.customer_index(rows["customerId"]), enc.product_index(rows["productId"])
        keep = (c >= 0) & (p >= 0)
        rows = rows[keep].reset_index(drop=True)
        ac = enc.customer_index(answers["customerId"]) if answers is not None else np.zeros(0, dtype=np.int64)
        ap = enc.product_index(answers["productId"]) if answers is not None else np.zeros(0, dtype=np.int64)
        ok = (ac >= 0) & (ap >= 0)
        shape = (len(enc.customer_ids), len(enc.product_ids))
        return cls(rows, c[keep], p[keep], ac[ok], ap[ok], asof, shape, behaviour)

    @classmethod
    def from_matrices(
        cls,
        held: torch.Tensor,
        answers: torch.Tensor | None = None,
        dates: torch.Tensor | None = None,
        asof: float = 0.0,
    ) -> Stage:
        """A stage from [customers, products] matrices, for notebooks and tests: IDs are positions,
        ``dates`` (epoch seconds) each holding's first (and last) transaction, default 0."""
        c, p = held.nonzero(as_tuple=True)
        when = dates[c, p].double().numpy() if dates is not None else np.zeros(len(c))
        rows = pd.DataFrame(
            {"customerId": c.numpy().astype(str), "productId": p.numpy().astype(str), "transactionCount": 1}
        ).assign(firstDate=when, lastDate=when)
        ac, ap = answers.nonzero(as_tuple=True) if answers is not None else (torch.zeros(0, dtype=torch.long),) * 2
        return cls(rows, c.numpy(), p.numpy(), ac.numpy(), ap.numpy(), asof, tuple(held.shape))

    def held(self) -> torch.Tensor:
        """What each customer holds (held at some time before ``asof``), as a bool [customers, products] matrix."""
        return interaction_matrix(self.customer, self.product, *self.shape).bool()

    def answers(self) -> torch.Tensor:
        """The products newly taken, as a bool [customers, products] matrix."""
        return interaction_matrix(self.answer_customer, self.answer_product, *self.shape).bool()

    def graph(self, tables: GraphTables, enc: Encoders) -> HeteroData:
        """The graph a model sees at this stage: its rows as the interaction edges, recency from ``asof``."""
        return build_graph(tables, enc, self.rows, self.asof, self.behaviour)

    def sees_as(self, other: Stage) -> bool:
        """Whether this stage's graph is ``other``'s: the same rows known at the same date."""
        if self is other:
            return True
        same_behaviour = self.behaviour is None and other.behaviour is None
        return same_behaviour and self.asof == other.asof and self.rows.equals(other.rows)


@dataclass
class Prepared:
    """The exported tables, their encoders, the protocol's questions and the two graphs the model sees.

    ``val`` asks what comes after the training-time view (the model learns on its rows, every
    choice is made on its answers), ``test`` what comes after the test-time view (read once);
    ``history`` are earlier questions with their answers (the item channel's task, the
    boosted tree's examples), ``refit`` the question a model refitted for the test time learns
    from, ``everything`` all interactions (for serving). Under the ``latest`` protocol they
    come from each customer's temporal split (:mod:`wbgraph.gnn.split`), under ``asof`` from
    the periods before a cutoff (:mod:`wbgraph.gnn.asof`).
    """

    tables: GraphTables
    encoders: Encoders
    history: list[Stage]
    val: Stage
    test: Stage
    refit: Stage
    everything: Stage
    train_graph: HeteroData  # message passing over the training-time view (val's rows)
    test_graph: HeteroData  # ... over the test-time view (test's rows)
    protocol: dict = field(default_factory=dict)  # name, and for asof cutoff, horizon, windows
    split: Split | None = None  # the latest protocol's masks over tables.interactions
    declined: pd.DataFrame | None = None  # customerId, productId, decided (epoch seconds): --hard-negatives

    def declined_before(self, when: float | None) -> tuple[np.ndarray, np.ndarray] | None:
        """``(customer, product)`` model indices of the offers declined before ``when`` (epoch
        seconds; None: all of them), pairs the model does not know left out; None without any."""
        if self.declined is None or not len(self.declined):
            return None
        rows = self.declined if when is None else self.declined[self.declined["decided"] < when]
        c = self.encoders.customer_index(rows["customerId"])
        p = self.encoders.product_index(rows["productId"])
        keep = (c >= 0) & (p >= 0)
        return (c[keep], p[keep]) if keep.any() else None

    @property
    def n_customers(self) -> int:
        return len(self.encoders.customer_ids)

    @property
    def n_products(self) -> int:
        return len(self.encoders.product_ids)

    def graph_of(self, stage: Stage) -> HeteroData:
        """The graph the model sees at ``stage``: the training graph when ``stage`` is the training-time
        view (the refit's question is, under both protocols), else built (the item channel's EASE
        neighbours are most of that: about 2 s on MovieLens)."""
        return self.train_graph if stage.sees_as(self.val) else stage.graph(self.tables, self.encoders)

    def customers(self) -> pd.DataFrame:
        """The customer table in model order (one row per model index)."""
        return self.tables.customers.set_index("customerId").reindex(self.encoders.customer_ids).reset_index()

    def products(self) -> pd.DataFrame:
        """The product table in model order (one row per model index)."""
        return self.tables.products.set_index("productId").reindex(self.encoders.product_ids).reset_index()

    def peer_groups(self) -> np.ndarray:
        """Each customer's peer group, its (type, industry), as a small integer (a missing fact is a value too)."""
        return peer_groups(self.customers())

    def side(self, seed: int = 0) -> Side:
        """:class:`Side` of this data: what the baselines may know, the attributes the run ignores left out."""
        ignored = set(self.encoders.ignored)
        customers = self.customers().drop(columns=[c for c in ignored if c in self.tables.customers])
        products = self.products().drop(columns=[c for c in ignored if c in self.tables.products])
        for column in ("customerType", "industry"):  # the peer group without an ignored attribute
            if column not in customers:
                customers[column] = None
        horizon = Horizon.parse(self.protocol["horizon"]).days if self.protocol.get("name") == "asof" else None
        extras = {
            owner: {p: k for p, k in props.items() if f"{owner}.{p}" not in self.encoders.dropped}
            for owner, props in self.encoders.extras.items()
        }
        segments = peer_groups(customers)
        return Side(customers, products, segments, horizon, seed, features=extras, behaviour=self.encoders.behaviour)


@dataclass
class Side:
    """What every method may know besides the interactions: attributes, peer groups, the horizon.

    ``customers`` and ``products`` are in model order, without the attributes the run leaves
    out (``ignore``), ``features`` the mapping's ``model = true`` properties among their columns,
    ``behaviour`` the customer behaviour features the model has (the boosted tree gets them too);
    ``cache`` holds what several methods share within one evaluation (EASE's
    chosen regularisation, item-item products of one matrix).
    """

    customers: pd.DataFrame
    products: pd.DataFrame
    segments: np.ndarray
    horizon_days: float | None  # the as-of protocol's horizon; None under the latest protocol
    seed: int = 0
    cache: dict = field(default_factory=dict)
    features: dict = field(default_factory=dict)  # the mapping's model = true properties: owner -> {property: kind}
    behaviour: list = field(default_factory=list)  # the behaviour features the model has (Encoders.behaviour)


def peer_groups(customers: pd.DataFrame) -> np.ndarray:
    """:meth:`Prepared.peer_groups` of a customer table in model order."""
    key = customers["customerType"].fillna("").astype(str) + "|" + customers["industry"].fillna("").astype(str)
    return key.astype("category").cat.codes.to_numpy()


def prepare(
    driver: neo4j.Driver,
    settings: Settings,
    filters: dict,
    encoders: Encoders | None = None,
    progress: Progress = SILENT,
    holdout_share: float = HOLDOUT_SHARE,
    ignore: tuple[str, ...] = (),
    behaviour: tuple[str, ...] = (),
) -> Prepared:
    """Export the graph, split it in time and build the graphs the model sees.

    ``filters`` are :meth:`wbgraph.config.TrainConfig.filters`: with a ``horizon`` the
    as-of protocol. With ``encoders`` (from a saved run) the export maps exactly as it did for that run.
    """
    tables = fetch(driver, settings, progress=progress, **filters)
    return prepare_tables(tables, encoders, holdout_share, ignore, behaviour)


def prepare_tables(
    tables: GraphTables,
    encoders: Encoders | None = None,
    holdout_share: float = HOLDOUT_SHARE,
    ignore: tuple[str, ...] = (),
    behaviour: tuple[str, ...] = (),
) -> Prepared:
    """The protocol's questions and the graphs the model sees, from exported tables (no database needed).

    Tables with periods (exported with a horizon) follow the as-of protocol, others each
    customer's temporal split. ``ignore``: customer or product attributes left out of the
    model (and of every attribute-using baseline), as if the data had no value for them;
    ``behaviour``: groups of the customers' behaviour features added to the model (as-of only).
    """
    if len(tables.interactions) == 0:
        raise NotEnoughData(
            "No customer -> product interactions in the graph (or in the chosen window): ingest data first."
        )
    if tables.periods is not None:
        return _prepare_asof(tables, encoders, ignore, behaviour)
    split = temporal_split(tables.interactions, holdout_share)
    if split.val.sum() == 0:
        raise NotEnoughData(
            "No customer has 3 or more adopted products: nothing to hold out for validation and testing."
        )
    interactions = tables.interactions
    fresh = encoders is None
    if fresh:
        encoders = Encoders.fit(tables, interactions[split.train], ignore)
        encoders.fit_behaviour(None, None, behaviour)  # no periods: each one requested is noted as left out
    at = encoders.cutoff

    def stage(known: np.ndarray, answers: np.ndarray | None) -> Stage:
        return Stage.of(encoders, interactions[known], None if answers is None else interactions[answers], at)

    def one_level_down(known: np.ndarray) -> Stage:  # each customer's latest known interactions from its earlier ones
        target = supervision_split(interactions, known, holdout_share)
        return stage(known & ~target, target)

    everything = np.ones(len(interactions), dtype=bool)
    history = [one_level_down(split.train)]
    if fresh:
        _fit_item_channel(encoders, history[-1], len(tables.interactions))
    val, test = stage(split.train, split.val), stage(split.train | split.val, split.test)
    return Prepared(
        tables,
        encoders,
        history,
        val,
        test,
        one_level_down(split.train | split.val),
        stage(everything, None),
        val.graph(tables, encoders),
        test.graph(tables, encoders),
        {"name": "latest", "holdoutShare": holdout_share},
        split,
    )


def _prepare_asof(
    tables: GraphTables, encoders: Encoders | None, ignore: tuple[str, ...] = (), groups: tuple[str, ...] = ()
) -> Prepared:
    """:func:`prepare_tables` under the as-of protocol (:mod:`wbgraph.gnn.asof`)."""
    periods = tables.periods
    parts, bounds = periods.parts, periods.boundaries
    cut = len(bounds) - 2  # the cutoff's boundary: periods up to it are known before the cutoff
    known = _known_at(tables, cut)
    first = first_periods(parts)
    views = {b: known_before(parts, b) for b in range(1, cut + 1)}

    def answers(boundary: int) -> pd.DataFrame:
        """Pairs first taken in [bounds[boundary], bounds[boundary + 1]) by customers known before it."""
        taken = first[first["period"] == boundary + 1]
        return taken[taken["customerId"].isin(set(views[boundary]["customerId"]))]

    if cut < 2 or not len(views[cut - 1]) or not len(answers(cut - 1)):
        day = pd.Timestamp(bounds[-2], unit="s", tz="UTC").date()
        raise NotEnoughData(
            f"Nothing to validate on before the cutoff {day}: the as-of protocol needs interactions known one "
            f"horizon ({periods.horizon}) before it and products newly taken in that horizon; choose a later "
            "--cutoff or a shorter --horizon."
        )
    fresh = encoders is None
    if fresh:
        encoders = Encoders.fit(known, views[cut - 1], ignore, asof=bounds[cut - 1])
    part_c, part_p = encoders.customer_index(parts["customerId"]), encoders.product_index(parts["productId"])
    start = int(parts["period"].min())

    def doings(boundary: int) -> dict | None:
        if not (groups or encoders.behaviour):
            return None
        return behaviour(parts, part_c, part_p, boundary, len(encoders.customer_ids), len(encoders.product_ids), start)

    def stage(boundary: int, asked: bool = True) -> Stage:
        return Stage.of(
            encoders, views[boundary], answers(boundary) if asked else None, bounds[boundary], doings(boundary)
        )

    history = [stage(b) for b in range(1, cut - 1) if len(views[b]) and len(answers(b))]
    val = stage(cut - 1)
    if not history:  # no earlier window: the latest of each customer's interactions then, from its earlier ones
        rows = views[cut - 1]
        target = supervision_split(rows, np.ones(len(rows), dtype=bool))
        history = [Stage.of(encoders, rows[~target], rows[target], bounds[cut - 1])]  # no behaviour: not a date's
    if fresh:
        encoders.fit_behaviour(val.behaviour, history[-1].behaviour, groups)
        _fit_item_channel(encoders, history[-1], len(tables.interactions))
    test = stage(cut, asked=cut + 1 < len(bounds))
    latest = float(pd.to_numeric(tables.interactions["lastDate"], errors="coerce").max())
    now = doings(int(parts["period"].max()))
    everything = Stage.of(encoders, tables.interactions, None, max(latest, bounds[cut]), now)
    protocol = _asof_protocol(tables, known, first, views[cut], cut, len(history))
    return Prepared(
        known,
        encoders,
        history,
        val,
        test,
        val,
        everything,
        val.graph(known, encoders),
        test.graph(known, encoders),
        protocol,
    )


def _known_at(tables: GraphTables, cut: int) -> GraphTables:
    """The tables as known before the cutoff's boundary ``cut``: its customers, products and interactions."""
    parts = tables.periods.parts
    before = parts[parts["period"] <= cut]
    return GraphTables(
        tables.customers[tables.customers["customerId"].isin(set(before["customerId"]))].reset_index(drop=True),
        tables.products[tables.products["productId"].isin(set(before["productId"]))].reset_index(drop=True),
        known_before(parts, cut),
        tables.periods,
        tables.features,
    )


def _asof_protocol(
    tables: GraphTables, known: GraphTables, first: pd.DataFrame, at_cutoff: pd.DataFrame, cut: int, windows: int
) -> dict:
    """``metrics.json``'s ``protocol`` under as-of: the dates of each question, the training windows,
    and who is left out (customers unknown at the cutoff; the test's new customers, ``first`` seen
    after ``at_cutoff``'s interactions)."""
    bounds, horizon = tables.periods.boundaries, tables.periods.horizon
    day = lambda seconds: pd.Timestamp(seconds, unit="s", tz="UTC").date().isoformat()
    newcomers = first[(first["period"] == cut + 1) & ~first["customerId"].isin(set(at_cutoff["customerId"]))]
    return {
        "name": "asof",
        "cutoff": day(bounds[cut]),
        "horizon": horizon,
        "validation": [day(bounds[cut - 1]), day(bounds[cut])],
        "test": [day(bounds[cut]), day(bounds[cut + 1])],
        "trainingWindows": windows,
        "leftOut": {
            "customers": int(tables.customers["customerId"].nunique() - known.customers["customerId"].nunique()),
            "testCustomers": int(newcomers["customerId"].nunique()),
        },
    }


def _fit_item_channel(enc: Encoders, task: Stage, interactions: int) -> None:
    """The item channel's EASE settings, kept in the encoders: its lambda (:func:`choose_co_lambda`,
    on ``task``) and how many neighbours a product keeps (:func:`co_neighbours`)."""
    enc.co_lambda = choose_co_lambda(task, enc)
    enc.co_neighbours = co_neighbours(interactions, len(enc.product_ids))


def co_neighbours(interactions: int, products: int) -> int:
    """How many EASE neighbours per product the item channel keeps: :data:`CO_NEIGHBOURS`, fewer
    where the channel gathers (over :data:`DENSE_CHANNEL_PRODUCTS` products) and its plan, one
    entry per held product and neighbour in every graph, would pass :data:`PLAN_ENTRIES`; never
    fewer than :data:`CO_NEIGHBOURS_BEFORE` (ml-latest-small's 100,836 ratings keep 250)."""
    if products <= DENSE_CHANNEL_PRODUCTS:
        return CO_NEIGHBOURS
    return max(CO_NEIGHBOURS_BEFORE, min(CO_NEIGHBOURS, PLAN_ENTRIES // max(interactions, 1)))


def choose_co_lambda(task: Stage, enc: Encoders) -> float | None:
    """EASE's regularisation for the item channel, chosen on a question before validation.

    ``task`` is the earliest-level question (a training window, or each customer's latest
    training interactions from its earlier ones): EASE fitted on what it knows predicts its
    answers, for each of :data:`CO_LAMBDAS`; the best NDCG@10 wins. Validation and test are
    not read. None (no channel) when both the customers and the products outnumber
    :data:`EASE_MAX_SIDE` or nothing can be predicted.
    """
    from .metrics import ranking_metrics, ranking_metrics_by_chunks

    n_c, n_p = len(enc.customer_ids), len(enc.product_ids)
    if min(n_c, n_p) > EASE_MAX_SIDE:
        return None
    if not len(task.answer_customer) or not len(task.customer):
        return None
    seen = task.held().float()
    wanted = task.answers()
    if n_c < n_p:
        tried = {lam: ranking_metrics(ease(seen, lam), wanted, seen.bool(), ks=(10,)) for lam in CO_LAMBDAS}
    else:  # B once per lambda, X B a block of customers at a time: no customers x products float64 copies
        xx, rows = gram(seen), torch.nonzero(wanted.any(1)).flatten().split(EASE_BLOCK)
        tried = {}
        for lam in CO_LAMBDAS:
            b = ease_weights(xx, lam)
            blocks = (((seen[r].double() @ b).float(), wanted[r], seen[r].bool()) for r in rows)
            tried[lam] = ranking_metrics_by_chunks(blocks, n_p, ks=(10,))
    tried = {lam: figures["ndcg@10"] for lam, figures in tried.items()}
    return max(tried, key=lambda lam: (tried[lam], -lam))


def _vocabulary(values: pd.Series, rare_share: float = 0.0) -> list[str]:
    """The values (as text) of a category, each held by at least ``rare_share`` of the rows.

    A rarer value gets no column of its own: its one-hot row is all zeros, as if missing.
    With a column per value the model memorises the few customers of each rare one (on the
    bank's month: 100 of the 109 joining channels have under 200 of its 24,721 customers);
    measured on validation (docs/benchmarks.md), the GAT part's NDCG@10 rose from 0.8275 to
    0.8415 (mean of three seeds; with the scaled decoder 0.8361 -> 0.8405, five seeds).
    """
    counts = values.dropna().astype(str).value_counts()
    return sorted(counts.index[counts >= rare_share * len(values)]) if len(counts) else []


def _numbers(values: pd.Series, log: bool) -> np.ndarray:
    arr = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
    return np.log1p(np.clip(arr, 0, None)) if log else arr


def _scale(arr: np.ndarray) -> tuple[float, float]:
    finite = arr[np.isfinite(arr)]
    if not len(finite):
        return (0.0, 1.0)
    std = float(finite.std())
    return (float(finite.mean()), std if std > 1e-12 else 1.0)


def _one_hot(values: pd.Series, vocabulary: list[str]) -> np.ndarray:
    out = np.zeros((len(values), len(vocabulary)), dtype="float32")
    idx = _index(vocabulary, values.astype(object).where(values.notna(), None).to_numpy())
    rows = np.flatnonzero(idx >= 0)
    out[rows, idx[rows]] = 1.0
    return out


def _index(vocabulary: list[str], values) -> np.ndarray:
    """Each value's position in ``vocabulary``, -1 where it is not there or missing; a value is
    looked up as its text. Text columns (IDs) are looked up at once, not a value at a time."""
    values = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    index = pd.Index(vocabulary, dtype=object)
    if not index.is_unique:  # the first position of a repeated entry would be ambiguous: the last one wins
        position = {v: i for i, v in enumerate(vocabulary)}
        return np.array([position.get(v if v is None else str(v), -1) for v in values], dtype=np.int64)
    if not isinstance(values.dtype, pd.StringDtype):
        values = values.astype(object).map(lambda v: v if v is None else str(v))
    return index.get_indexer(values.astype(object)).astype(np.int64)
