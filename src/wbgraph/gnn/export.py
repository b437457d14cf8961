"""Neo4j -> PyTorch Geometric: the training subgraph as a ``HeteroData``.

:func:`fetch` pulls customers (a page at a time, in ``customerId`` order), products and the
customer -> product interactions with Cypher files under read routing, as columnar lists
rather than one Python object per record. :class:`Encoders` turns properties into feature
tensors (numbers standardised, sizes and amounts on a log scale, categories one-hot) and
remembers everything it learned (vocabularies, means, deviations, ID <-> index maps), so a
later export of the same model maps identically. :func:`build_graph` assembles the
heterogeneous graph from the interactions it is given: only those the model may see.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import neo4j
import numpy as np
import pandas as pd
import torch
from torch_geometric.data import HeteroData

from .. import cypher
from ..config import Settings
from ..db import READ

CUSTOMER_CATEGORIES = ("customerType", "industry", "location", "relationshipManager", "riskRating")
CUSTOMER_NUMBERS = {"companySize": True, "creditScore": False, "defaultProbability": False, "exposure": True}  # True: log scale
PRODUCT_CATEGORIES = ("productType", "category", "subcategory", "features")
EDGE_NUMBERS = {"transactionCount": True, "recencyDays": False, "totalValue": True, "meanUsage": False, "meanEngagement": False}
# context node types: (node type, owner, property, relationship name)
CONTEXTS = (
    ("industry", "customer", "industry", "in_industry"),
    ("location", "customer", "location", "located_in"),
    ("relationship_manager", "customer", "relationshipManager", "managed_by"),
    ("category", "product", "category", "in_category"),
    ("regulation", "product", "regulations", "subject_to"),
)


@dataclass
class GraphTables:
    """What the exporter fetched: one DataFrame per node type and the interactions."""

    customers: pd.DataFrame
    products: pd.DataFrame
    interactions: pd.DataFrame  # customerId, productId, transactionCount, firstDate, lastDate (epoch s), ...


def fetch(
    driver: neo4j.Driver,
    settings: Settings,
    *,
    since: str | None = None,
    until: str | None = None,
    customer_type: str | None = None,
    location: str | None = None,
    page_size: int = 20_000,
    edge_page_size: int = 2_500,
    workers: int = 4,
    progress=None,
) -> GraphTables:
    """Export customers, products and interactions; ``since``/``until`` bound transaction dates.

    Customers come ``page_size`` at a time; then their interactions, ``edge_page_size``
    customers per query, ``workers`` queries at a time.
    """
    def run(name: str, **params) -> dict:
        record = driver.execute_query(cypher.load(name), params, database_=settings.database, routing_=READ).records[0]
        return dict(record)

    pages, after = [], ""
    while True:
        page = run("export_customers", after=after, pageSize=page_size, customerType=customer_type, location=location)
        if not page["customerId"]:
            break
        pages.append(pd.DataFrame(page))
        after = page["customerId"][-1]
    ids = [i for p in pages for i in p["customerId"]]
    windowed = since is not None or until is not None

    def interactions_of(chunk: list[str]) -> pd.DataFrame:
        return pd.DataFrame(run("export_interactions_window" if windowed else "export_interactions",
                                customerIds=chunk, since=since, until=until))

    chunks = [ids[i:i + edge_page_size] for i in range(0, len(ids), edge_page_size)]
    edges, done = [], 0
    with ThreadPoolExecutor(max(1, workers)) as pool:  # the server reads pages in parallel
        for frame in pool.map(interactions_of, chunks):
            edges.append(frame)
            done += len(frame)
            if progress:
                progress(done, None)
    customers = pd.concat(pages, ignore_index=True) if pages else pd.DataFrame(columns=["customerId", *CUSTOMER_CATEGORIES, *CUSTOMER_NUMBERS])
    interactions = pd.concat(edges, ignore_index=True) if edges else pd.DataFrame(columns=["customerId", "productId", "transactionCount", "firstDate", "lastDate", "totalValue", "totalAmount", "meanUsage", "meanEngagement"])
    products = pd.DataFrame(run("export_products"))
    # a canonical row order: the same graph content gives the same tensors, whatever the store's order
    interactions = interactions.sort_values(["customerId", "productId"], ignore_index=True)
    return GraphTables(customers, products, interactions)


@dataclass
class Encoders:
    """Everything needed to turn exported tables into tensors the same way twice."""

    customer_ids: list[str]
    product_ids: list[str]
    vocabularies: dict[str, list[str]] = field(default_factory=dict)
    scales: dict[str, tuple[float, float]] = field(default_factory=dict)
    cutoff: float = 0.0  # epoch seconds of the latest interaction seen: recency is measured from here

    @classmethod
    def fit(cls, tables: GraphTables, interactions: pd.DataFrame | None = None) -> "Encoders":
        """Learn the encodings; edge statistics come from ``interactions`` (default: all of them)."""
        interactions = tables.interactions if interactions is None else interactions
        enc = cls(sorted(tables.customers["customerId"]), sorted(tables.products["productId"]))
        for column in CUSTOMER_CATEGORIES:
            enc.vocabularies[column] = _vocabulary(tables.customers[column])
        for column in PRODUCT_CATEGORIES:
            enc.vocabularies[column] = _vocabulary(tables.products[column])
        enc.vocabularies["regulations"] = _vocabulary(tables.products["regulations"].explode())
        for column, log in CUSTOMER_NUMBERS.items():
            enc.scales[column] = _scale(_numbers(tables.customers[column], log))
        enc.cutoff = float(interactions["lastDate"].max()) if len(interactions) else 0.0
        edges = edge_table(interactions, enc.cutoff)
        for column, log in EDGE_NUMBERS.items():
            enc.scales["edge." + column] = _scale(_numbers(edges[column], log))
        return enc

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=1)

    @classmethod
    def from_json(cls, text: str) -> "Encoders":
        data = json.loads(text)
        data["scales"] = {k: tuple(v) for k, v in data["scales"].items()}
        return cls(**data)

    def customer_index(self, ids) -> np.ndarray:
        """Positions of customer IDs in the model (-1 for IDs the model never saw)."""
        return _index(self.customer_ids, ids)

    def product_index(self, ids) -> np.ndarray:
        return _index(self.product_ids, ids)

    def customer_features(self, customers: pd.DataFrame) -> torch.Tensor:
        rows = customers.set_index("customerId").reindex(self.customer_ids)
        parts = [_one_hot(rows[c], self.vocabularies[c]) for c in CUSTOMER_CATEGORIES]
        parts += [self._standard(rows[c], c, log) for c, log in CUSTOMER_NUMBERS.items()]
        return torch.tensor(np.hstack(parts), dtype=torch.float32)

    def product_features(self, products: pd.DataFrame) -> torch.Tensor:
        rows = products.set_index("productId").reindex(self.product_ids)
        parts = [_one_hot(rows[c], self.vocabularies[c]) for c in PRODUCT_CATEGORIES]
        regulations = rows["regulations"].apply(lambda v: v if isinstance(v, list) else [])
        parts.append(np.vstack([_one_hot(pd.Series(r, dtype=object), self.vocabularies["regulations"]).sum(0) for r in regulations])
                     if len(regulations) else np.zeros((0, len(self.vocabularies["regulations"]))))
        return torch.tensor(np.hstack(parts), dtype=torch.float32)

    def edge_features(self, interactions: pd.DataFrame) -> torch.Tensor:
        edges = edge_table(interactions, self.cutoff)
        parts = [self._standard(edges[c], "edge." + c, log) for c, log in EDGE_NUMBERS.items()]
        return torch.tensor(np.hstack(parts), dtype=torch.float32)

    def _standard(self, values: pd.Series, name: str, log: bool) -> np.ndarray:
        mean, std = self.scales[name]
        out = (_numbers(values, log) - mean) / std
        return np.nan_to_num(out, nan=0.0).reshape(-1, 1)


def edge_table(interactions: pd.DataFrame, cutoff: float) -> pd.DataFrame:
    """The interaction columns the edge features are made of (recency in days before the cutoff)."""
    out = interactions[["transactionCount", "totalValue", "meanUsage", "meanEngagement"]].copy()
    out["recencyDays"] = (cutoff - pd.to_numeric(interactions["lastDate"], errors="coerce")) / 86_400.0
    return out


def build_graph(tables: GraphTables, enc: Encoders, interactions: pd.DataFrame) -> HeteroData:
    """The heterogeneous graph with ``interactions`` as its customer -> product edges, plus reverses."""
    data = HeteroData()
    data["customer"].x = enc.customer_features(tables.customers)
    data["customer"].num_nodes = len(enc.customer_ids)
    data["product"].x = enc.product_features(tables.products)
    data["product"].num_nodes = len(enc.product_ids)
    src = enc.customer_index(interactions["customerId"])
    dst = enc.product_index(interactions["productId"])
    keep = (src >= 0) & (dst >= 0)
    data["customer", "uses", "product"].edge_index = torch.tensor(np.vstack([src[keep], dst[keep]]), dtype=torch.long)
    data["customer", "uses", "product"].edge_attr = enc.edge_features(interactions[keep])
    owners = {"customer": tables.customers.set_index("customerId").reindex(enc.customer_ids),
              "product": tables.products.set_index("productId").reindex(enc.product_ids)}
    for node_type, owner, prop, relation in CONTEXTS:
        vocab = enc.vocabularies[prop]
        data[node_type].num_nodes = len(vocab)
        values = owners[owner][prop].explode() if prop == "regulations" else owners[owner][prop]
        position = {v: i for i, v in enumerate(enc.customer_ids if owner == "customer" else enc.product_ids)}
        src_ids = values.index.map(position).to_numpy()
        dst_idx = _index(vocab, values.to_numpy())
        ok = dst_idx >= 0
        data[owner, relation, node_type].edge_index = torch.tensor(np.vstack([src_ids[ok], dst_idx[ok]]), dtype=torch.long)
    for edge_type in list(data.edge_types):  # reverse edges for message passing both ways
        src_type, relation, dst_type = edge_type
        store = data[edge_type]
        reverse = data[dst_type, "rev_" + relation, src_type]
        reverse.edge_index = store.edge_index.flip(0)
        if "edge_attr" in store:
            reverse.edge_attr = store.edge_attr
    return data


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
    position = {v: i for i, v in enumerate(vocabulary)}
    return np.array([position.get(v if v is None else str(v), -1) for v in values], dtype=np.int64)
