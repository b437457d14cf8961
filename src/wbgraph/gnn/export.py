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
from dataclasses import dataclass, field
from functools import partial

import neo4j
import numpy as np
import pandas as pd

from ..config import Settings
from ..db import read
from ..errors import NotEnoughData
from ..graphmodel import CUSTOMER_ATTRIBUTES, GROUP_KEY, PRODUCT_ATTRIBUTES
from ..progress import SILENT, Progress
from .asof import Horizon, boundaries, epoch, known_before, parse_date, periods_of

CUSTOMER_COLUMNS = ("customerId", *CUSTOMER_ATTRIBUTES)
PRODUCT_COLUMNS = ("productId", *PRODUCT_ATTRIBUTES)
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

PART_COLUMNS = (  # the as-of export's sums, counts and bounds per (customer, product, period)
    "customerId",
    "productId",
    "period",
    "transactionCount",
    "firstDate",
    "lastDate",
    "totalAmount",
    "totalValue",
    "usageSum",
    "usageCount",
    "engagementSum",
    "engagementCount",
    "currency",
    "currencies",
    "amountCount",
    "valueCount",
    "amountReporting",
    "amountConverted",
    "valueReporting",
    "valueConverted",
)

TEXT = {"customerId", "productId", "currency"}
WHOLE = {"transactionCount", "firstDate", "lastDate"}


@dataclass
class Periods:
    """The as-of protocol's view of the transactions: sums per (customer, product, period).

    ``boundaries`` (epoch seconds, ascending) end with the cutoff and the cutoff plus the
    horizon; a transaction's period is how many boundaries lie at or before its date.
    """

    boundaries: list[float]
    parts: pd.DataFrame  # PART_COLUMNS
    horizon: str

    @property
    def cutoff(self) -> float:
        return self.boundaries[-2]


@dataclass
class GraphTables:
    """What the exporter fetched: one DataFrame per node type and the interactions.

    Under the as-of protocol ``periods`` holds the transactions summed per period, and
    ``interactions`` their sums over all periods (what ``USES`` holds now).
    """

    customers: pd.DataFrame
    products: pd.DataFrame
    interactions: pd.DataFrame  # customerId, productId, transactionCount, firstDate, lastDate (epoch s), ...
    periods: Periods | None = None
    features: dict = field(default_factory=dict)  # the mapping's model = true extras: owner -> {property: kind}


def model_features(declared: list[str]) -> dict[str, dict[str, str]]:
    """``{"Customer": {property: kind}, "Product": {...}}`` from ingests' ``Owner.property:kind``
    declarations (:attr:`wbgraph.loaders.mapping.Mapping.model_features`), a later one winning."""
    out: dict[str, dict[str, str]] = {"Customer": {}, "Product": {}}
    for item in declared:
        owner_prop, _, kind = item.partition(":")
        owner, _, prop = owner_prop.partition(".")
        if owner in out and prop and kind in ("number", "category"):
            out[owner].pop(prop, None)
            out[owner][prop] = kind
    return {owner: props for owner, props in out.items() if props}


def fetch(
    driver: neo4j.Driver,
    settings: Settings,
    *,
    since: str | None = None,
    until: str | None = None,
    customer_type: str | None = None,
    location: str | None = None,
    cutoff: str | None = None,
    horizon: str | None = None,
    page_size: int = 20_000,
    edge_page_size: int = 2_500,
    workers: int = 4,
    progress: Progress = SILENT,
) -> GraphTables:
    """Export customers, products and interactions; ``since``/``until`` bound transaction dates.

    Customers come ``page_size`` at a time; their interactions ``edge_page_size`` customers
    per query, ``workers`` queries at a time, while the next page of customers is read.
    With a ``horizon`` (the as-of protocol, :mod:`wbgraph.gnn.asof`) the transactions are
    read summed per period instead, the periods one horizon apart up to ``cutoff`` and one
    beyond (default cutoff: one horizon before the day after the latest transaction);
    ``until`` does not apply then.
    """
    bounds = _asof_boundaries(driver, settings, since, cutoff, horizon) if horizon else None
    declared = read(driver, settings, "gnn/model_features")[0]["features"]
    features = model_features(declared)
    customer_extras, product_extras = list(features.get("Customer", {})), list(features.get("Product", {}))

    interactions_of = partial(_interactions, driver, settings, since=since, until=until, bounds=bounds)

    pages, after, futures = [], "", []
    edges, done = [], 0
    with ThreadPoolExecutor(max(1, workers)) as pool, progress.task("Exporting", "edges") as update:
        while True:  # a page's interactions are read (in parallel) while the next page of customers is
            page = _customer_page(driver, settings, customer_extras, after, page_size, customer_type, location)
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
    customers = (
        pd.concat(pages, ignore_index=True)
        if pages
        else pd.DataFrame(columns=[*CUSTOMER_COLUMNS, *customer_extras, GROUP_KEY])
    )
    products = _rows(
        driver,
        settings,
        "gnn/export_products",
        (*PRODUCT_COLUMNS, *product_extras),
        properties=list(PRODUCT_ATTRIBUTES[:-1]),  # the regulations follow them: a context, not a property
        extras=product_extras,
    )
    if bounds is not None:
        parts = pd.concat(edges, ignore_index=True) if edges else pd.DataFrame(columns=list(PART_COLUMNS))
        tables = with_periods(customers, products, parts, [epoch(b) for b in bounds], str(horizon))
        tables.features = features
        return tables
    interactions = pd.concat(edges, ignore_index=True) if edges else pd.DataFrame(columns=list(INTERACTION_COLUMNS))
    return GraphTables(customers, products, _typed(interactions), features=features)


