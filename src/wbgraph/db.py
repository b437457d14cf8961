"""The connection to Neo4j: one driver per process, and driver errors turned into one line.

:func:`connect` is what the commands and notebooks use: it resolves the settings (options,
environment, ``.env``, else the local server), checks the local server runs, and yields a
verified driver with its settings. Also the database-level operations of ``wbgraph db``:
:func:`status` and :func:`reset`, and the schema every writer applies.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

import neo4j
from neo4j import GraphDatabase, RoutingControl
from neo4j.exceptions import AuthError, DriverError, Neo4jError, ServiceUnavailable, SessionExpired

from . import cypher
from ._version import __version__
from .config import Settings, resolve_settings
from .errors import AuthenticationFailed, ConfigError, ConnectionFailed, DatabaseNotFound, Locked, QueryFailed
from .progress import SILENT, Progress, Summary

READ = RoutingControl.READ
WRITE = RoutingControl.WRITE


class Connection(NamedTuple):
    """A verified driver and the settings it was made from; unpacks as ``driver, settings``."""

    driver: neo4j.Driver
    settings: Settings


@contextmanager
def connect(
    uri: str | None = None,
    user: str | None = None,
    database: str | None = None,
    settings: Settings | None = None,
    **options: object,
) -> Iterator[Connection]:
    """The one connection of a command or a notebook: ``with connect() as (driver, settings): ...``.

    ``settings`` given: used as they are; otherwise resolved from ``uri``/``user``/``database``
    and ``options`` (``password_file``, ``trusted_ca``, ``impersonate``, ``prompt``: see
    :func:`wbgraph.config.resolve_settings`), the environment, ``.env``, or the local server
    (which must be running).
    """
    settings = settings or resolve_settings(uri=uri, user=user, database=database, **options)
    if settings.local:
        from .localserver import LocalServer

        if not LocalServer().pid():
            raise ConnectionFailed(
                f"The local Neo4j server is not running ({settings.uri}): start it with `wbgraph db start`, "
                "or set NEO4J_URI to use another server."
            )
    with open_driver(settings) as driver:
        yield Connection(driver, settings)


@contextmanager
def open_driver(settings: Settings) -> Iterator[neo4j.Driver]:
    """A verified driver for ``settings``; every driver error inside becomes a :class:`WbgraphError`.

    With ``settings.trusted_ca`` the ``+s`` scheme becomes its plain one with encryption on
    and only that file's certificate authorities trusted (the driver takes a custom trust
    store only so); with ``settings.impersonate`` every query and session runs as that user.
    """
    uri, tls = settings.uri, {}
    if settings.trusted_ca:
        uri = settings.uri.replace("+s://", "://", 1)
        tls = {"encrypted": True, "trusted_certificates": neo4j.TrustCustomCAs(settings.trusted_ca)}
    with translate_errors(settings):
        try:
            driver = GraphDatabase.driver(
                uri,
                auth=(settings.user, settings.password),
                user_agent=f"wbgraph/{__version__}",
                notifications_min_severity="OFF",
                max_transaction_retry_time=retry_seconds(),
                **tls,
            )
        except ValueError as e:  # malformed URI or settings
            raise ConfigError(f"Cannot use Neo4j URI {settings.uri!r}: {_one_line(str(e))}") from None
        with driver:
            if settings.impersonate:
                driver = Impersonating(driver, settings.impersonate, settings.database)
            driver.verify_connectivity()
            yield driver


class Impersonating:
    """A driver whose queries and sessions all run as another user (the driver's
    ``impersonated_user``): wbgraph's code calls it as it calls any driver."""

    def __init__(self, driver: neo4j.Driver, user: str, database: str):
        self._driver, self._user, self._database = driver, user, database

    def execute_query(self, *args, **kwargs) -> neo4j.EagerResult:
        kwargs.setdefault("impersonated_user_", self._user)
        return self._driver.execute_query(*args, **kwargs)

    def session(self, **kwargs) -> neo4j.Session:
        kwargs.setdefault("impersonated_user", self._user)
        return self._driver.session(**kwargs)

    def verify_connectivity(self) -> None:
        with self.session(database=self._database) as session:  # the server must accept the impersonation too
            session.run(cypher.load("db/ping")).consume()

    def __getattr__(self, name: str) -> object:
        return getattr(self._driver, name)


RETRY_SECONDS = "WBGRAPH_RETRY_SECONDS"  # how long a transaction is retried on transient failures


def retry_seconds() -> float:
    """Seconds a transaction function is retried after a transient failure (a lost server, a
    deadlock): ``WBGRAPH_RETRY_SECONDS``, default 30 (the driver's own default). A scheduled job
    that should fail fast when the server is gone may lower it."""
    text = os.environ.get(RETRY_SECONDS, "30")
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise ConfigError(f"{RETRY_SECONDS} must be a number of seconds (0 or more), not {text!r}.")
    return value


