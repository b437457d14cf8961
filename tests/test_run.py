"""``wbgraph run``: the scheduled refresh, ingest -> train -> evaluate with a gate -> writeback.

And the runs it leaves, as ``wbgraph runs`` shows and manages them.
"""

import json

import pytest

from wbgraph.runs import Run

from helpers import holdings_csv

RECOMMENDED = "MATCH (c:Customer)-[r:RECOMMENDED]->(p:Product) RETURN c.customerId, p.productId, r.rank, r.runId"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """One generated extract (300 customers, 20 products, planted structure): enough customers for the
    gate's interval to tell the model from popularity."""
    from wbgraph.loaders import generate as generator

    folder = tmp_path_factory.mktemp("run")
    data = generator.generate(6000, seed=2, customers=300, products=20, truth=True)
    generator.write(data, folder / "g.csv", folder / "t.json")
    return folder


def recommended(driver) -> list:
    return sorted(tuple(r.values()) for r in driver.execute_query(RECOMMENDED).records)


def test_run_ingests_trains_evaluates_and_writes_back_when_the_gate_passes(cli, empty_db, files, tmp_path):
    runs = tmp_path / "runs"
    result = cli(
        "run", str(files / "g.csv"), "--epochs", "40", "--metric", "ndcg@10", "--runs-dir", str(runs), "--json"
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["stoppedAt"] is None and summary["exitCode"] == 0
    assert summary["ingest"]["loaded"] == 6000 and summary["evaluation"]["gate"]["passed"]
    assert summary["evaluation"]["gate"]["required"] == ["popularity"]  # the default gate
    assert set(summary["seconds"]) == {"ingest", "train", "evaluate", "writeback"}
    written = recommended(empty_db)
    assert len(written) == summary["writeback"]["edges"] > 0
    assert {r[3] for r in written} == {summary["runId"]}

    record = Run.open(summary["runId"], runs).record()
    assert record["graph"]["customers"] == 300 and record["graph"]["transactions"] == 6000
    assert record["learnedFrom"]["interactions"] == record["graph"]["uses"]
    assert record["window"]["first"].startswith("2025") and len(record["fingerprint"]) == 16
    assert record["versions"]["torch-geometric"] and record["versions"]["neo4j"]

    listed = json.loads(cli("runs", "list", "--runs-dir", str(runs), "--json").output)
    assert [(r["runId"], r["gate"], r["serving"]) for r in listed] == [(summary["runId"], "passed", True)]
    shown = cli("runs", "show", summary["runId"], "--runs-dir", str(runs))
    assert "customers 300, products 20, transactions 6,000" in shown.output
    covered = summary["writeback"]["covered"]
    assert f"{summary['writeback']['edges']:,} edges for {covered} customers" in shown.output
    record = json.loads(cli("runs", "show", summary["runId"], "--runs-dir", str(runs), "--json").output)["record"]
    assert record["graph"]["customers"] == 300


def test_run_writes_nothing_back_when_the_gate_fails_and_exits_10(cli, empty_db, files, tmp_path):
    runs = tmp_path / "runs"
    first = cli(
        "run", str(files / "g.csv"), "--epochs", "40", "--metric", "ndcg@10", "--runs-dir", str(runs), "--silent"
    )
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
    assert refused.exit_code == 10 and "--force" in refused.output
    forced = cli("runs", "promote", summary["runId"], "--force", "--runs-dir", str(runs), "--json")
    assert json.loads(forced.output)["promoted"] == summary["runId"] == Run.serving(runs).id


def test_an_asof_run_backtests_then_writes_back_a_model_trained_up_to_the_latest_month(cli, empty_db, tmp_path):
    runs = tmp_path / "runs"
    extract = holdings_csv(tmp_path / "holdings.csv")  # month-ends of January to June 2025
    result = cli(
        "run", str(extract), "--protocol", "asof", "--epochs", "6", "--no-gate", "--runs-dir", str(runs), "--json"
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    # the backtest asks about the last month of the data; the model written back learned from all of it
    assert summary["evaluation"]["protocol"]["test"] == ["2025-05-29", "2025-06-29"]
    assert summary["refit"]["protocol"]["cutoff"] == "2025-06-29"
    assert summary["runId"] == summary["refit"]["runId"] != summary["training"]["runId"]
    assert set(summary["seconds"]) == {"ingest", "train", "evaluate", "refit", "writeback"}
    written = recommended(empty_db)
    assert len(written) == summary["writeback"]["edges"] > 0 and {r[3] for r in written} == {summary["runId"]}
    evidence = Run.open(summary["runId"], runs).evaluation()  # what it was written back on: the backtest's
    assert evidence["evaluatedRun"] == summary["training"]["runId"] and evidence["metrics"]["gat"]["customers"] > 0


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
