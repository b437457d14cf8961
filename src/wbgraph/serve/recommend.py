"""``wbgraph recommend``: the serving path, reading RECOMMENDED edges from Neo4j."""

from __future__ import annotations

import time

import neo4j

from .. import cypher
from ..config import Settings
from ..errors import NotInGraph, QueryFailed


def recommend(
    driver: neo4j.Driver, settings: Settings, customer_id: str, top_k: int = 5, explain: bool = False
) -> dict:
    """The customer's facts and its current recommendations, best first (``explain``: with reasons).

    One auto-commit read: a single round trip, the serving path's whole cost. Never a partial,
    mixed or emptied set while a writeback replaces it: Neo4j reads at read-committed, so a read
    can meet a commit half-applied; the query says whether the set it read is whole (the size
    and run the writeback recorded on the customer, ranks 1..n), and a set that is not is read
    again (:data:`READ_AGAIN` times at most, then a one-line error).
    """
    query = cypher.load("serve/customer_recommendations")
    with driver.session(database=settings.database, default_access_mode=neo4j.READ_ACCESS) as session:
        for attempt in range(READ_AGAIN + 1):
            records = list(session.run(query, customerId=customer_id, topK=top_k, explain=explain))
            if not records:
                raise NotInGraph(f"No customer {customer_id!r} in the graph.")
            found = dict(records[0])
            if found.pop("consistent"):
                return found
            time.sleep(0.001 * attempt)
    raise QueryFailed(
        f"The recommendations of {customer_id!r} were being replaced during {READ_AGAIN + 1} reads in a row; try again."
    )


READ_AGAIN = 50  # reads of a set met half-replaced before giving up