@contextmanager
def translate_errors(settings: Settings) -> Iterator[None]:
    """Turn the driver's exceptions into one-line wbgraph errors naming the server and the fix."""
    try:
        yield
    except AuthError:
        raise AuthenticationFailed(
            f"Neo4j at {settings.uri} refused user {settings.user!r}: wrong user name or password"
            + (
                f" (the local server's password is in {_password_file()})."
                if settings.local
                else " (check NEO4J_USERNAME and the password: NEO4J_PASSWORD, NEO4J_PASSWORD_FILE or --password-file)."
            )
        ) from None
    except (ServiceUnavailable, SessionExpired) as e:
        hint = "start it with `wbgraph db start`" if settings.local else "check NEO4J_URI and that the server is up"
        if _untrusted_certificate(e):
            hint = (
                "its TLS certificate is not signed by a certificate authority this machine trusts"
                + (f" (only {settings.trusted_ca} is trusted)" if settings.trusted_ca else "")
                + ": name the CA that signed it with --trusted-ca or NEO4J_TRUSTED_CA"
            )
        raise ConnectionFailed(f"Cannot reach Neo4j at {settings.uri}: {_one_line(str(e))}; {hint}.") from None
    except Neo4jError as e:
        if e.code == "Neo.ClientError.Database.DatabaseNotFound":
            raise DatabaseNotFound(f"Database {settings.database!r} does not exist on {settings.uri}.") from None
        raise QueryFailed(f"{_one_line(e.message or str(e))} ({e.code})") from None
    except DriverError as e:
        raise ConfigError(f"Cannot use Neo4j at {settings.uri}: {_one_line(str(e))}") from None


def _untrusted_certificate(error: BaseException) -> bool:
    """Whether a connection failed because the server's certificate could not be verified."""
    import ssl

    seen = error
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _password_file() -> str:
    from .localserver import LocalServer

    return str(LocalServer().password_file)


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " ".join(lines)[:500] or "no details"


@dataclass(frozen=True)
class Status(Summary):
    """Which server answers, and how much is in the target database."""

    uri: str
    database: str
    server: str
    version: str
    edition: str
    nodes: int
    relationships: int
    writer: dict | None = None  # who holds the writer lock, if anyone
    interrupted_ingests: list = field(default_factory=list)  # [{file, fingerprint, startedAt}]


def status(driver: neo4j.Driver, settings: Settings) -> Status:
    """Which server answers, how much is in the target database, who writes it, what was interrupted."""
    components = driver.execute_query(cypher.load("db/server_components"), database_=settings.database, routing_=READ)
    counts = driver.execute_query(cypher.load("db/graph_counts"), database_=settings.database, routing_=READ)
    kernel = components.records[0]
    return Status(
        uri=settings.uri,
        database=settings.database,
        server=kernel["name"],
        version=kernel["version"],
        edition=kernel["edition"],
        nodes=counts.records[0]["nodes"],
        relationships=counts.records[0]["relationships"],
        writer=lock_holder(driver, settings),
        interrupted_ingests=interrupted_ingests(driver, settings),
    )


def interrupted_ingests(driver: neo4j.Driver, settings: Settings) -> list[dict]:
    """Ingests that began writing and never finished: ``[{file, fingerprint, startedAt}]``, oldest first."""
    with translate_errors(settings):
        records = driver.execute_query(
            cypher.load("db/interrupted_ingests"), database_=settings.database, routing_=READ
        ).records
    return [r.data() for r in records]


def describe_interrupted(ingests: list[dict]) -> str:
    """One sentence for the interrupted ingests, naming the files and the fix."""
    files = ", ".join(f"{i['file']} (started {str(i['startedAt'])[:19]})" for i in ingests)
    return (
        f"an ingest of {files} was interrupted: its transactions may be partly written and the USES "
        "aggregates stale; run the same ingest again to finish it."
    )


def reset(driver: neo4j.Driver, settings: Settings, batch_size: int = 10_000) -> int:
    """Delete every node and relationship of the target database; return how many nodes went.

    The schema (constraints and indexes) is kept, and the writer lock, which the reset holds
    (:func:`writer_lock`). Deletion runs in batches, so a large graph does not need one huge
    transaction.
    """
    with writer_lock(driver, settings, "db reset"):
        before = status(driver, settings).nodes
        with driver.session(database=settings.database) as session:
            for statement in cypher.statements("db/delete_all"):
                session.run(statement, batchSize=batch_size).consume()
    return before


def apply_schema(session: neo4j.Session) -> None:
    """Create the constraints and indexes of the graph model (idempotent)."""
    for statement in cypher.statements("db/schema"):
        session.run(statement).consume()


