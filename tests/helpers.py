"""Small builders for input CSV files used across the tests, and the guard of the test database."""

import csv
import socket
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
