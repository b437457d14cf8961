"""``wbgraph recommend``: the serving path, reading the stored sets from Neo4j."""

from __future__ import annotations

import json
import time
from pathlib import Path

import neo4j

from ..config import Settings
from ..db import read
from ..errors import NotInGraph, QueryFailed


def recommend(
    driver: neo4j.Driver,
    settings: Settings,
    customer_id: str,
    top_k: int = 5,
    explain: bool = False,
    live: bool = True,
    runs_dir: str | Path | None = None,
    session: neo4j.Session | None = None,
    group: bool = False,
) -> dict:
    """The customer's facts and its current recommendations, best first (``explain``: with reasons).

    One auto-commit read: a single round trip, the serving path's whole cost. Without
    ``explain`` it reads one node: the customer's ``recommendationSnapshot``, the set as the
    writeback wrote it with the edges, one property read whole. With ``explain``, or for a set
    written by a wbgraph older than the snapshot, it reads the RECOMMENDED edges. Never a
    partial, mixed or emptied set while a writeback replaces it: Neo4j reads at
    read-committed, so a read of the edges can meet a commit half-applied; that query says
    whether the set it read is whole (the size and run the writeback recorded on the customer,
    ranks 1..n), and a set that is not is read again (:data:`READ_AGAIN` times at most, then a
    one-line error).

    ``session``: a read session of ``driver`` to run on (an application worker can hold one
    for its life: a session is not shared between threads); else the driver runs each read.

    A customer no writeback has reached yet (a newcomer) is scored now, with ``live``, by the
    serving run (:meth:`wbgraph.runs.Run.serving`) from its attributes and holdings, without
    retraining, under the shipped eligibility rules; one that holds nothing yet by segment
    popularity. That exports the graph once: seconds, not milliseconds. ``source`` says which:
    ``graph``, ``model``, ``group popularity`` (it holds nothing, its group does) or
    ``segment popularity``; ``runId`` the run.

    ``group``: add the customer's corporate group (``group``: :func:`wbgraph.serve.group.group_of`),
    every entity's products and stored recommendations and the customer's white space.
    """
    found = _read(driver, settings, session, customer_id, top_k, explain)
    client = found.pop("client", True)  # an entity that is not a client (client = false) gets none
    if group:
        from .group import group_of

        found["group"] = group_of(driver, settings, customer_id, top_k)
    if found.pop("hasSet") or not live or not client:
        return found | {"source": "graph" if found["recommendations"] else None}
    return found | _score_now(driver, settings, customer_id, top_k, explain, runs_dir)


def _score_now(
    driver: neo4j.Driver, settings: Settings, customer_id: str, top_k: int, explain: bool, runs_dir: str | Path | None
) -> dict:
    """A newcomer's recommendations, worked out now by the serving run (none without a run)."""
    from ..config import rules_file
    from ..errors import RunNotFound
    from ..runs import Run
    from ..writeback.eligibility import load_rules, load_suppression
    from ..writeback.plan import plan_newcomers

    try:
        run = Run.serving(runs_dir)
    except RunNotFound:
        return {"source": None}
    rules = load_rules(rules_file())  # wbgraph.toml's, else the shipped ones
    suppression = load_suppression(rules_file())
    planned = plan_newcomers(driver, settings, run, top_k, rules, customers=[customer_id], suppression=suppression)
    row = planned.rows[0]
    ids = [r["productId"] for r in row["recommendations"]]
    records = read(driver, settings, "serve/product_facts", productIds=ids)
    facts = {r["productId"]: r.data() for r in records}
    recommendations = [
        facts.get(r["productId"], {"productType": None, "category": None})
        | {
            "rank": r["rank"],
            "productId": r["productId"],
            "score": r["score"],
            "probability": r.get("probability"),
            "reasons": r["reasons"] if explain else None,
            "runId": run.id,
            "createdAt": None,
        }
        for r in row["recommendations"]
    ]
    return {"recommendations": recommendations, "source": row["source"], "runId": run.id, "segment": row["segment"]}


def _read(
    driver: neo4j.Driver,
    settings: Settings,
    session: neo4j.Session | None,
    customer_id: str,
    top_k: int,
    explain: bool,
) -> dict:
    """The customer's facts and stored set: its snapshot, else its edges, read again while a
    writeback is met half-applied."""
    if not explain:
        records = read(driver, settings, "serve/customer_snapshot", session_=session, customerId=customer_id)
        if not records:
            raise NotInGraph(f"No customer {customer_id!r} in the graph.")
        found = dict(records[0])
        snapshot = found.pop("snapshot")
        if snapshot is not None:
            return _from_snapshot(found, json.loads(snapshot), top_k)
    for attempt in range(READ_AGAIN + 1):
        records = read(
            driver,
            settings,
            "serve/customer_recommendations",
            session_=session,
            customerId=customer_id,
            topK=top_k,
            explain=explain,
        )
        if not records:
            raise NotInGraph(f"No customer {customer_id!r} in the graph.")
        found = dict(records[0])
        if found.pop("consistent"):
            return found
        time.sleep(0.001 * attempt)
    raise QueryFailed(
        f"The recommendations of {customer_id!r} were being replaced during {READ_AGAIN + 1} reads in a row; try again."
    )


def _from_snapshot(customer: dict, snapshot: dict, top_k: int) -> dict:
    """The customer's facts and snapshot as ``serve/customer_recommendations`` returns them (no reasons)."""
    extra = {"reasons": None, "runId": snapshot["runId"], "createdAt": snapshot["createdAt"]}
    n = len(snapshot["productIds"])
    probabilities = snapshot.get("probabilities") or [None] * n  # a snapshot from before calibration: none
    return {
        "customerId": customer["customerId"],
        "customerType": customer["customerType"],
        "industry": customer["industry"],
        "hasSet": True,
        "location": customer["location"],
        "segment": snapshot["segment"],
        "segmentName": snapshot["segmentName"],
        "recommendations": [
            {
                "rank": rank,
                "productId": pid,
                "productType": product_type,
                "category": category,
                "score": score,
                "probability": probability,
            }
            | extra
            for rank, pid, product_type, category, score, probability in zip(
                range(1, top_k + 1),
                snapshot["productIds"],
                snapshot["productTypes"],
                snapshot["categories"],
                snapshot["scores"],
                probabilities,
                strict=False,
            )
        ],
    }


READ_AGAIN = 50  # reads of a set met half-replaced before giving up
