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
from ..graphmodel import CONTEXTS, REV_USES_EDGE, USES_EDGE
from ..progress import SILENT, Progress
from .baselines import EASE_MAX_SIDE, ease, ease_neighbours, ease_weights, gram, interaction_matrix
from .export import GraphTables, fetch
from .model import CO_ADOPTED, DENSE_CHANNEL_PRODUCTS, channel_plan
from .split import HOLDOUT_SHARE, Split, latest_first, supervision_split, temporal_split

USES = USES_EDGE
REV_USES = REV_USES_EDGE
CO_NEIGHBOURS = 100  # strongest EASE neighbours kept per product
CO_LAMBDAS = (10.0, 50.0, 200.0, 500.0)
EASE_BLOCK = 20_000  # customers scored at a time when the item channel's lambda is chosen
CUSTOMER_CATEGORIES = ("customerType", "industry", "location", "relationshipManager", "riskRating")
CUSTOMER_NUMBERS = {
    "companySize": True,
    "creditScore": False,
    "defaultProbability": False,
    "exposure": True,
}  # True: log scale
PRODUCT_CATEGORIES = ("productType", "category", "subcategory", "features")
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

    @classmethod
    def fit(cls, tables: GraphTables, interactions: pd.DataFrame | None = None) -> Encoders:
        """Learn the encodings; edge statistics come from ``interactions`` (default: all of them)."""
        interactions = tables.interactions if interactions is None else interactions
        enc = cls(sorted(tables.customers["customerId"]), sorted(tables.products["productId"]))
        for column in CUSTOMER_CATEGORIES:
            enc.vocabularies[column] = _vocabulary(tables.customers[column])
        for column in PRODUCT_CATEGORIES:
            enc.vocabularies[column] = _vocabulary(tables.products[column])
        for context in CONTEXTS:
            if context.many:
                enc.vocabularies[context.prop] = _vocabulary(tables.products[context.prop].explode())
        for column, log in CUSTOMER_NUMBERS.items():
            enc.scales[column] = _scale(_numbers(tables.customers[column], log))
        enc.cutoff = float(interactions["lastDate"].max()) if len(interactions) else 0.0
        edges = edge_table(interactions, enc.cutoff)
        for column, log in EDGE_NUMBERS.items():
            enc.scales["edge." + column] = _scale(_numbers(edges[column], log))
        numbers = {c: tables.customers[c] for c in CUSTOMER_NUMBERS} | {"edge." + c: edges[c] for c in EDGE_NUMBERS}
        enc.dropped = [name for name, values in enc.vocabularies.items() if not values]
        enc.dropped += [name for name, values in numbers.items() if not np.isfinite(_numbers(values, False)).any()]
        return enc

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
        return [f"{name.removeprefix('edge.')}: no value in the data, left out of the model" for name in self.dropped]

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

    def customer_features(self, customers: pd.DataFrame) -> torch.Tensor:
        """One row per customer; a constant column when the data has no customer attribute at all."""
        rows = customers.set_index("customerId").reindex(self.customer_ids)
        parts = [_one_hot(rows[c], self.vocabularies[c]) for c in CUSTOMER_CATEGORIES if c not in self.dropped]
        parts += [self._standard(rows[c], c, log) for c, log in CUSTOMER_NUMBERS.items() if c not in self.dropped]
        if not sum(p.shape[1] for p in parts):
            parts = [np.ones((len(rows), 1), dtype="float32")]  # customers are then known by their products alone
        return torch.tensor(np.hstack(parts), dtype=torch.float32)

    def product_features(self, products: pd.DataFrame) -> torch.Tensor:
        rows = products.set_index("productId").reindex(self.product_ids)
        parts = [_one_hot(rows[c], self.vocabularies[c]) for c in PRODUCT_CATEGORIES if c not in self.dropped]
        vocabulary = self.vocabularies["regulations"]
        counts = np.zeros((len(rows), len(vocabulary)), dtype="float32")  # how often each regulation is listed
        listed = rows["regulations"].apply(lambda v: v if isinstance(v, list) else []).reset_index(drop=True).explode()
        listed = listed[listed.notna()]
        column = _index(vocabulary, listed.to_numpy())
        known = column >= 0
        np.add.at(counts, (listed.index.to_numpy()[known], column[known]), 1.0)
        parts.append(counts)
        return torch.tensor(np.hstack(parts), dtype=torch.float32)

    def edge_features(self, interactions: pd.DataFrame) -> torch.Tensor:
        edges = edge_table(interactions, self.cutoff)
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


