"""Neo4j -> tables: the customers, products and interactions the model learns from.

:func:`fetch` pulls customers (a page at a time, in ``customerId`` order), products and the
customer -> product interactions with the Cypher files of ``cypher/gnn/`` under read routing,
as lists rather than one Python object per record: the interactions as one list per column,
each turned into an array at once (with the customer pages overlapped, 184k -> 219k edges/s
warm at 1M rows, beside a list per row), each relationship's properties read once as a map
(a further ~10% at 1M rows: 164k -> 178k median of 8 alternating warm fetches on a slower
day). What becomes of the tables, features and the
``HeteroData``, is :mod:`wbgraph.gnn.data`'s work.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import neo4j
import numpy as np
import pandas as pd

from .. import cypher
from ..config import Settings
from ..db import READ
from ..progress import SILENT, Progress

CUSTOMER_COLUMNS = (
    "customerId",
    "customerType",
    "industry",
    "location",
    "relationshipManager",
    "riskRating",
    "companySize",
    "creditScore",
    "defaultProbability",
    "exposure",
)
PRODUCT_COLUMNS = ("productId", "productType", "category", "subcategory", "features", "regulations")
INTERACTION_COLUMNS = (
    "customerId",
    "productId",
    "transactionCount",
    "firstDate",
    "lastDate",
    "totalValue",
    "totalAmount",
    "meanUsage",
    "meanEngagement",
    "totalValueReporting",
)

TEXT = {"customerId", "productId"}
WHOLE = {"transactionCount", "firstDate", "lastDate"}


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
    progress: Progress = SILENT,
) -> GraphTables:
    """Export customers, products and interactions; ``since``/``until`` bound transaction dates.

    Customers come ``page_size`` at a time; their interactions ``edge_page_size`` customers
    per query, ``workers`` queries at a time, while the next page of customers is read.
    """

    def rows(name: str, columns: tuple[str, ...], **params: object) -> pd.DataFrame:
        """A query's one record, a list of rows (nulls in place), as a frame with ``columns``."""
        records = driver.execute_query(cypher.load(name), params, database_=settings.database, routing_=READ).records
        return pd.DataFrame(records[0]["rows"], columns=list(columns))

    windowed = since is not None or until is not None

    def interactions_of(chunk: list[str]) -> pd.DataFrame:
        name = "gnn/export_interactions_window" if windowed else "gnn/export_interactions"
        params = {"customerIds": chunk, "since": since, "until": until}
        record = driver.execute_query(cypher.load(name), params, database_=settings.database, routing_=READ).records[0]
        return pd.DataFrame(
            {c: np.asarray(record[c], dtype=object if c in TEXT else "float64") for c in INTERACTION_COLUMNS}
        )

    pages, after, futures = [], "", []
    edges, done = [], 0
    with ThreadPoolExecutor(max(1, workers)) as pool, progress.task("Exporting", "edges") as update:
        while True:  # a page's interactions are read (in parallel) while the next page of customers is
            page = rows(
                "gnn/export_customers",
                CUSTOMER_COLUMNS,
                after=after,
                pageSize=page_size,
                customerType=customer_type,
                location=location,
            )
            if page.empty:
                break
            pages.append(page)
            after = page["customerId"].iat[-1]
            ids = page["customerId"].tolist()
            futures += [
                pool.submit(interactions_of, ids[i : i + edge_page_size]) for i in range(0, len(ids), edge_page_size)
            ]
        for future in futures:
            frame = future.result()
            edges.append(frame)
            done += len(frame)
            update(done, None)
    customers = pd.concat(pages, ignore_index=True) if pages else pd.DataFrame(columns=list(CUSTOMER_COLUMNS))
    interactions = pd.concat(edges, ignore_index=True) if edges else pd.DataFrame(columns=list(INTERACTION_COLUMNS))
    products = rows("gnn/export_products", PRODUCT_COLUMNS)
    # a canonical row order: the same graph content gives the same tensors, whatever the store's order
    interactions = interactions.sort_values(["customerId", "productId"], ignore_index=True)
    for column in INTERACTION_COLUMNS[2:]:  # numbers, NaN where missing; whole numbers as integers where none is
        values = pd.to_numeric(interactions[column])
        if column in WHOLE and not values.isna().any():
            values = values.astype("int64")
        interactions[column] = values
    return GraphTables(customers, products, interactions)


def tables_from_rows(rows: pd.DataFrame, regulations: str = "accumulate") -> GraphTables:
    """The tables :func:`fetch` would read after ingesting these validated rows, without a database.

    ``rows`` is :attr:`wbgraph.loaders.validate.Validated.rows`; ``regulations`` the mapping's
    (``"accumulate"`` or ``"latest"``). For notebooks that study the model offline, and for the
    unit tests; the real-server tests check it equals :func:`fetch`.
    """
    from ..loaders.ingest import latest_rows, product_regulations, usage_table

    customers = latest_rows(rows, "customerId").sort_values("customerId")[list(CUSTOMER_COLUMNS)].reset_index(drop=True)
    products = latest_rows(rows, "productId").sort_values("productId")
    regulations = product_regulations(products if regulations == "latest" else rows)
    products = pd.DataFrame(
        {
            **{c: products[c].to_numpy() for c in PRODUCT_COLUMNS[:-1]},
            "regulations": [regulations.get(p, []) for p in products["productId"]],
        }
    )
    usage = usage_table(rows.drop_duplicates("transactionKey"))
    for column in ("firstDate", "lastDate"):  # as Cypher's epochSeconds: whole seconds, rounded down
        usage[column] = (usage[column] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    interactions = usage[list(INTERACTION_COLUMNS)].sort_values(["customerId", "productId"], ignore_index=True)
    return GraphTables(customers, products, interactions)
