"""The schema every writer applies: the graph model's constraints and indexes."""

from __future__ import annotations

import neo4j

from ..config import Settings
from .queries import write


def apply_schema(driver: neo4j.Driver, settings: Settings) -> None:
    """Create the constraints and indexes of the graph model (idempotent)."""
    write(driver, settings, "db/schema")
