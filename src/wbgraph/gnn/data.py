"""Everything training and evaluation share: the export, the split, the graphs and the masks."""

from __future__ import annotations

from dataclasses import dataclass

import neo4j
import numpy as np
import torch
from torch_geometric.data import HeteroData

from ..config import Settings
from ..errors import WbgraphError
from .baselines import interaction_matrix
from .export import Encoders, GraphTables, build_graph, fetch
from .split import Split, temporal_split

USES = ("customer", "uses", "product")
REV_USES = ("product", "rev_uses", "customer")


class NotEnoughData(WbgraphError):
    """The graph holds too few interactions to train or evaluate on."""


@dataclass
class Prepared:
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

    def segments(self) -> np.ndarray:
        """Each customer's (type, industry) segment as a small integer."""
        rows = self.tables.customers.set_index("customerId").reindex(self.encoders.customer_ids)
        key = rows["customerType"].astype(str) + "|" + rows["industry"].astype(str)
        return key.astype("category").cat.codes.to_numpy()


def prepare(driver: neo4j.Driver, settings: Settings, filters: dict, encoders: Encoders | None = None, progress=None) -> Prepared:
    """Export the graph, split it in time and build the graphs the model sees.

    With ``encoders`` (from a saved run) the export maps exactly as it did for that run.
    """
    return prepare_tables(fetch(driver, settings, progress=progress, **filters), encoders)


def prepare_tables(tables: GraphTables, encoders: Encoders | None = None) -> Prepared:
    """Split exported tables in time and build the graphs the model sees (no database needed)."""
    if len(tables.interactions) == 0:
        raise NotEnoughData("No customer -> product interactions in the graph (or in the chosen window): ingest data first.")
    split = temporal_split(tables.interactions)
    if split.val.sum() == 0:
        raise NotEnoughData("No customer has 3 or more adopted products: nothing to hold out for validation and testing.")
    train_rows = tables.interactions[split.train]
    if encoders is None:
        encoders = Encoders.fit(tables, train_rows)
    customer = encoders.customer_index(tables.interactions["customerId"])
    product = encoders.product_index(tables.interactions["productId"])
    known = (customer >= 0) & (product >= 0)
    split = Split(split.train & known, split.val & known, split.test & known)
    return Prepared(
        tables, encoders, split, customer, product,
        build_graph(tables, encoders, tables.interactions[split.train]),
        build_graph(tables, encoders, tables.interactions[split.train | split.val]),
    )
