"""Kills at every phase: the client (SIGKILL), and separately the Neo4j server, in each phase of
ingest and of writeback; the rerun gives the graph of one clean run, every node, relationship
and property compared (helpers.graph_dump).

Each kill happens while the process is held in the phase by wbgraph's pause hook
(``wbgraph.progress.pause_point``): no timing race. Runs on a Neo4j server of this module's
own (the server kills restart it). The ``kills`` tier: ``pytest -m kills``; CI runs it.
"""

import json
import os
import signal
import time

import pytest

from wbgraph.config import Settings
from wbgraph.localserver import LocalServer, start, stop

from helpers import assert_same_graph, free_port, graph_dump, paused

pytestmark = pytest.mark.kills

INGEST_PHASES = [
    "validate",
    "customersAndProducts",
    "customersAndProducts+1",
    "transactions",
    "transactions+1",
    "usage",
    "usage+1",
]
WRITEBACK_PHASES = ["plan", "write", "write+1"]


def cli(*args, env=None):
    from click.testing import CliRunner

    from wbgraph.cli import cli as group

    return CliRunner().invoke(group, list(args), env=env, catch_exceptions=False)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A server of the module's own; the data; two trained runs; the graphs of clean runs to compare with."""
    home = tmp_path_factory.mktemp("kills-home")
    folder = tmp_path_factory.mktemp("kills")
    server = LocalServer(home=home)
    start(server, bolt_port=free_port(), http_port=free_port(), heap="1g", pagecache="512m")  # small: tests run several
    # a client whose server died gives up after 3 s of retries instead of 30 (the test waits for it)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")} | {
        "WBGRAPH_HOME": str(home),
        "WBGRAPH_RETRY_SECONDS": "3",
    }
    local = {"WBGRAPH_HOME": str(home), "NEO4J_URI": None, "NEO4J_PASSWORD": None, "NEO4J_USERNAME": None}
    settings = Settings(server.bolt_uri, "neo4j", server.read_password(), local=True)
    data = folder / "data.csv"
    assert cli("generate", "--rows", "3000", "--seed", "8", "--customers", "120", "--output", str(data)).exit_code == 0

    def run(*args):
        result = cli(*args, env=local)
        assert result.exit_code == 0, result.output
        return result

    runs = str(folder / "runs")
    ingest = ["ingest", str(data), "--batch-size", "200", "--silent"]
    writeback = ["writeback", "--runs-dir", runs, "--top-k", "3", "--no-rules", "--batch-size", "10", "--silent"]
    try:
        run("db", "reset", "--yes")
        run(*ingest)
        clean_ingest = graph_dump(settings)
        ids = [
            json.loads(
                run("train", "--epochs", "5", "--hidden", "8", "--seed", s, "--runs-dir", runs, "--json").output
            )["runId"]
            for s in ("0", "1")
        ]
        run(*writeback, "--run", ids[0])
        run(*writeback, "--run", ids[1])
        clean_writeback = graph_dump(settings)
        yield {
            "server": server,
            "settings": settings,
            "env": env,
            "run": run,
            "cli": lambda *args: cli(*args, env=local),
            "ingest": ingest,
            "writeback": writeback,
            "runs": ids,
            "clean_ingest": clean_ingest,
            "clean_writeback": clean_writeback,
            "folder": folder,
        }
    finally:
        stop(server)


def status(world) -> dict:
    return json.loads(world["run"]("db", "status", "--json").output)


def kill_server(world) -> None:
    server = world["server"]
    os.kill(server.pid(), signal.SIGKILL)
    deadline = time.monotonic() + 60
    while server.pid() and time.monotonic() < deadline:
        time.sleep(0.1)


def finish_with_the_server_gone(process, flag) -> None:
    """Let the held client go on against a dead server: one line, exit 5, no traceback."""
    flag.unlink()
    out, err = process.communicate(timeout=300)
    lines = (out + err).strip().splitlines()
    assert process.returncode == 5, (process.returncode, out, err)
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in err, lines


