"""One real Neo4j server for the whole test session, and never one the tests did not make.

Chosen in this order, and never skipped:
1. ``WBGRAPH_TEST_URI`` (with ``WBGRAPH_TEST_PASSWORD``, optionally ``WBGRAPH_TEST_USER``):
   an explicit opt-in to a server of your own, accepted only while its database is empty
   (the suite deletes everything in it; it is emptied again at the end);
2. a Docker engine that answers: ``neo4j:5.26-community`` through testcontainers;
3. otherwise the local server that wbgraph itself manages, in a temporary home on free ports.
``NEO4J_URI``/``NEO4J_PASSWORD`` and ``.env`` are ignored: a developer's production settings
never reach a test that deletes data. Tests drive the CLI in-process, which finds the same
server through the environment this fixture sets.

Module-scoped fixtures (``small_graph``, ``demo_graph``, ``runs``) share one database
among a module's tests: those tests read it and must leave it as they found it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from wbgraph.config import Settings, resolve_settings
from wbgraph.db import open_driver
from wbgraph.localserver import LocalServer, start, stop

from helpers import CONNECTION, external_settings, free_port, require_empty

NEO4J_IMAGE = "neo4j:5.26-community"
UNIT = Path(__file__).parent / "unit"


def pytest_collection_modifyitems(config, items):
    """Everything under tests/unit/ is the unit tier (``pytest -m unit``)."""
    for item in items:
        if UNIT in Path(item.path).parents:
            item.add_marker(pytest.mark.unit)


@pytest.fixture(scope="session", autouse=True)
def runs_location(tmp_path_factory):
    """No test writes run folders into the working directory: WBGRAPH_RUNS is a temporary folder."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WBGRAPH_RUNS", str(tmp_path_factory.mktemp("runs")))
        yield


@dataclass
class Backend:
    kind: str  # "external", "docker" or "local"
    settings: Settings
    server: LocalServer | None = None


def docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


def start_local_server(home) -> LocalServer:
    server = LocalServer(home=home)
    start(server, bolt_port=free_port(), http_port=free_port(), heap="1g", pagecache="512m")  # small: tests run several
    return server


@pytest.fixture(scope="session")
def backend(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        external = external_settings(os.environ)
        mp.setenv("WBGRAPH_DOTENV", "")  # no .env reaches the in-process CLI
        for name in CONNECTION:
            mp.delenv(name, raising=False)
        if external:
            require_empty(external)
            for name, value in zip(CONNECTION, (external.uri, external.user, external.password, external.database)):
                mp.setenv(name, value)
            try:
                yield Backend("external", resolve_settings())
            finally:
                with open_driver(external) as driver, driver.session(database=external.database) as session:
                    session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS").consume()
        elif docker_answers():
            from testcontainers.neo4j import Neo4jContainer

            with Neo4jContainer(NEO4J_IMAGE, password="wbgraph-test-password") as container:
                mp.setenv("NEO4J_URI", container.get_connection_url())
                mp.setenv("NEO4J_PASSWORD", "wbgraph-test-password")
                yield Backend("docker", resolve_settings())
        else:
            home = tmp_path_factory.mktemp("wbgraph-home")
            mp.setenv("WBGRAPH_HOME", str(home))
            server = start_local_server(home)
            try:
                yield Backend("local", resolve_settings(), server)
            finally:
                stop(server)


@pytest.fixture(scope="session")
def local_server(backend, tmp_path_factory):
    """The local managed server: the session's own, or a second one when the session uses another."""
    if backend.server:
        yield backend.server
        return
    server = start_local_server(tmp_path_factory.mktemp("wbgraph-local"))
    try:
        yield server
    finally:
        stop(server)


@pytest.fixture
def driver(backend):
    with open_driver(backend.settings) as driver:
        yield driver


@pytest.fixture
def empty_db(backend, driver):
    """The session's database, emptied before the test."""
    driver.execute_query("MATCH (n) DETACH DELETE n", database_=backend.settings.database)
    return driver


@pytest.fixture
def cli():
    """Invoke ``wbgraph`` in-process: cli("db", "status") -> click Result."""
    from click.testing import CliRunner

    from wbgraph.cli import cli as group

    def invoke(*args, input=None, env=None):
        result = CliRunner().invoke(group, list(args), input=input, env=env, catch_exceptions=False)
        if "--json" in args and "query" not in args and result.exit_code == 0 and result.output.strip():
            assert_camel_case(json.loads(result.output), " ".join(map(str, args)))
        return result

    return invoke


SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")


def assert_camel_case(value, command: str, where: str = "") -> None:
    """Every ``--json`` speaks camelCase: no key of the output (at any depth) is snake_case.
    (Keys that are data, such as a baseline's or a rule's name, are not identifiers of ours;
    the test data has none in snake_case.)"""
    if isinstance(value, dict):
        for key, inner in value.items():
            assert not SNAKE.match(str(key)), f"`wbgraph {command}` --json has a snake_case key {where}{key}"
            assert_camel_case(inner, command, f"{where}{key}.")
    elif isinstance(value, list):
        for inner in value:
            assert_camel_case(inner, command, where)


@pytest.fixture
def seed_csv():
    """1,000 rows made by the seed notebook's own generator, bugs and all (kept as data)."""
    from pathlib import Path

    return Path(__file__).parent / "data" / "seed_notebook.csv"


@pytest.fixture(scope="module")
def small_graph(backend, tmp_path_factory):
    """A small generated dataset, ingested once for this module."""
    from click.testing import CliRunner

    from wbgraph.cli import cli
    from wbgraph.db import open_driver

    folder = tmp_path_factory.mktemp("learning")
    runner = CliRunner()
    with open_driver(backend.settings) as driver:
        driver.execute_query("MATCH (n) DETACH DELETE n")
    assert (
        runner.invoke(
            cli,
            [
                "generate",
                "--rows",
                "3000",
                "--seed",
                "2",
                "--customers",
                "150",
                "--products",
                "20",
                "--output",
                str(folder / "g.csv"),
                "--truth",
                str(folder / "t.json"),
            ],
        ).exit_code
        == 0
    )
    result = runner.invoke(cli, ["ingest", str(folder / "g.csv"), "--silent"])
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture(scope="module")
def demo_graph(backend, tmp_path_factory):
    """A small pipeline run end to end (``wbgraph demo``): data, run folder, recommendations."""
    from click.testing import CliRunner

    from wbgraph.cli import cli

    folder = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(
        cli,
        ["demo", "--rows", "3000", "--epochs", "40", "--folder", str(folder), "--reset", "--json"]
        + ["--runs-dir", str(folder / "runs")],
    )
    assert result.exit_code == 0, result.output
    assert_camel_case(json.loads(result.output), "demo")
    return folder