# The writer lock: one writer per database at a time.

_HELD: dict[tuple, str] = {}  # (uri, database, thread) -> token of a lock this thread holds


@contextmanager
def writer_lock(driver: neo4j.Driver, settings: Settings, command: str, progress: Progress = SILENT) -> Iterator[dict]:
    """Hold the database's writer lock while ``command`` writes: ``with writer_lock(...)``.

    Two writers (ingest, writeback, reset, demo, ``ingest --bulk``) cannot hold it at once:
    the second gets :class:`Locked` naming the first. The lock is a node that ``db reset``
    spares and ``ingest --bulk`` puts back after replacing the store. A lock whose command
    died on this machine (its process is gone) is taken over, with a note; one left on
    another machine is cleared with ``wbgraph db unlock``. Nested use in the same thread
    (``demo`` runs ``ingest`` and ``writeback``) holds it once.
    """
    key = (settings.uri, settings.database, threading.get_ident())
    if key in _HELD:
        yield {"token": _HELD[key], "nested": True}
        return
    holder = {"command": command, "host": socket.gethostname(), "pid": os.getpid(), "token": uuid.uuid4().hex}
    take_lock(driver, settings, holder, progress)
    _HELD[key] = holder["token"]
    try:
        yield holder
    except (ServiceUnavailable, SessionExpired, ConnectionFailed):
        _HELD.pop(key, None)  # the server went away: the lock stays, and the next writer here takes it over
        raise
    except BaseException:
        _HELD.pop(key, None)
        try:
            release_lock(driver, settings, holder["token"])
        except Exception:
            pass  # the work's own error is the one to see
        raise
    _HELD.pop(key, None)
    release_lock(driver, settings, holder["token"])


def take_lock(driver: neo4j.Driver, settings: Settings, holder: dict, progress: Progress = SILENT) -> None:
    """Take the writer lock for ``holder`` (``{command, host, pid, token}``), or raise :class:`Locked`."""
    with translate_errors(settings):
        with driver.session(database=settings.database) as session:
            apply_schema(session)
        found = _lock_query(driver, settings, "db/lock_take", holder=holder)
        if found and found["token"] == holder["token"]:
            return
        if found and _gone(found):
            taken = _lock_query(driver, settings, "db/lock_steal", holder=holder, stale=found["token"])
            if taken and taken["token"] == holder["token"]:
                progress.say(f"Note: took over the writer lock left by {describe_holder(found)} (its process is gone).")
                return
            found = lock_holder(driver, settings) or found
    raise Locked(
        f"Database {settings.database!r} at {settings.uri} is being written by {describe_holder(found)}: "
        "wait for it to finish, or, if it is no longer running, clear its lock with `wbgraph db unlock`."
    )


def release_lock(driver: neo4j.Driver, settings: Settings, token: str) -> None:
    """Give the writer lock back if ``token`` still holds it."""
    with translate_errors(settings):
        driver.execute_query(cypher.load("db/lock_release"), token=token, database_=settings.database)


def lock_holder(driver: neo4j.Driver, settings: Settings) -> dict | None:
    """Who holds the writer lock: ``{command, host, pid, token, since}``, or None."""
    with translate_errors(settings):
        return _lock_query(driver, settings, "db/lock_holder", routing_=READ)


def unlock(driver: neo4j.Driver, settings: Settings) -> dict | None:
    """``wbgraph db unlock``: remove the writer lock whoever holds it; the holder removed, or None."""
    with translate_errors(settings):
        return _lock_query(driver, settings, "db/lock_clear")


def describe_holder(holder: dict | None) -> str:
    """``wbgraph writeback (pid 123 on host-a, since 2026-11-26T03:00:00Z)``."""
    if not holder:
        return "another writer"
    return (
        f"wbgraph {holder.get('command', '?')} (pid {holder.get('pid', '?')} on {holder.get('host', '?')}, "
        f"since {str(holder.get('since', '?'))[:19]})"
    )


def _lock_query(driver: neo4j.Driver, settings: Settings, name: str, routing_: RoutingControl = WRITE, **params):
    records = driver.execute_query(cypher.load(name), params, database_=settings.database, routing_=routing_).records
    return records[0]["holder"] if records else None


def _gone(holder: dict) -> bool:
    """Whether the lock's command ran on this machine and its process no longer exists."""
    if holder.get("host") != socket.gethostname() or not isinstance(holder.get("pid"), int):
        return False
    if holder["pid"] == os.getpid():
        return False  # this process, another thread: alive
    try:
        os.kill(holder["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _zombie(holder["pid"])


def _zombie(pid: int) -> bool:
    """A killed child not yet reaped still has a pid; on Linux its state says it is dead."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False
