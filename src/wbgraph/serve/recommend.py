"""``wbgraph recommend``: the serving path, reading RECOMMENDED edges from Neo4j."""

from __future__ import annotations

import neo4j

from .. import cypher
from ..config import Settings
from ..errors import NotInGraph


def recommend(
    driver: neo4j.Driver, settings: Settings, customer_id: str, top_k: int = 5, explain: bool = False
) -> dict:
    """The customer's facts and its current recommendations, best first (``explain``: with reasons).

    One auto-commit read: a single round trip, the serving path's whole cost.
    """
    with driver.session(database=settings.database, default_access_mode=neo4j.READ_ACCESS) as session:
        records = list(
            session.run(
                cypher.load("serve/customer_recommendations"), customerId=customer_id, topK=top_k, explain=explain
            )
        )
    if not records:
        raise NotInGraph(f"No customer {customer_id!r} in the graph.")
    return dict(records[0])