def _rows(
    driver: neo4j.Driver, settings: Settings, name: str, columns: tuple[str, ...], **params: object
) -> pd.DataFrame:
    """A query's one record, a list of rows (nulls in place), as a frame with ``columns``."""
    records = read(driver, settings, name, **params)
    return pd.DataFrame(records[0]["rows"], columns=list(columns))


def _customer_page(
    driver: neo4j.Driver,
    settings: Settings,
    extras: list[str],
    after: str,
    page_size: int,
    customer_type: str | None,
    location: str | None,
) -> pd.DataFrame:
    """The next ``page_size`` customers after the ID ``after`` (of the type and location asked), with ``extras``."""
    return _rows(
        driver,
        settings,
        "gnn/export_customers",
        (*CUSTOMER_COLUMNS, *extras, GROUP_KEY),
        properties=[*CUSTOMER_ATTRIBUTES, *extras, GROUP_KEY],
        after=after,
        pageSize=page_size,
        customerType=customer_type,
        location=location,
    )


def _interactions(
    driver: neo4j.Driver,
    settings: Settings,
    chunk: list[str],
    since: str | None,
    until: str | None,
    bounds: list[pd.Timestamp] | None,
) -> pd.DataFrame:
    """The interactions of the customers ``chunk``: within ``since``/``until``, or summed per
    as-of period between ``bounds``."""
    windowed = since is not None or until is not None
    name = "gnn/export_interactions_window" if windowed else "gnn/export_interactions"
    params = {"customerIds": chunk, "since": since, "until": until}
    columns = INTERACTION_COLUMNS
    if bounds is not None:
        name, columns = "gnn/export_interactions_asof", PART_COLUMNS
        params = {"customerIds": chunk, "since": since, "boundaries": [b.isoformat() for b in bounds]}
    record = read(driver, settings, name, **params)[0]
    return pd.DataFrame({c: np.asarray(record[c], dtype=object if c in TEXT else "float64") for c in columns})


def _typed(interactions: pd.DataFrame) -> pd.DataFrame:
    """The interactions in a canonical row order (the same graph content gives the same tensors,
    whatever the store's order), numbers NaN where missing, whole numbers as integers where none is."""
    interactions = interactions.sort_values(["customerId", "productId"], ignore_index=True)
    for column in INTERACTION_COLUMNS[2:]:
        values = pd.to_numeric(interactions[column])
        if column in WHOLE and not values.isna().any():
            values = values.astype("int64")
        interactions[column] = values
    return interactions


def _asof_boundaries(
    driver: neo4j.Driver, settings: Settings, since: str | None, cutoff: str | None, horizon: str
) -> list[pd.Timestamp]:
    """The as-of periods' boundaries, back to the earliest transaction (on or after ``since``)."""
    record = read(driver, settings, "gnn/transaction_dates", since=since)[0]
    return asof_boundaries(record["earliest"], record["latest"], cutoff, horizon)


def latest_cutoff(driver: neo4j.Driver, settings: Settings, since: str | None = None) -> str:
    """The day after the latest transaction (ISO date): the as-of cutoff that learns from all the data."""
    record = read(driver, settings, "gnn/transaction_dates", since=since)[0]
    if record["latest"] is None:
        raise NotEnoughData("No transactions in the graph (or after --since): ingest data first.")
    day = pd.Timestamp(record["latest"], unit="s", tz="UTC").floor("D") + pd.Timedelta(days=1)
    return day.date().isoformat()


