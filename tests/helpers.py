"""Small builders for input CSV files used across the tests, the guard of the test database,
a whole-graph dump to compare graphs with, and a way to hold a wbgraph process in a phase."""

import csv
import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from wbgraph.config import Settings
from wbgraph.db import open_driver
from wbgraph.loaders.columns import HEADERS

GOOD = {
    "Customer ID": "CUS-001",
    "Customer Type": "Corporate",
    "Industry": "Finance",
    "Company Size": "2922",
    "Location": "London",
    "Relationship Manager": "RM-001",
    "Product ID": "PROD-001",
    "Product Type": "Loan",
    "Product Category": "Lending",
    "Product Subcategory": "Term Loans",
    "Product Features": "Tenor",
    "Transaction ID": "TRAN-001",
    "Transaction Date": "2025-03-01 10:17:08.752682",
    "Transaction Type": "Loan Disbursement",
    "Transaction Amount": "1000.5",
    "Transaction Currency": "GBP",
    "Transaction Frequency": "3",
    "Transaction Value": "20000",
    "Product Adoption": "1",
    "Product Usage": "5",
    "Customer Engagement": "7",
    "Credit Score": "700.5",
    "Risk Rating": "Low",
    "Default Probability": "0.01",
    "Exposure": "50000",
    "Market Data": "500.1",
    "Economic Indicators": "3.1",
    "Regulatory Requirements": "Basel III",
}


def row(**changes) -> dict:
    """A valid input row, with some columns changed (keyword = header with spaces as underscores)."""
    out = dict(GOOD)
    for key, value in changes.items():
        out[key.replace("_", " ")] = value
    return out


def write_csv(path: Path, rows: list[dict], headers=HEADERS, **fmt) -> Path:
    with open(path, "w", newline="", encoding=fmt.pop("encoding", "utf-8")) as f:
        writer = csv.writer(f, **fmt)
        writer.writerow(headers)
        for r in rows:
            writer.writerow([r.get(h, "") for h in headers])
    return path


def holdings_csv(path: Path, customers: int = 300, months: int = 6, products: int = 12, seed: int = 0) -> Path:
    """A monthly holdings extract (one row per product held per month-end, as a bank's warehouse
    gives them): each month a third of the customers take a new product, by a rule of their type
    and of what they hold, so every window of the as-of protocol has something to find."""
    import random

    rng = random.Random(seed)
    types = ("Corporate", "Institutional", "Government")
    rows = []
    for c in range(customers):
        kind = types[c % 3]
        held = [rng.randrange(products)]
        for month in range(months):
            if month and rng.random() < 0.35:
                wanted = (held[-1] + 1 + types.index(kind)) % products
                if wanted not in held:
                    held.append(wanted)
            for p in held:
                rows.append(
                    row(
                        Customer_ID=f"H-{c:04d}",
                        Customer_Type=kind,
                        Product_ID=f"HP-{p:02d}",
                        Transaction_ID=f"H-{c:04d}-{p:02d}-{month}",
                        Transaction_Date=f"2025-{month + 1:02d}-28",
                        Transaction_Amount="1",
                        Transaction_Value="1",
                    )
                )
    return write_csv(path, rows)


CONNECTION = ("NEO4J_URI", "NEO4J_USERNAME", "NEO4J_PASSWORD", "NEO4J_DATABASE")


class NotATestDatabase(Exception):
    """The opted-in server's database holds data: the suite would delete it."""


def require_empty(settings: Settings) -> None:
    """Refuse a database that holds any node: only an empty one can be the tests' own."""
    with open_driver(settings) as driver:
        nodes = driver.execute_query("MATCH (n) RETURN count(n) AS nodes", database_=settings.database).records[0][
            "nodes"
        ]
    if nodes:
        raise NotATestDatabase(
            f"WBGRAPH_TEST_URI {settings.uri} (database {settings.database}) holds {nodes:,} nodes; the tests delete "
            "everything, so they run only on an empty database. Empty it yourself if it really is a test database."
        )


