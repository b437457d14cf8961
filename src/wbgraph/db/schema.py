"""The schema every writer applies: the graph model's constraints and indexes."""

from __future__ import annotations

import neo4j

from .. import cypher


def apply_schema(session: neo4j.Session) -> None:
    """Create the constraints and indexes of the graph model (idempotent)."""
    for statement in cypher.statements("db/schema"):
        session.run(statement).consume()