def build_graph(tables: GraphTables, enc: Encoders, interactions: pd.DataFrame) -> HeteroData:
    """The heterogeneous graph with ``interactions`` as its customer -> product edges, plus reverses."""
    data = HeteroData()
    data["customer"].x = enc.customer_features(tables.customers)
    data["customer"].num_nodes = len(enc.customer_ids)
    product_x = enc.product_features(tables.products)
    if product_x.shape[1]:  # without any product attribute, products are their ID embeddings alone
        data["product"].x = product_x
    data["product"].num_nodes = len(enc.product_ids)
    src = enc.customer_index(interactions["customerId"])
    dst = enc.product_index(interactions["productId"])
    keep = (src >= 0) & (dst >= 0)
    data[USES].edge_index = torch.tensor(np.vstack([src[keep], dst[keep]]), dtype=torch.long)
    data[USES].edge_attr = enc.edge_features(interactions[keep])
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
        co.edge_index, co.edge_weight = ease_neighbours(held, enc.co_lambda, CO_NEIGHBOURS)
        if len(enc.product_ids) > DENSE_CHANNEL_PRODUCTS:  # the model gathers: keep its plan with the graph
            co.gather_edge, co.gather_position = channel_plan(
                data[USES].edge_index, co.edge_index, len(enc.product_ids)
            )
    return data


@dataclass
class Prepared:
    """The exported tables, their encoders, the split and the two graphs the model sees."""

    tables: GraphTables
    encoders: Encoders
    split: Split
    customer: np.ndarray  # model index of each interaction's customer
    product: np.ndarray
    train_graph: HeteroData  # message passing over training interactions
    test_graph: HeteroData  # ... over training and validation interactions

    @property
    def n_customers(self) -> int:
        return len(self.encoders.customer_ids)

    @property
    def n_products(self) -> int:
        return len(self.encoders.product_ids)

    def matrix(self, mask: np.ndarray) -> torch.Tensor:
        """The interactions selected by ``mask`` as a boolean [customers, products] matrix."""
        return interaction_matrix(self.customer[mask], self.product[mask], self.n_customers, self.n_products).bool()

    def customers(self) -> pd.DataFrame:
        """The customer table in model order (one row per model index)."""
        return self.tables.customers.set_index("customerId").reindex(self.encoders.customer_ids).reset_index()

    def products(self) -> pd.DataFrame:
        """The product table in model order (one row per model index)."""
        return self.tables.products.set_index("productId").reindex(self.encoders.product_ids).reset_index()

    def peer_groups(self) -> np.ndarray:
        """Each customer's peer group, its (type, industry), as a small integer (a missing fact is a value too)."""
        return peer_groups(self.customers())


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
) -> Prepared:
    """Export the graph, split it in time and build the graphs the model sees.

    With ``encoders`` (from a saved run) the export maps exactly as it did for that run.
    """
    return prepare_tables(fetch(driver, settings, progress=progress, **filters), encoders, holdout_share)


def prepare_tables(
    tables: GraphTables, encoders: Encoders | None = None, holdout_share: float = HOLDOUT_SHARE
) -> Prepared:
    """Split exported tables in time and build the graphs the model sees (no database needed)."""
    if len(tables.interactions) == 0:
        raise NotEnoughData(
            "No customer -> product interactions in the graph (or in the chosen window): ingest data first."
        )
    split = temporal_split(tables.interactions, holdout_share)
    if split.val.sum() == 0:
        raise NotEnoughData(
            "No customer has 3 or more adopted products: nothing to hold out for validation and testing."
        )
    train_rows = tables.interactions[split.train]
    fresh = encoders is None
    if fresh:
        encoders = Encoders.fit(tables, train_rows)
    customer = encoders.customer_index(tables.interactions["customerId"])
    product = encoders.product_index(tables.interactions["productId"])
    known = (customer >= 0) & (product >= 0)
    split = Split(split.train & known, split.val & known, split.test & known)
    if fresh:
        encoders.co_lambda = choose_co_lambda(tables.interactions, split.train, customer, product, encoders)
    return Prepared(
        tables,
        encoders,
        split,
        customer,
        product,
        build_graph(tables, encoders, tables.interactions[split.train]),
        build_graph(tables, encoders, tables.interactions[split.train | split.val]),
    )


def choose_co_lambda(
    interactions: pd.DataFrame, train: np.ndarray, customer: np.ndarray, product: np.ndarray, enc: Encoders
) -> float | None:
    """EASE's regularisation for the item channel, chosen inside the training part.

    Each customer's latest training interactions (:func:`supervision_split`) are predicted
    by EASE fitted on its earlier ones, for each of :data:`CO_LAMBDAS`; the best NDCG@10
    wins. Validation and test are not read. None (no channel) when both the customers and
    the products outnumber :data:`EASE_MAX_SIDE` or nothing can be predicted.
    """
    from .metrics import ranking_metrics, ranking_metrics_by_chunks

    n_c, n_p = len(enc.customer_ids), len(enc.product_ids)
    if min(n_c, n_p) > EASE_MAX_SIDE:
        return None
    target = supervision_split(interactions, train)
    given = train & ~target
    if not target.any() or not given.any():
        return None
    seen = interaction_matrix(customer[given], product[given], n_c, n_p)
    wanted = interaction_matrix(customer[target], product[target], n_c, n_p).bool()
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


def _vocabulary(values: pd.Series) -> list[str]:
    return sorted({str(v) for v in values.dropna()})


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
