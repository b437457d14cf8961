"""``wbgraph demo``: the whole pipeline in one command, safe to run again."""

import json

import pandas as pd

from wbgraph.db import open_driver

COUNTS = """
CALL () { MATCH (n) RETURN count(n) AS nodes }
CALL () { MATCH ()-[r]->() RETURN count(r) AS relationships }
CALL () { MATCH ()-[r:RECOMMENDED]->() RETURN count(r) AS recommended }
RETURN nodes, relationships, recommended
"""


def test_demo_runs_the_pipeline_and_shows_the_results(cli, backend, tmp_path):
    folder = tmp_path / "demo"
    runs = folder / "runs"
    result = cli(
        "demo", "--rows", "3000", "--epochs", "40", "--folder", str(folder), "--reset", "--runs-dir", str(runs)
    )
    assert result.exit_code == 0, result.output
    out = result.output
    first_three = sorted(pd.read_csv(folder / "transactions.csv")["Customer ID"].unique())[:3]
    for expected in (
        "Ingested 3,000 of 3,000 rows",
        "customers with held-out interactions",
        "matrix factorisation",
        "oracle, from history",
        "RECOMMENDED edges",
        "Paste into Neo4j Browser:",
        f":param customerId => '{first_three[0]}'",
        "MATCH (c:Customer {customerId: $customerId})",
        "Done in",
    ):
        assert expected in out, expected
    for customer in first_three:
        assert f"\n{customer} (" in out
    assert out.count("      - ") >= 3  # reasons under the recommendations
    assert (folder / "transactions.csv").exists() and (folder / "truth.json").exists()
    assert (runs / "latest").exists()
    if backend.kind == "local":
        assert "Neo4j Browser: http://127.0.0.1:" in out


def test_running_the_demo_again_changes_nothing(cli, backend, tmp_path):
    folder = tmp_path / "demo"
    args = ("demo", "--rows", "2000", "--epochs", "20", "--folder", str(folder), "--json")
    first = cli(*args, "--reset")
    assert first.exit_code == 0, first.output
    with open_driver(backend.settings) as driver:
        before = driver.execute_query(COUNTS).records[0].data()
    second = cli(*args)
    assert second.exit_code == 0, second.output
    with open_driver(backend.settings) as driver:
        assert driver.execute_query(COUNTS).records[0].data() == before
    first, second = json.loads(first.output), json.loads(second.output)
    assert second["ingest"]["created"] == 0 and second["ingest"]["alreadyInGraph"] == first["ingest"]["created"]
    assert second["evaluation"]["metrics"] == first["evaluation"]["metrics"]  # same data, same seed: the same model
    picks = lambda run: [[r["productId"] for r in c["recommendations"]] for c in run["customers"]]
    assert picks(second) == picks(first) and all(picks(first))


def test_the_demo_refuses_a_database_holding_other_customers(cli, backend, tmp_path):
    other = tmp_path / "other.csv"
    assert cli("generate", "--rows", "1000", "--seed", "5", "--customers", "900", "--output", str(other)).exit_code == 0
    assert cli("db", "reset", "--yes").exit_code == 0 and cli("ingest", str(other), "--silent").exit_code == 0
    with open_driver(backend.settings) as driver:
        before = driver.execute_query(COUNTS).records[0].data()
        result = cli("demo", "--rows", "2000", "--folder", str(tmp_path / "demo"))
        assert result.exit_code == 9 and "--reset" in result.output, result.output
        assert driver.execute_query(COUNTS).records[0].data() == before
