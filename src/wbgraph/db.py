"""The connection to Neo4j: one driver per process, and driver errors turned into one line.

:func:`connect` is what the commands and notebooks use: it resolves the settings (options,
environment, ``.env``, else the local server), checks the local server runs, and yields a
verified driver with its settings. Also the database-level operations of ``wbgraph db``:
:func:`status` and :func:`reset`, and the schema every writer applies.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple

import neo4j
from neo4j import GraphDatabase, RoutingControl
from neo4j.exceptions import AuthError, DriverError, Neo4jError, ServiceUnavailable, SessionExpired

from . import cypher
from ._version import __version__
from .config import Settings, resolve_settings
from .errors import AuthenticationFailed, ConfigError, ConnectionFailed, DatabaseNotFound, QueryFailed
from .progress import Summary

READ = RoutingControl.READ
WRITE = RoutingControl.WRITE


class Connection(NamedTuple):
    """A verified driver and the settings it was made from; unpacks as ``driver, settings``."""

    driver: neo4j.Driver
    settings: Settings


@contextmanager
def connect(
    uri: str | None = None, user: str | None = None, database: str | None = None, settings: Settings | None = None
) -> Iterator[Connection]:
    """The one connection of a command or a notebook: ``with connect() as (driver, settings): ...``.

    ``settings`` given: used as they are; otherwise resolved from ``uri``/``user``/``database``,
    the environment, ``.env``, or the local server (which must be running).
    """
    settings = settings or resolve_settings(uri=uri, user=user, database=database)
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
    """A verified driver for ``settings``; every driver error inside becomes a :class:`WbgraphError`."""
    with translate_errors(settings):
        try:
            driver = GraphDatabase.driver(
                settings.uri,
                auth=(settings.user, settings.password),
                user_agent=f"wbgraph/{__version__}",
                notifications_min_severity="OFF",
            )
        except ValueError as e:  # malformed URI or settings
            raise ConfigError(f"Cannot use Neo4j URI {settings.uri!r}: {_one_line(str(e))}") from None
        with driver:
            driver.verify_connectivity()
            yield driver


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
                else " (check NEO4J_USERNAME and NEO4J_PASSWORD)."
            )
        ) from None
    except (ServiceUnavailable, SessionExpired) as e:
        hint = "start it with `wbgraph db start`" if settings.local else "check NEO4J_URI and that the server is up"
        raise ConnectionFailed(f"Cannot reach Neo4j at {settings.uri}: {_one_line(str(e))}; {hint}.") from None
    except Neo4jError as e:
        if e.code == "Neo.ClientError.Database.DatabaseNotFound":
            raise DatabaseNotFound(f"Database {settings.database!r} does not exist on {settings.uri}.") from None
        raise QueryFailed(f"{_one_line(e.message or str(e))} ({e.code})") from None
    except DriverError as e:
        raise ConfigError(f"Cannot use Neo4j at {settings.uri}: {_one_line(str(e))}") from None


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


def status(driver: neo4j.Driver, settings: Settings) -> Status:
    """Which server answers, and how much is in the target database."""
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
    )


def reset(driver: neo4j.Driver, settings: Settings, batch_size: int = 10_000) -> int:
    """Delete every node and relationship of the target database; return how many nodes went.

    The schema (constraints and indexes) is kept. Deletion runs in batches, so a large graph
    does not need one huge transaction.
    """
    before = status(driver, settings).nodes
    with driver.session(database=settings.database) as session:
        for statement in cypher.statements("db/delete_all"):
            session.run(statement, batchSize=batch_size).consume()
    return before


def apply_schema(session: neo4j.Session) -> None:
    """Create the constraints and indexes of the graph model (idempotent)."""
    for statement in cypher.statements("db/schema"):
        session.run(statement).consume()
