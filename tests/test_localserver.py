"""The local Neo4j server that wbgraph assembles from Maven Central and manages itself."""

import json
import os
import stat
import urllib.request
from pathlib import Path

import pytest

from wbgraph.localserver import NEO4J_VERSION

# 127.0.0.1 as /proc/net/tcp writes it, and as ::ffff:127.0.0.1 in /proc/net/tcp6
LOOPBACK = {"0100007F", "0000000000000000FFFF00000100007F"}


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on ``port`` (from /proc/net/tcp{,6})."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def test_start_of_a_running_server_says_so(cli, local_server):
    result = cli("db", "start", env={"WBGRAPH_HOME": str(local_server.home)})
    assert result.exit_code == 0, result.output
    assert "already running" in result.output


def test_server_is_neo4j_526_community_without_plugins(local_server):
    from wbgraph.config import Settings
    from wbgraph.db import open_driver

    settings = Settings(local_server.bolt_uri, "neo4j", local_server.read_password(), local=True)
    with open_driver(settings) as driver:
        record = driver.execute_query(
            "CALL dbms.components() YIELD versions, edition RETURN versions[0] AS v, edition"
        ).records[0]
        procedures = driver.execute_query(
            "SHOW PROCEDURES YIELD name WHERE name STARTS WITH 'apoc.' RETURN count(*) AS n"
        )
    assert (record["v"], record["edition"]) == (NEO4J_VERSION, "community")
    assert procedures.records[0]["n"] == 0  # no statement needs APOC, and it broke Bolt TLS on this class path
    assert (local_server.home / "plugins").is_dir()  # where a user's own plugins go


def test_browser_is_served_at_browser(local_server):
    port = local_server.config().http_port
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/browser/", timeout=10) as page:
        assert page.status == 200
        assert "<title>Neo4j Browser</title>" in page.read().decode()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as discovery:
        assert json.loads(discovery.read())["neo4j_version"] == NEO4J_VERSION


def test_listens_on_loopback_only(local_server):
    config = local_server.config()
    for port in (config.bolt_port, config.http_port):
        addresses = listening_addresses(port)
        assert addresses and addresses <= LOOPBACK, (port, addresses)


def test_password_is_private_and_on_no_command_line(local_server):
    assert stat.S_IMODE(local_server.password_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(local_server.home.stat().st_mode) == 0o700
    password = local_server.read_password()
    assert len(password) >= 24
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        assert password.encode() not in cmdline, f"password on the command line of pid {proc.name}"
    for log in local_server.logs_dir.glob("*"):
        assert password not in log.read_text(errors="replace"), log
    assert not (local_server.run_dir / "initial-password.args").exists()


def test_admin_tool_runs_on_the_instance(local_server):
    done = local_server.admin("--version", capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert NEO4J_VERSION in done.stdout


@pytest.mark.lifecycle
def test_stop_status_start_round_trip(cli, local_server):
    env = {"WBGRAPH_HOME": str(local_server.home)}
    for name in ("NEO4J_URI", "NEO4J_PASSWORD"):
        env[name] = None  # the local server, not the session's other one
    stopped = cli("db", "stop", env=env)
    assert stopped.exit_code == 0 and "Neo4j stopped" in stopped.output
    assert cli("db", "stop", env=env).output.strip() == "Neo4j is not running"
    assert json.loads(cli("db", "stop", "--json", env=env).output)["wasRunning"] is False

    down = cli("db", "status", env=env)
    assert down.exit_code == 5
    assert down.output.startswith("Error: The local Neo4j server is not running")

    started = cli("db", "start", "--json", env=env)
    assert started.exit_code == 0, started.output
    assert json.loads(started.output)["alreadyRunning"] is False
    assert cli("db", "status", env=env).exit_code == 0


def test_missing_java_names_the_three_ways_forward(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # neither java nor mvn
    monkeypatch.delenv("JAVA_HOME", raising=False)
    result = cli("db", "start", env={"WBGRAPH_HOME": str(tmp_path / "home"), "WBGRAPH_CACHE": str(tmp_path / "cache")})
    assert result.exit_code == 15
    line = result.output.strip()
    assert line.startswith("Error: Java 17 or later is needed")
    assert "install them" in line and "docker compose -f docker/compose.yaml up -d" in line and "NEO4J_URI" in line


def test_missing_maven_names_the_three_ways_forward(cli, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    java = Path(os.environ["JAVA_HOME"]) / "bin" / "java" if os.environ.get("JAVA_HOME") else None
    import shutil

    (bin_dir / "java").symlink_to(java or shutil.which("java"))
    monkeypatch.setenv("PATH", str(bin_dir))
    result = cli("db", "start", env={"WBGRAPH_HOME": str(tmp_path / "home"), "WBGRAPH_CACHE": str(tmp_path / "cache")})
    assert result.exit_code == 15
    assert result.output.strip().startswith("Error: Maven (mvn) is needed once")
    assert "docker compose -f docker/compose.yaml up -d" in result.output


def test_ports_in_use_are_refused_clearly(cli, local_server, tmp_path):
    busy = local_server.config().bolt_port
    result = cli("db", "start", "--bolt-port", str(busy), env={"WBGRAPH_HOME": str(tmp_path / "other")})
    assert result.exit_code == 15
    assert (
        result.output.strip()
        == f"Error: Port {busy} on 127.0.0.1 is already in use by another program: choose another with --bolt-port/--http-port."
    )