def external_settings(environ) -> Settings | None:
    """The opted-in server, or None: only ``WBGRAPH_TEST_*`` names one, never ``NEO4J_*`` or ``.env``."""
    if not environ.get("WBGRAPH_TEST_URI"):
        return None
    return Settings(
        environ["WBGRAPH_TEST_URI"],
        environ.get("WBGRAPH_TEST_USER", "neo4j"),
        environ.get("WBGRAPH_TEST_PASSWORD", ""),
        environ.get("WBGRAPH_TEST_DATABASE", "neo4j"),
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


NODES = "MATCH (n) WHERE NOT n:WbgraphIngest AND NOT n:WbgraphLock RETURN labels(n) AS labels, properties(n) AS props"
RELATIONSHIPS = """
MATCH (a)-[r]->(b)
RETURN coalesce(a.customerId, a.productId, a.transactionKey, a.segmentKey, a.offerKey, a.name) AS start,
       type(r) AS type,
       coalesce(b.customerId, b.productId, b.transactionKey, b.segmentKey, b.offerKey, b.name) AS end,
       properties(r) AS props
"""
INGESTS = """MATCH (i:WbgraphIngest)
RETURN i.fingerprint AS fingerprint, i.file AS file, i.rows AS rows, i.finishedAt IS NOT NULL AS finished"""
SCHEMA = "SHOW CONSTRAINTS YIELD name, type, labelsOrTypes, properties RETURN name, type, labelsOrTypes, properties"
INDEXES = (
    "SHOW INDEXES YIELD name, type, state, labelsOrTypes, properties WHERE type = 'RANGE' "
    "RETURN name, state, labelsOrTypes, properties"
)


def graph_dump(settings: Settings) -> dict:
    """Every node and relationship with all its properties, keyed by identity; the ingest markers
    (without their times), the schema and the indexes. The writer lock is left out."""
    with open_driver(settings) as driver:
        nodes = {}
        for r in driver.execute_query(NODES, database_=settings.database).records:
            props = r["props"]
            key = props.get("customerId") or props.get("productId") or props.get("transactionKey")
            key = key or props.get("segmentKey") or props.get("offerKey") or props.get("name") or props.get("runId")
            nodes[(tuple(sorted(r["labels"])), key)] = props
        relationships = {}
        for r in driver.execute_query(RELATIONSHIPS, database_=settings.database).records:
            key = (r["start"], r["type"], r["end"])
            assert key not in relationships, f"two {key} relationships"
            relationships[key] = r["props"]
        ingests = sorted(tuple(r.values()) for r in driver.execute_query(INGESTS, database_=settings.database).records)
        schema = sorted(tuple(map(str, r.values())) for r in driver.execute_query(SCHEMA).records)
        indexes = sorted(tuple(map(str, r.values())) for r in driver.execute_query(INDEXES).records)
    return {"nodes": nodes, "relationships": relationships, "ingests": ingests, "schema": schema, "indexes": indexes}


def assert_same_graph(got: dict, expected: dict) -> None:
    """Two :func:`graph_dump` s hold the same graph: every key and value; relationship floats
    (USES sums and means, whose summation order may differ) to 12 digits."""
    assert got["schema"] == expected["schema"] and got["indexes"] == expected["indexes"]
    assert got["ingests"] == expected["ingests"]
    for part in ("nodes", "relationships"):
        assert got[part].keys() == expected[part].keys(), (
            part,
            sorted(set(got[part]) ^ set(expected[part]), key=str)[:10],
        )
        for key, props in expected[part].items():
            other = got[part][key]
            assert props.keys() == other.keys(), (key, props, other)
            assert all(_same(props[k], other[k], part) for k in props), (key, props, other)


def _same(a, b, part: str) -> bool:
    if part == "relationships" and (isinstance(a, float) or isinstance(b, float)):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9)
    return a == b and type(a) is type(b)


WBGRAPH = str(Path(sys.executable).parent / "wbgraph")


def paused(arguments: list[str], phase: str, folder: Path, env: dict | None = None, timeout: float = 300):
    """``wbgraph ARGUMENTS`` in a process of its own, returned once it is held at ``phase``.

    Uses wbgraph's pause hook (``wbgraph.progress.pause_point``): the process stops at the
    start of the phase (or, for ``phase+1``, after its first batch) and waits while the
    returned flag file exists. Kill it, or delete the flag to let it go on. No timing race:
    the test acts only once the process is known to be there.
    """
    flag = folder / f"paused-{phase}-{time.monotonic_ns()}"
    env = (os.environ.copy() if env is None else dict(env)) | {
        "WBGRAPH_PAUSE_AT": phase,
        "WBGRAPH_PAUSE_FILE": str(flag),
    }
    process = subprocess.Popen(
        [WBGRAPH, *arguments], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + timeout
    while not flag.exists():
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(
                f"wbgraph {' '.join(arguments)} ended ({process.returncode}) before {phase}: {out}{err}"
            )
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"wbgraph {' '.join(arguments)} never reached {phase}")
        time.sleep(0.02)
    return process, flag