@pytest.mark.parametrize("phase", INGEST_PHASES)
def test_an_ingest_killed_in_any_phase_shows_and_its_rerun_equals_one_clean_ingest(world, phase, tmp_path):
    world["run"]("db", "reset", "--yes")
    process, _ = paused(world["ingest"], phase, tmp_path, env=world["env"])
    process.send_signal(signal.SIGKILL)
    process.wait()

    found = status(world)
    assert found["writer"]["pid"] == process.pid  # its lock stays: it died holding it
    if phase == "validate":  # nothing written yet
        assert found["nodes"] == 0 and found["interruptedIngests"] == []
    else:
        assert [i["file"] for i in found["interruptedIngests"]] == [world["ingest"][1]]
        shown = world["run"]("db", "status")
        assert f"Warning: an ingest of {world['ingest'][1]} (started " in shown.output
        assert "run the same ingest again to finish it" in shown.output

    rerun = world["run"](*world["ingest"][:-1], "--json")  # takes over the dead writer's lock by itself
    assert json.loads(rerun.output)["interrupted"] == []
    after = status(world)
    assert after["writer"] is None and after["interruptedIngests"] == []
    assert_same_graph(graph_dump(world["settings"]), world["clean_ingest"])


def test_training_on_a_graph_with_an_interrupted_ingest_warns_first(world, tmp_path):
    world["run"]("db", "reset", "--yes")
    process, _ = paused(world["ingest"], "usage+1", tmp_path, env=world["env"])  # some aggregates, not all
    process.send_signal(signal.SIGKILL)
    process.wait()
    trained = world["cli"]("train", "--epochs", "1", "--hidden", "8", "--runs-dir", str(tmp_path / "runs"), "--json")
    assert trained.exit_code == 0, trained.output
    body = json.loads(trained.output)
    assert len(body["warnings"]) == 1 and body["warnings"][0].startswith(f"an ingest of {world['ingest'][1]}")
    world["run"](*world["ingest"])  # healed for the tests after this one


@pytest.mark.parametrize("phase", ["customersAndProducts+1", "transactions+1", "usage+1"])
def test_the_server_killed_in_any_phase_of_an_ingest_then_a_rerun_equals_one_clean_ingest(world, phase, tmp_path):
    world["run"]("db", "reset", "--yes")
    process, flag = paused(world["ingest"], phase, tmp_path, env=world["env"])
    kill_server(world)
    finish_with_the_server_gone(process, flag)
    start(world["server"])  # Neo4j recovers from its transaction log
    assert [i["file"] for i in status(world)["interruptedIngests"]] == [world["ingest"][1]]
    world["run"](*world["ingest"])
    assert status(world)["interruptedIngests"] == []
    assert_same_graph(graph_dump(world["settings"]), world["clean_ingest"])


def writeback_from_the_first_run(world) -> None:
    """The state the clean writeback of the second run started from: a fresh graph with the first run's set."""
    world["run"]("db", "reset", "--yes")
    world["run"](*world["ingest"])
    world["run"](*world["writeback"], "--run", world["runs"][0])


def complete_sets(world) -> set:
    """The run of each customer's set, after checking every set is complete (ranks 1..3 of one run)."""
    from wbgraph.db import open_driver

    with open_driver(world["settings"]) as driver:
        records = driver.execute_query("""MATCH (c:Customer) OPTIONAL MATCH (c)-[r:RECOMMENDED]->()
            WITH c, collect(r.runId) AS runs, collect(r.rank) AS ranks
            RETURN runs, ranks""").records
    assert all(sorted(r["ranks"]) == [1, 2, 3] and len(set(r["runs"])) == 1 for r in records)
    return {r["runs"][0] for r in records}


@pytest.mark.parametrize("phase", WRITEBACK_PHASES)
def test_a_writeback_killed_in_any_phase_leaves_complete_sets_and_its_rerun_equals_one_clean_run(
    world, phase, tmp_path
):
    writeback_from_the_first_run(world)
    second = ["--run", world["runs"][1]]
    process, _ = paused([*world["writeback"], *second, "--workers", "1"], phase, tmp_path, env=world["env"])
    process.send_signal(signal.SIGKILL)
    process.wait()
    moved = complete_sets(world)
    assert moved == ({world["runs"][0], world["runs"][1]} if phase == "write+1" else {world["runs"][0]})
    world["run"](*world["writeback"], *second)
    assert_same_graph(graph_dump(world["settings"]), world["clean_writeback"])


@pytest.mark.parametrize("phase", ["plan", "write+1"])
def test_the_server_killed_in_any_phase_of_a_writeback_then_a_rerun_equals_one_clean_run(world, phase, tmp_path):
    writeback_from_the_first_run(world)
    second = ["--run", world["runs"][1]]
    process, flag = paused([*world["writeback"], *second, "--workers", "1"], phase, tmp_path, env=world["env"])
    kill_server(world)
    finish_with_the_server_gone(process, flag)
    start(world["server"])
    complete_sets(world)
    world["run"](*world["writeback"], *second)
    assert_same_graph(graph_dump(world["settings"]), world["clean_writeback"])
