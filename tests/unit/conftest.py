"""The unit tier: no server, no Java. ``pytest -m unit`` runs these alone, in under a minute.

Every test here is marked ``unit`` (tests/conftest.py does it by folder), and the database
fixtures are replaced by ones that fail: a unit test that reaches for a server is a bug.
"""

import pytest

from wbgraph.gnn.export import tables_from_rows
from wbgraph.loaders.generate import generate, write
from wbgraph.loaders.validate import validate


@pytest.fixture(scope="session")
def backend():
    raise AssertionError("a unit test asked for the database: move it to the real-server tier (tests/)")


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    """3,000 generated rows (150 customers, 20 products), written, validated and turned into tables."""
    folder = tmp_path_factory.mktemp("generated")
    data = generate(3000, seed=2, customers=150, products=20, truth=True)
    write(data, folder / "g.csv", folder / "t.json")
    checked = validate(folder / "g.csv")
    return {
        "folder": folder,
        "rows": checked.rows,
        "tables": tables_from_rows(checked.rows),
        "truth": folder / "t.json",
    }
