"""The database-level operations of ``wbgraph db``: :func:`status` and :func:`reset`; unfinished ingests."""

from __future__ import annotations

from dataclasses import dataclass, field

import neo4j

from ..config import Settings
from ..progress import Summary
from .lock import lock_holder, writer_lock
from .queries import read, write
from .translate import translate_errors


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
    kernel = read(driver, settings, "db/server_components")[0]
    counts = read(driver, settings, "db/graph_counts")
    return Status(
        uri=settings.uri,
        database=settings.database,
        server=kernel["name"],
        version=kernel["version"],
        edition=kernel["edition"],
        nodes=counts[0]["nodes"],
        relationships=counts[0]["relationships"],
        writer=lock_holder(driver, settings),
        interrupted_ingests=interrupted_ingests(driver, settings),
    )


def interrupted_ingests(driver: neo4j.Driver, settings: Settings) -> list[dict]:
    """Ingests that began writing and never finished: ``[{file, fingerprint, startedAt}]``, oldest first."""
    with translate_errors(settings):
        records = read(driver, settings, "db/interrupted_ingests")
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
        write(driver, settings, "db/delete_all", batchSize=batch_size)
    return before
