"""Neo4j, from wbgraph's side: the connection (:mod:`.driver`), the driver's errors in one line
(:mod:`.translate`), every shipped query run by :func:`read` or :func:`write`
(:mod:`.queries`), the schema (:mod:`.schema`), the writer lock (:mod:`.lock`), and
``wbgraph db status`` / ``reset`` (:mod:`.admin`). The names below are the ones the rest of
wbgraph imports from ``wbgraph.db``.
"""

from .admin import Status, describe_interrupted, interrupted_ingests, reset, status
from .driver import READ, RETRY_SECONDS, WRITE, Connection, Impersonating, connect, open_driver, retry_seconds
from .lock import describe_holder, lock_holder, release_lock, take_lock, unlock, writer_lock
from .queries import read, write
from .schema import apply_schema
from .translate import one_line, translate_errors

__all__ = [
    "Connection",
    "Impersonating",
    "READ",
    "RETRY_SECONDS",
    "Status",
    "WRITE",
    "apply_schema",
    "connect",
    "describe_holder",
    "describe_interrupted",
    "interrupted_ingests",
    "lock_holder",
    "one_line",
    "open_driver",
    "read",
    "release_lock",
    "reset",
    "retry_seconds",
    "status",
    "take_lock",
    "translate_errors",
    "unlock",
    "write",
    "writer_lock",
]
