"""The local server's generated password and how it reaches Neo4j (no server, no Java)."""

import stat
import subprocess
from pathlib import Path

from wbgraph.localserver import server
from wbgraph.localserver.distribution import Distribution


def test_a_generated_password_never_starts_like_an_option(monkeypatch):
    # neo4j-admin reads it as an argument: "-..." would be an unknown option and the first start would fail
    drawn = iter(["-starts-like-an-option", "_fine-as-it-is"])
    monkeypatch.setattr(server.secrets, "token_urlsafe", lambda n: next(drawn))
    assert server.new_password() == "_fine-as-it-is"
    monkeypatch.undo()
    assert all(not server.new_password().startswith("-") for _ in range(2000))


def test_the_initial_password_reaches_neo4j_admin_in_a_private_file_never_on_its_command_line(tmp_path, monkeypatch):
    # the set-initial-password process lives a second: rather than hope to catch it in /proc,
    # look at exactly what wbgraph starts it with
    seen = {}

    def run(args, env=None, **kwargs):
        argfile = next(Path(a[1:]) for a in args if a.startswith("@"))
        seen.update(args=list(args), env=dict(env or {}), mode=stat.S_IMODE(argfile.stat().st_mode))
        seen["file"] = argfile.read_text()
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(server, "java_executable", lambda: "java")
    monkeypatch.setattr(server.subprocess, "run", run)
    local = server.LocalServer(home=tmp_path / "home")
    local.home.mkdir()
    local.run_dir.mkdir()
    local.password_file.write_text(server.new_password() + "\n")
    password = local.read_password()
    local._set_initial_password(Distribution("5.26.30", tmp_path / "lib"))

    assert seen["args"][-3:-1] == ["dbms", "set-initial-password"]
    assert not any(password in a for a in seen["args"])  # not on the command line
    assert not any(password in v for v in seen["env"].values())  # nor in its environment
    assert seen["file"].strip() == password and seen["mode"] == 0o600  # in a file only its owner reads
    assert not list(local.run_dir.iterdir())  # removed once the tool has run
