"""The one way wbgraph runs its shipped queries: :func:`read` and :func:`write`.

Each takes the name of a ``.cypher`` file (``"serve/product_facts"``) and its parameters, so no
value ever becomes part of a statement, and each runs in a managed transaction that the driver
retries on a transient failure (a leader switch, a deadlock, a lost connection) for up to
``WBGRAPH_RETRY_SECONDS``. A read is routed to a reader (a cluster's follower or read
replica) and runs in read access mode, so a read query that tried to write would be refused;
a write goes to the leader. A file of several statements (the schema) runs them in turn, each
in its own transaction; a statement that commits in batches (``CALL { ... } IN TRANSACTIONS``)
can only run in an auto-commit transaction, which the driver does not retry, so :func:`write`
retries it itself (such statements are written to be run again).
"""

from __future__ import annotations

import time

import neo4j
from neo4j.exceptions import DriverError, Neo4jError

from .. import cypher
from ..config import Settings
from .driver import READ, WRITE, retry_seconds


def read(
    driver: neo4j.Driver, settings: Settings, name: str, /, *, session_: neo4j.Session | None = None, **params: object
) -> list[neo4j.Record]:
    """The records of the shipped read query ``name`` with ``params``: routed to a reader, retried.

    ``session_``: an open session to run in (a server worker that holds one for its life);
    else the driver's own for this one query.
    """
    query = cypher.load(name)
    if session_ is not None:
        return session_.execute_read(lambda tx: list(tx.run(query, params)))
    return driver.execute_query(query, params, database_=settings.database, routing_=READ).records


def write(driver: neo4j.Driver, settings: Settings, name: str, /, **params: object) -> neo4j.EagerResult:
    """Run the shipped write query ``name`` (each of its statements in turn) on the leader; the
    last statement's records, summary and keys."""
    result = None
    for statement in cypher.statements(name):
        if "IN TRANSACTIONS" in statement:
            result = _auto_commit(driver, settings, statement, params)
        else:
            result = driver.execute_query(statement, params, database_=settings.database, routing_=WRITE)
    return result


def _auto_commit(driver: neo4j.Driver, settings: Settings, statement: str, params: dict) -> neo4j.EagerResult:
    """A batching statement in an auto-commit transaction, run again after a retryable failure
    until ``WBGRAPH_RETRY_SECONDS`` have passed (the driver's own back-off: 1 s, doubling)."""
    deadline, wait = time.monotonic() + retry_seconds(), 1.0
    while True:
        try:
            with driver.session(database=settings.database) as session:
                found = session.run(statement, params)
                records = list(found)
                return neo4j.EagerResult(records, found.consume(), found.keys())
        except (Neo4jError, DriverError) as e:
            if not e.is_retryable() or time.monotonic() + wait > deadline:
                raise
        time.sleep(wait)
        wait *= 2
