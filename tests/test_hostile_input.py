"""Hostile input: every crafted file in tests/data/hostile/ has its documented outcome, on the real server.

For each case: the exit status; each rejected row's line number and reason in the rejects
file; for a bad file, one line starting with "Error:" and nothing loaded; otherwise read =
loaded + rejected, the graph holds exactly the transactions that
should load, and IDs that look like Cypher, quotes or other scripts are stored literally.
"""

import csv
import json
from pathlib import Path

import pytest

from helpers import row, write_csv

HOSTILE = Path(__file__).parent / "data" / "hostile"
EXPECTED = json.loads((HOSTILE / "expected.json").read_text())


def graph_counts(driver):
    return driver.execute_query("""
        CALL () { MATCH (t:Transaction) RETURN count(t) AS transactions }
        CALL () { MATCH (c:Customer) RETURN collect(c.customerId) AS customers }
        CALL () { MATCH (p:Product) RETURN collect(p.productId) AS products }
        RETURN transactions, customers, products""").records[0]


def test_the_corpus_has_at_least_thirty_cases():
    assert len(EXPECTED) >= 30 and all((HOSTILE / f"{name}.csv").is_file() for name in EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_file_has_its_documented_outcome(name, cli, empty_db, tmp_path):
    expected = EXPECTED[name]
    result = cli(
        "ingest",
        str(HOSTILE / f"{name}.csv"),
        *expected["options"],
        "--rejects",
        str(tmp_path / "rejects.csv"),
        "--json",
    )
    assert result.exit_code == expected["exit"], result.output
    counts = graph_counts(empty_db)
    if expected["rejects"]:  # each rejected row: its line in the file and why
        with open(tmp_path / "rejects.csv", encoding="utf-8", newline="") as f:
            found = [(int(r["lineNumber"]), r["reason"]) for r in csv.DictReader(f)]
        assert [line for line, _ in found] == [line for line, _ in expected["rejects"]], found
        assert all(want in reason for (_, reason), (_, want) in zip(found, expected["rejects"])), found
    if expected["error"]:
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and expected["error"] in lines[0], result.output
        assert counts["transactions"] == 0  # nothing loaded
        return
    summary = json.loads(result.output)
    assert (summary["read"], summary["loaded"], summary["rejected"]) == (
        expected["read"],
        expected["loaded"],
        expected["rejected"],
    )
    assert summary["read"] == summary["loaded"] + summary["rejected"]
    assert counts["transactions"] == expected["transactions"]
    assert len(expected["rejects"]) == expected["rejected"]
    for kind, values in (expected["literal"] or {}).items():
        assert set(values) <= set(counts[kind]), (kind, values)  # stored exactly as written


def test_cypher_looking_ids_harm_nothing_already_in_the_graph(cli, empty_db, tmp_path):
    assert cli("ingest", str(HOSTILE / "quotes_in_ids.csv"), "--silent").exit_code == 0
    before = graph_counts(empty_db)
    assert cli("ingest", str(HOSTILE / "cypher_looking_ids.csv"), "--silent").exit_code == 0
    after = graph_counts(empty_db)
    assert set(before["customers"]) < set(after["customers"])  # nothing deleted, the odd IDs added
    assert (
        empty_db.execute_query("CALL dbms.components() YIELD name RETURN count(*) AS up").records[0]["up"] == 1
    )  # still running


def test_a_million_identical_rows_are_one_transaction(cli, empty_db, tmp_path):
    path = tmp_path / "million.csv"
    write_csv(path, [row()])
    line = path.read_text().splitlines()[1] + "\n"
    with open(path, "a") as f:
        f.write(line * 999_999)
    result = cli("ingest", str(path), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["read"], summary["loaded"], summary["rejected"]) == (1_000_000, 1_000_000, 0)
    assert graph_counts(empty_db)["transactions"] == 1
    uses = empty_db.execute_query("MATCH ()-[u:USES]->() RETURN u.transactionCount AS n").records
    assert [r["n"] for r in uses] == [1]  # identical rows are one transaction, counted once
