"""Connecting the way banks do: a password file, a hidden prompt, an internal CA, impersonation.

Against a real Neo4j of our own whose Bolt port speaks TLS with a certificate signed by a
certificate authority made here (so no system store trusts it), the way a bank's internal
CA signs its servers' certificates.
"""

import json
import os
import pty
import select
import subprocess
import sys
import time

import pytest

from wbgraph.localserver import LocalServer, start, stop

from helpers import free_port

TLS_CONF = """\
dbms.ssl.policy.bolt.enabled=true
dbms.ssl.policy.bolt.base_directory={base}
dbms.ssl.policy.bolt.private_key=private.key
dbms.ssl.policy.bolt.public_certificate=public.crt
dbms.ssl.policy.bolt.client_auth=NONE
server.bolt.tls_level=OPTIONAL
"""


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """A local server whose Bolt port takes TLS with a certificate our own CA signed."""
    home = tmp_path_factory.mktemp("tls-home")
    pki = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=wbgraph test CA", cwd=pki)  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=localhost", cwd=pki)  # fmt: skip
    (pki / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.crt", "-days", "2", "-extfile", "san.ext", cwd=pki)  # fmt: skip
    base = home / "certificates" / "bolt"
    for folder in (base / "trusted", base / "revoked"):
        folder.mkdir(parents=True)
    (base / "private.key").write_bytes((pki / "server.key").read_bytes())
    (base / "public.crt").write_bytes((pki / "server.crt").read_bytes())
    (home / "neo4j.extra.conf").write_text(TLS_CONF.format(base=base))
    server = LocalServer(home=home)
    start(server, bolt_port=free_port(), http_port=free_port(), heap="1g", pagecache="512m")  # small: tests run several
    try:
        yield server, pki / "ca.pem"
    finally:
        stop(server)


@pytest.fixture
def no_password_env(monkeypatch):
    for name in ("NEO4J_URI", "NEO4J_PASSWORD", "NEO4J_PASSWORD_FILE", "NEO4J_TRUSTED_CA"):
        monkeypatch.delenv(name, raising=False)


def tls_uri(server, scheme="bolt+s"):
    return f"{scheme}://127.0.0.1:{server.config().bolt_port}"


def test_a_server_signed_by_an_internal_ca_is_trusted_with_that_ca_only(cli, tls_server, no_password_env, monkeypatch):
    server, ca = tls_server
    password = ["--password-file", str(server.password_file)]
    trusted = cli("--uri", tls_uri(server), *password, "--trusted-ca", str(ca), "db", "status", "--json")
    assert trusted.exit_code == 0, trusted.output
    monkeypatch.setenv("NEO4J_TRUSTED_CA", str(ca))  # the environment's name for it, and the routing scheme
    assert cli("--uri", tls_uri(server, "neo4j+s"), *password, "db", "status").exit_code == 0
    monkeypatch.delenv("NEO4J_TRUSTED_CA")

    untrusted = cli("--uri", tls_uri(server), *password, "db", "status")  # the system's CAs do not know ours
    assert untrusted.exit_code == 5 and len(untrusted.output.strip().splitlines()) == 1, untrusted.output
    assert "not signed by a certificate authority this machine trusts" in untrusted.output
    assert "--trusted-ca or NEO4J_TRUSTED_CA" in untrusted.output

    plain = cli("--uri", f"bolt://127.0.0.1:{server.config().bolt_port}", *password, "--trusted-ca", str(ca), "db",
                "status")  # fmt: skip
    assert plain.exit_code == 1 and "applies to the +s schemes" in plain.output
    missing = cli("--uri", tls_uri(server), *password, "--trusted-ca", str(ca) + ".nope", "db", "status")
    assert missing.exit_code == 1 and "does not exist" in missing.output


def test_the_password_comes_from_a_file_named_by_option_or_environment(
    cli, tls_server, no_password_env, monkeypatch, tmp_path
):
    server, _ = tls_server
    uri = f"bolt://127.0.0.1:{server.config().bolt_port}"
    with_newline = tmp_path / "password"
    with_newline.write_text(server.read_password() + "\n")  # as `echo secret > file` writes it
    assert cli("--uri", uri, "--password-file", str(with_newline), "db", "status").exit_code == 0
    monkeypatch.setenv("NEO4J_PASSWORD_FILE", str(with_newline))
    assert cli("--uri", uri, "db", "status").exit_code == 0
    monkeypatch.setenv("NEO4J_PASSWORD", "also-set")
    both = cli("--uri", uri, "db", "status")
    assert both.exit_code == 1 and "Both NEO4J_PASSWORD and NEO4J_PASSWORD_FILE are set" in both.output
    monkeypatch.delenv("NEO4J_PASSWORD")
    (tmp_path / "wrong").write_text("not-it\n")
    wrong = cli("--uri", uri, "--password-file", str(tmp_path / "wrong"), "db", "status")
    assert wrong.exit_code == 6 and "NEO4J_PASSWORD_FILE or --password-file" in wrong.output
    unreadable = cli("--uri", uri, "--password-file", str(tmp_path / "absent"), "db", "status")
    assert unreadable.exit_code == 1 and "Cannot read the password file" in unreadable.output


def test_on_a_terminal_with_nothing_set_the_password_is_asked_for_without_echo(tls_server, tmp_path):
    server, _ = tls_server
    secret = server.read_password()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
    env["NEO4J_URI"] = f"bolt://127.0.0.1:{server.config().bolt_port}"
    pid, fd = pty.fork()
    if pid == 0:  # the child: wbgraph on a terminal
        os.execve(sys.executable, [sys.executable, "-m", "wbgraph", "db", "status"], env)
    seen, deadline, answered = b"", time.monotonic() + 120, False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
        if not answered and b"Password for neo4j at bolt://127.0.0.1:" in seen:
            os.write(fd, secret.encode() + b"\n")
            answered = True
    _, status = os.waitpid(pid, 0)
    text = seen.decode(errors="replace")
    assert answered and os.waitstatus_to_exitcode(status) == 0, text
    assert secret not in text  # not echoed
    assert "Neo4j" in text.split("Password for", 1)[1]


def test_impersonation_reaches_the_server_which_says_in_one_line_if_it_cannot(cli, tls_server, no_password_env):
    server, _ = tls_server
    uri = f"bolt://127.0.0.1:{server.config().bolt_port}"
    result = cli("--uri", uri, "--password-file", str(server.password_file), "--impersonate", "alice", "db", "status")
    # Community refuses it: the request did reach the server, which rejected it (exit 14, README's table)
    assert result.exit_code == 14 and len(result.output.strip().splitlines()) == 1, result.output
    assert result.output.startswith("Error: ") and "imperson" in result.output.lower(), result.output


def test_the_routing_scheme_reads_and_writes_through_the_servers_routing_table(
    cli, tls_server, no_password_env, tmp_path
):
    """neo4j:// asks the server for a routing table (a cluster's writer and readers; a single
    server names itself for both): writes go to the writer, reads are routed as reads."""
    server, _ = tls_server
    password = tmp_path / "password"
    password.write_text(server.read_password())
    common = ("--uri", tls_uri(server, "neo4j"), "--password-file", str(password))
    rows = tmp_path / "rows.csv"
    assert (
        json.loads(cli("generate", "--rows", "300", "--seed", "5", "--output", str(rows), "--json").output)["rows"]
        == 300
    )
    ingested = cli(*common, "ingest", str(rows), "--silent", "--json")  # writes, under the writer lock
    assert ingested.exit_code == 0, ingested.output
    counted = cli(*common, "query", "MATCH (t:Transaction) RETURN count(t) AS n", "--format", "json")  # a routed read
    assert counted.exit_code == 0 and json.loads(counted.output) == [{"n": json.loads(ingested.output)["created"]}]
    written = cli(*common, "query", "CREATE (x:RoutingProbe) RETURN 1 AS one", "--format", "json")
    assert written.exit_code != 0  # a write sent as a read is refused by the server, not silently run
    assert cli(*common, "query", "CREATE (x:RoutingProbe) RETURN 1 AS one", "--write").exit_code == 0
    assert cli(*common, "query", "MATCH (x:RoutingProbe) DETACH DELETE x", "--write").exit_code == 0
