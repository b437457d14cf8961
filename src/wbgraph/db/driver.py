"""The connection to Neo4j: one driver per process.

:func:`connect` is what the commands and notebooks use: it resolves the settings (options,
environment, ``.env``, else the local server), checks the local server runs, and yields a
verified driver with its settings.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

import neo4j
from neo4j import GraphDatabase, RoutingControl

from .. import cypher
from .._version import __version__
from ..config import Settings, resolve_settings
from ..errors import ConfigError, ConnectionFailed
from .translate import one_line, translate_errors

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
        from ..localserver import LocalServer

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
            raise ConfigError(f"Cannot use Neo4j URI {settings.uri!r}: {one_line(str(e))}") from None
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
