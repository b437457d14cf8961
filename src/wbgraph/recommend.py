"""``wbgraph recommend``: the serving path, reading RECOMMENDED edges from Neo4j."""

from __future__ import annotations

import neo4j

from . import cypher
from .config import Settings
from .db import READ
from .errors import WbgraphError


class CustomerNotFound(WbgraphError):
    """No customer with that ID in the graph."""

    exit_code = 8


def recommend(driver: neo4j.Driver, settings: Settings, customer_id: str, top_k: int = 5) -> dict:
    """The customer's facts and its current recommendations, best first."""
    records = driver.execute_query(
        cypher.load("customer_recommendations"), customerId=customer_id, topK=top_k,
        database_=settings.database, routing_=READ,
    ).records
    if not records:
        raise CustomerNotFound(f"No customer {customer_id!r} in the graph.")
    return dict(records[0])
