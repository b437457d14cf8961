"""Backups of the local server's database with Neo4j's own tool: ``neo4j-admin database dump|load``.

It sits above :mod:`wbgraph.localserver` and :mod:`wbgraph.db`: it stops and starts the server
and asks the database whether a writer holds it, so the server package itself needs neither.

Neo4j Community dumps and loads a database only while it is offline, so the server is
stopped for the copy and started again afterwards (also when the copy fails). A dump is
refused while a wbgraph writer holds the database (its half-written state would be the
backup); a load replaces the whole database.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .config import Settings
from .db import describe_holder, lock_holder, open_driver
from .errors import FileAccessError, Locked, ServerError, require_folder_of
from .localserver import LocalServer, last_line, start, stop
from .progress import SILENT, Progress, Summary


@dataclass
class BackupResult(Summary):
    file: str
    database: str
    bytes: int
    seconds: float
    restarted: bool  # the server was running, so it was stopped for the copy and started again


def dump(
    path: str | Path, server: LocalServer | None = None, database: str = "neo4j", progress: Progress = SILENT
) -> BackupResult:
    """Write ``database`` of the local server to the dump file ``path`` (replaced whole)."""
    server, path, began = server or LocalServer(), Path(path), time.monotonic()
    require_folder_of(path, "the dump")
    running = _stop_for(server, database, progress, "the dump")
    try:
        with tempfile.TemporaryDirectory(prefix="dump-", dir=path.parent) as tmp:
            _admin(server, "dump", database, f"--to-path={tmp}", f"could not dump {database}")
            (Path(tmp) / f"{database}.dump").replace(path)
    finally:
        _restart(server, running, progress)
    return BackupResult(str(path), database, path.stat().st_size, time.monotonic() - began, running)


def load(
    path: str | Path, server: LocalServer | None = None, database: str = "neo4j", progress: Progress = SILENT
) -> BackupResult:
    """Replace ``database`` of the local server with the dump file ``path``."""
    server, path, began = server or LocalServer(), Path(path), time.monotonic()
    if not path.is_file():
        raise FileAccessError(f"cannot read the dump {path}: no such file.")
    running = _stop_for(server, database, progress, "the load")
    try:
        with tempfile.TemporaryDirectory(prefix="load-", dir=server.home) as tmp:
            (Path(tmp) / f"{database}.dump").symlink_to(path.resolve())  # the tool reads <database>.dump
            _admin(server, "load", database, f"--from-path={tmp}", f"could not load {path}")
    finally:
        _restart(server, running, progress)
    return BackupResult(str(path), database, path.stat().st_size, time.monotonic() - began, running)


def _admin(server: LocalServer, verb: str, database: str, where: str, failed: str) -> None:
    """``neo4j-admin database <verb> <database> <where> --overwrite-destination=true``, or a one-line error."""
    done = server.admin(
        "database", verb, database, where, "--overwrite-destination=true", capture_output=True, text=True
    )
    if done.returncode != 0:
        raise ServerError(f"neo4j-admin {failed}: {last_line(done.stderr or done.stdout)}")


def _stop_for(server: LocalServer, database: str, progress: Progress, what: str) -> bool:
    """Stop the server if it runs (refusing while a wbgraph writer holds the database); whether it ran."""
    if not server.pid():
        return False
    settings = Settings(server.bolt_uri, "neo4j", server.read_password(), database, local=True)
    with open_driver(settings) as driver:
        holder = lock_holder(driver, settings)
    if holder:
        raise Locked(f"{describe_holder(holder)} is writing to {database}: wait for it, then try {what} again.")
    progress.say(f"Stopping Neo4j for {what}")
    stop(server)
    return True


def _restart(server: LocalServer, running: bool, progress: Progress) -> None:
    if running:
        progress.say("Starting Neo4j again")
        start(server, progress=progress)
