"""One real Neo4j server for the whole test session.

Chosen in this order, and never skipped:
1. ``NEO4J_URI`` (with ``NEO4J_PASSWORD``) in the environment: the user's own server;
2. a Docker engine that answers: ``neo4j:5.26-community`` through testcontainers;
3. otherwise the local server that wbgraph itself manages, in a temporary home on free ports.
Tests drive the CLI, which finds the same server through the same environment.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import pytest

from wbgraph.config import Settings, resolve_settings
from wbgraph.db import connect
from wbgraph.localserver import LocalServer, start, stop

NEO4J_IMAGE = "neo4j:5.26-community"


@dataclass
class Backend:
    kind: str  # "external", "docker" or "local"
    settings: Settings
    server: LocalServer | None = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


def start_local_server(home) -> LocalServer:
    server = LocalServer(home=home)
    start(server, bolt_port=free_port(), http_port=free_port())
    return server


@pytest.fixture(scope="session")
def backend(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        if os.environ.get("NEO4J_URI"):
            yield Backend("external", resolve_settings())
        elif docker_answers():
            from testcontainers.neo4j import Neo4jContainer

            with Neo4jContainer(NEO4J_IMAGE, password="wbgraph-test-password") as container:
                mp.setenv("NEO4J_URI", container.get_connection_url())
                mp.setenv("NEO4J_PASSWORD", "wbgraph-test-password")
                yield Backend("docker", resolve_settings())
        else:
            home = tmp_path_factory.mktemp("wbgraph-home")
            mp.setenv("WBGRAPH_HOME", str(home))
            for name in ("NEO4J_USERNAME", "NEO4J_PASSWORD", "NEO4J_DATABASE"):
                mp.delenv(name, raising=False)
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
    with connect(backend.settings) as driver:
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
        return CliRunner().invoke(group, list(args), input=input, env=env, catch_exceptions=False)

    return invoke


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
    from wbgraph.db import connect

    folder = tmp_path_factory.mktemp("learning")
    runner = CliRunner()
    with connect(backend.settings) as driver:
        driver.execute_query("MATCH (n) DETACH DELETE n")
    assert runner.invoke(cli, ["generate", "--rows", "3000", "--seed", "2", "--customers", "150", "--products", "20",
                               "--output", str(folder / "g.csv"), "--truth", str(folder / "t.json")]).exit_code == 0
    result = runner.invoke(cli, ["ingest", str(folder / "g.csv"), "--silent"])
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture(scope="module")
def demo_graph(backend, tmp_path_factory):
    """A small pipeline run end to end (``wbgraph demo``): data, run folder, recommendations."""
    from click.testing import CliRunner

    from wbgraph.cli import cli

    folder = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(cli, ["demo", "--rows", "3000", "--epochs", "40", "--folder", str(folder), "--reset", "--json"])
    assert result.exit_code == 0, result.output
    return folder
