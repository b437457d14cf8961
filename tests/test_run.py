"""``wbgraph run``: the scheduled refresh, ingest -> train -> evaluate with a gate -> writeback.

And the runs it leaves, as ``wbgraph runs`` shows and manages them.
"""

import json

import pytest

from wbgraph.runs import Run

RECOMMENDED = "MATCH (c:Customer)-[r:RECOMMENDED]->(p:Product) RETURN c.customerId, p.productId, r.rank, r.runId"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """One generated extract (150 customers, 20 products, planted structure)."""
    from wbgraph.loaders import generate as generator

    folder = tmp_path_factory.mktemp("run")
    data = generator.generate(3000, seed=2, customers=150, products=20, truth=True)
    generator.write(data, folder / "g.csv", folder / "t.json")
    return folder


def recommended(driver) -> list:
    return sorted(tuple(r.values()) for r in driver.execute_query(RECOMMENDED).records)


def test_run_ingests_trains_evaluates_and_writes_back_when_the_gate_passes(cli, empty_db, files, tmp_path):
    runs = tmp_path / "runs"
    result = cli("run", str(files / "g.csv"), "--epochs", "40", "--runs-dir", str(runs), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["stoppedAt"] is None and summary["exitCode"] == 0
    assert summary["ingest"]["loaded"] == 3000 and summary["evaluation"]["gate"]["passed"]
    assert summary["evaluation"]["gate"]["required"] == ["popularity"]  # the default gate
    assert set(summary["seconds"]) == {"ingest", "train", "evaluate", "writeback"}
    written = recommended(empty_db)
    assert len(written) == summary["writeback"]["edges"] > 0
    assert {r[3] for r in written} == {summary["runId"]}

    record = Run.open(summary["runId"], runs).record()
    assert record["graph"]["customers"] == 150 and record["graph"]["transactions"] == 3000
    assert record["learnedFrom"]["interactions"] == record["graph"]["uses"]
    assert record["window"]["first"].startswith("2025") and len(record["fingerprint"]) == 16
    assert record["versions"]["torch-geometric"] and record["versions"]["neo4j"]

    listed = json.loads(cli("runs", "list", "--runs-dir", str(runs), "--json").output)
    assert [(r["runId"], r["gate"], r["serving"]) for r in listed] == [(summary["runId"], "passed", True)]
    shown = cli("runs", "show", summary["runId"], "--runs-dir", str(runs))
    assert "customers 150, products 20, transactions 3,000" in shown.output
    assert f"{summary['writeback']['edges']:,} edges for 150 customers" in shown.output


def test_run_writes_nothing_back_when_the_gate_fails_and_exits_10(cli, empty_db, files, tmp_path):
    runs = tmp_path / "runs"
    first = cli("run", str(files / "g.csv"), "--epochs", "20", "--runs-dir", str(runs), "--silent")
    assert first.exit_code == 0, first.output
    before = recommended(empty_db)

    failed = cli("run", "--epochs", "5", "--require-beat", "EASE", "--margin", "1", "--runs-dir", str(runs), "--json")
    assert failed.exit_code == 10
    out = failed.output
    summary = json.loads(out[: out.index("\nError: ") + 1] if "\nError: " in out else out)
    assert summary["stoppedAt"] == "evaluate" and summary["writeback"] is None and summary["ingest"] is None
    assert "does not beat EASE" in summary["error"] and "Nothing was written back." in summary["error"]
    assert recommended(empty_db) == before  # the previous run's recommendations stand
    assert out.rstrip().splitlines()[-1].startswith("Error: wbgraph run stopped at evaluate: Run ")

    # the failed run is the latest, but writeback and recommend keep serving the one that passed
    assert Run.latest(runs).id == summary["runId"] and Run.serving(runs).id != summary["runId"]
    refused = cli("runs", "promote", summary["runId"], "--runs-dir", str(runs))
    assert refused.exit_code == 9 and "--force" in refused.output


def test_another_writer_holding_the_lock_stops_a_run_before_it_ingests(cli, empty_db, files, tmp_path):
    empty_db.execute_query(
        "CREATE (:WbgraphLock {name: 'writer', command: 'ingest', host: 'elsewhere', pid: 1, token: 't',"
        " since: datetime('2026-11-26T03:00:00Z')})"
    )
    try:
        result = cli("run", str(files / "g.csv"), "--runs-dir", str(tmp_path / "runs"))
        assert result.exit_code == 13 and "stopped at lock" in result.output, result.output
        assert empty_db.execute_query("MATCH (c:Customer) RETURN count(c) AS n").records[0]["n"] == 0
        assert not (tmp_path / "runs").exists()
    finally:
        empty_db.execute_query("MATCH (l:WbgraphLock) DELETE l")


def test_a_bad_gate_is_refused_before_anything_is_written(cli, empty_db, files, tmp_path):
    result = cli("run", str(files / "g.csv"), "--require-beat", "nonsense", "--runs-dir", str(tmp_path / "runs"))
    assert result.exit_code != 0 and "nonsense" in result.output
    assert empty_db.execute_query("MATCH (n) RETURN count(n) AS n").records[0]["n"] == 0
