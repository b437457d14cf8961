"""``wbgraph query``: one Cypher statement with parameters, rows out as plain data.

The analyst's cypher-shell for scripts: values come back as JSON-friendly Python (nodes and
relationships as objects with their element id, labels or type, and properties; temporal
values as ISO 8601 strings).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import neo4j
import neo4j.graph
import neo4j.spatial
import neo4j.time

from ..config import Settings
from ..db import READ, WRITE
from ..errors import ConfigError


@dataclass(frozen=True)
class QueryResult:
    keys: list[str]
    rows: list[dict]


def parse_params(pairs: list[str] | tuple[str, ...]) -> dict:
    """``NAME=VALUE`` pairs as query parameters; a VALUE that is valid JSON is taken as JSON."""
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"Parameter {pair!r} is not NAME=VALUE.")
        try:
            params[name.strip()] = json.loads(value)
        except ValueError:
            params[name.strip()] = value
    return params


def shipped(name: str) -> str:
    """The text of the analysts' query ``name`` (``cypher/queries/<name>.cypher``)."""
    from .. import cypher

    queries = cypher.analyst_queries()
    if name not in queries:
        raise ConfigError(f"No shipped query named {name!r}: choose one of {', '.join(sorted(queries))}.")
    return queries[name]


def query(
    driver: neo4j.Driver, settings: Settings, statement: str, params: dict | None = None, write: bool = False
) -> QueryResult:
    """Run one statement (read routing unless ``write``) and return its rows as plain data."""
    result = driver.execute_query(
        statement, parameters_=params or {}, database_=settings.database, routing_=WRITE if write else READ
    )
    return QueryResult(list(result.keys), [{k: plain(record[k]) for k in result.keys} for record in result.records])


def plain(value: object) -> object:
    """A driver value as JSON-friendly Python."""
    if isinstance(value, neo4j.graph.Node):
        return {"elementId": value.element_id, "labels": sorted(value.labels), "properties": plain(dict(value))}
    if isinstance(value, neo4j.graph.Relationship):
        return {
            "elementId": value.element_id,
            "type": value.type,
            "startElementId": value.start_node.element_id if value.start_node else None,
            "endElementId": value.end_node.element_id if value.end_node else None,
            "properties": plain(dict(value)),
        }
    if isinstance(value, neo4j.graph.Path):
        return {"nodes": [plain(n) for n in value.nodes], "relationships": [plain(r) for r in value.relationships]}
    if isinstance(value, (neo4j.time.Date, neo4j.time.Time, neo4j.time.DateTime)):
        return value.iso_format()
    if isinstance(value, neo4j.time.Duration):
        return value.iso_format()
    if isinstance(value, neo4j.spatial.Point):
        return {"srid": value.srid, "coordinates": list(value)}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