def asof_boundaries(
    earliest: float | None, latest: float | None, cutoff: str | None, horizon: str
) -> list[pd.Timestamp]:
    """:func:`wbgraph.gnn.asof.boundaries` for data from ``earliest`` to ``latest`` (epoch seconds).

    No ``cutoff``: one horizon before the day after the latest transaction, so that the test
    window holds the latest horizon of the data.
    """
    length = Horizon.parse(horizon)
    if cutoff is not None:
        when = parse_date(cutoff)
    elif latest is None:
        raise NotEnoughData("No transactions in the graph (or after --since): ingest data first.")
    else:
        day_after = pd.Timestamp(latest, unit="s", tz="UTC").floor("D") + pd.Timedelta(days=1)
        when = length.shift(day_after, -1)
    start = None if earliest is None else pd.Timestamp(earliest, unit="s", tz="UTC")
    return boundaries(when, length, start)


def with_periods(
    customers: pd.DataFrame, products: pd.DataFrame, parts: pd.DataFrame, bounds: list[float], horizon: str
) -> GraphTables:
    """The as-of tables: ``parts`` in a canonical order, typed, and their sums over all periods."""
    parts = parts.sort_values(["customerId", "productId", "period"], ignore_index=True)
    for column in PART_COLUMNS:
        if column not in TEXT:
            parts[column] = pd.to_numeric(parts[column])
    parts["period"] = parts["period"].astype("int64")
    parts["currency"] = parts["currency"].astype(object)
    everything = known_before(parts, None)[list(INTERACTION_COLUMNS)]
    everything = everything.sort_values(["customerId", "productId"], ignore_index=True)
    return GraphTables(customers, products, everything, Periods(list(bounds), parts, horizon))


def _group_keys(ids: pd.Series, hierarchy: pd.DataFrame | None) -> list:
    """Each customer's ultimate parent from a hierarchy's stakes (None: alone, or no hierarchy)."""
    from ..loaders.hierarchy import consolidation_of, groups_of

    members = groups_of(consolidation_of(hierarchy)) if hierarchy is not None and len(hierarchy) else {}
    return [members[c][0] if c in members else None for c in ids]


def tables_from_rows(
    rows: pd.DataFrame,
    regulations: str = "accumulate",
    cutoff: str | None = None,
    horizon: str | None = None,
    features: list[str] | None = None,
    hierarchy: pd.DataFrame | None = None,
) -> GraphTables:
    """The tables :func:`fetch` would read after ingesting these validated rows, without a database.

    ``rows`` is :attr:`wbgraph.loaders.validate.Validated.rows`; ``regulations`` the mapping's
    (``"accumulate"`` or ``"latest"``); ``cutoff`` and ``horizon`` as :func:`fetch`'s;
    ``features`` the mapping's :attr:`~wbgraph.loaders.mapping.Mapping.model_features`;
    ``hierarchy`` a checked hierarchy file's stakes (:attr:`wbgraph.loaders.hierarchy.Stakes.rows`),
    which give the customers their group key as ``ingest --hierarchy`` would. For
    notebooks that study the model offline, and for the unit tests; the real-server tests
    check it equals :func:`fetch`.
    """
    from ..loaders.usage import PAIR, latest_rows, product_regulations, usage_parts, usage_table

    declared = model_features(features or [])
    customer_extras, product_extras = list(declared.get("Customer", {})), list(declared.get("Product", {}))
    customers = latest_rows(rows, "customerId").sort_values("customerId")
    customers = customers[[*CUSTOMER_COLUMNS, *customer_extras]].reset_index(drop=True)
    customers[GROUP_KEY] = _group_keys(customers["customerId"], hierarchy)
    products = latest_rows(rows, "productId").sort_values("productId")
    regulations = product_regulations(products if regulations == "latest" else rows)
    products = pd.DataFrame(
        {
            **{c: products[c].to_numpy() for c in PRODUCT_COLUMNS[:-1]},
            "regulations": [regulations.get(p, []) for p in products["productId"]],
            **{c: products[c].to_numpy() for c in product_extras},
        }
    )
    transactions = rows.drop_duplicates("transactionKey")
    if horizon:
        seconds = (transactions["date"] - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
        found = seconds.dropna()
        bounds = asof_boundaries(
            found.min() if len(found) else None, found.max() if len(found) else None, cutoff, horizon
        )
        bounds = [epoch(b) for b in bounds]
        parts = usage_parts(transactions.assign(period=periods_of(seconds, bounds)), [*PAIR, "period"])
        for column in ("firstDate", "lastDate"):
            parts[column] = (parts[column] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
        tables = with_periods(customers, products, parts[list(PART_COLUMNS)], bounds, horizon)
        tables.features = declared
        return tables
    usage = usage_table(transactions)
    for column in ("firstDate", "lastDate"):  # as Cypher's epochSeconds: whole seconds, rounded down
        usage[column] = (usage[column] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    interactions = usage[list(INTERACTION_COLUMNS)].sort_values(["customerId", "productId"], ignore_index=True)
    return GraphTables(customers, products, interactions, features=declared)
