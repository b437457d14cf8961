"""Writing a plan into the graph, safely: what ``wbgraph writeback`` does after planning.

Written: ``(:Customer)-[:RECOMMENDED {score, rank, runId}]->(:Product)``, ranks 1..K, the
reasons of each rank on the customer (``recommendationReasons``, one text per rank, and their
figures as data, ``recommendationReasonRanks``, ``...Kinds``, ``...Cites``, ``...Shares``,
``...Counts``, one entry per reason) and the run's ``modelVersion`` and ``createdAt`` once, on
``(:Run {runId})``: a light edge writes about half again as fast as one carrying all of it
(the demo's write phase, 25,000 edges: 0.56 s light, 0.75 s with the reasons' figures on
the customers, 1.62 s with them on each edge). ``Customer.segment`` and
``(:Customer)-[:IN_SEGMENT]->(:Segment)`` with a profile per segment.

Safety: the run's Segment nodes are written first (and customers without any set are
stamped ``recommendationCount = 0``); then customers are replaced a batch at a time, each
batch in one write transaction (old edges, segment membership, new edges and the set's
``recommendationRunId`` / ``recommendationCount`` together, against which the serving read
checks what it sees, and ``recommendationSnapshot``, the set as one JSON text that the
serving read takes whole from the customer alone): a reader never finds a customer without
recommendations, an interrupted writeback leaves every customer with its complete old or
new set, and running it again finishes the job; only then are the Segment nodes it did not
write removed, and the Run nodes no customer's set comes from any more. ``createdAt`` is the
time the run was trained and everything is seeded, so writing the same run twice gives the
same graph. The set a customer had under a different run is kept as
``Customer.previousRecommendations`` / ``previousRunId``, for "what changed" queries.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

import neo4j

from .._version import __version__
from ..config import Settings
from ..db import apply_schema, queries
from ..progress import SILENT, Progress, Summary, pause_point
from .plan import Plan

MODEL_VERSION = f"wbgraph-{__version__}/hetero-gatv2"


@dataclass
class WritebackSummary(Summary):
    """What a writeback wrote; the run folder keeps it, for ``wbgraph report``."""

    run_id: str
    customers: int
    covered: int  # customers with at least one recommendation
    edges: int
    top_k: int
    segments: int
    silhouette: float
    excluded: dict
    seconds: float
    phase_seconds: dict = field(default_factory=dict)  # plan (score, rules, segments, reasons) and write
    rules: list = field(default_factory=list)  # per rule: excluded, share of candidates, customersShort
    warnings: list = field(default_factory=list)  # rules blind to most facts, or that swallowed most candidates
    audit_file: str | None = None  # the run folder's record of what was written (Run.save_audit)
    # earlier offers' suppression: its settings and the candidates it kept away (declined,
    # noResponse); None when offers played no part (--no-suppression)
    suppression: dict | None = None
    # the new sets against those in the graph (asked for, or with --max-churn): meanOverlap, ...
    churn: dict | None = None
    derived = ("edges_per_second", "write_edges_per_second")

    @property
    def edges_per_second(self) -> float:
        """End to end: restoring the run, scoring, rules, segments, reasons and writing."""
        return self.edges / self.seconds if self.seconds else 0.0

    @property
    def write_edges_per_second(self) -> float:
        """The writing alone."""
        write = self.phase_seconds.get("write", 0.0)
        return self.edges / write if write else 0.0


REASON_LINE = "\n"  # the reasons of one rank, in one text: split(text, '\n') in Cypher


def default_workers() -> int:
    """Concurrent write transactions: one per CPU core, at most 4 (more only queue on a small server)."""
    return min(4, os.cpu_count() or 1)


@dataclass
class ServingFacts:
    """What a serving snapshot repeats of the run, the segments and the products (read once)."""

    run_id: str
    created_at: str | None
    segments: dict = field(default_factory=dict)  # segmentKey -> (segmentId, name)
    products: dict = field(default_factory=dict)  # productId -> (productType, category)

    @classmethod
    def of(cls, driver: neo4j.Driver, settings: Settings, run_id: str) -> ServingFacts:
        record = queries.read(driver, settings, "writeback/serving_facts", runId=run_id)[0]
        return cls(
            run_id,
            record["createdAt"],
            {key: (segment_id, name) for key, segment_id, name in record["segments"]},
            {pid: (product_type, category) for pid, product_type, category in record["products"]},
        )

    def snapshot(self, row: dict) -> str:
        """The customer's set as the serving read returns it (``serve/customer_snapshot``): one
        JSON text, a list per field by rank (ranks 1..n), the keys written once."""
        segment_id, name = self.segments.get(row["segmentKey"], (None, None))
        ids = [r["productId"] for r in row["recommendations"]]
        facts = [self.products.get(pid, (None, None)) for pid in ids]
        return json.dumps(
            {
                "runId": self.run_id,
                "createdAt": self.created_at,
                "segment": segment_id,
                "segmentName": name,
                "productIds": ids,
                "productTypes": [f[0] for f in facts],
                "categories": [f[1] for f in facts],
                "scores": [r["score"] for r in row["recommendations"]],
                "probabilities": [r.get("probability") for r in row["recommendations"]],
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )


def compact(row: dict, facts: ServingFacts | None = None) -> dict:
    """A plan row as ``writeback/write_recommendations`` takes it: parallel lists by rank, and
    the serving snapshot (none without ``facts``: the serving read then reads the edges)."""
    recs = row["recommendations"]
    if [r["rank"] for r in recs] != list(range(1, len(recs) + 1)):
        raise ValueError(f"ranks of {row['customerId']!r} are not 1..{len(recs)}")
    return {
        "customerId": row["customerId"],
        "segment": row["segment"],
        "segmentKey": row["segmentKey"],
        "products": [r["productId"] for r in recs],
        "scores": [r["score"] for r in recs],
        "probabilities": [r.get("probability") for r in recs],
        "reasons": [REASON_LINE.join(" ".join(x.splitlines()) for x in r.get("reasons") or []) for r in recs],
        **reason_fields(recs),
        "snapshot": None if facts is None else facts.snapshot(row),
    }


def reason_fields(recs: list[dict]) -> dict:
    """The set's reasons as data, parallel lists with one entry per reason, rank by rank (the
    customer's ``recommendationReasonRanks``, ``...Kinds``, ``...Cites``, ``...Shares``,
    ``...Counts``: on the customer, as the sentences are, so the edges stay light); a reason
    given as plain text (a plan made by hand) has no data and is left out of them."""
    data = [(r["rank"], x) for r in recs for x in r.get("reasons") or [] if hasattr(x, "kind")]
    return {
        "reasonRanks": [rank for rank, _ in data],
        "reasonKinds": [x.kind for _, x in data],
        "reasonCites": [x.cites for _, x in data],
        "reasonShares": [round(x.share, 6) for _, x in data],
        "reasonCounts": [x.count for _, x in data],
    }


def write(
    driver: neo4j.Driver,
    settings: Settings,
    planned: Plan,
    batch_size: int = 500,
    workers: int | None = None,
    progress: Progress = SILENT,
    segments: bool = True,
) -> None:
    """Segment nodes, then every customer's recommendations a batch at a time, then stale segments away.

    ``segments`` False (newcomers joining the run's segments): the Segment nodes stay as they are.
    """
    apply_schema(driver, settings)
    queries.write(
        driver,
        settings,
        "writeback/write_run",
        runId=planned.run_id,
        modelVersion=MODEL_VERSION,
        createdAt=planned.created_at,
        segments=len(planned.segments) if segments else None,
    )
    if segments:
        queries.write(driver, settings, "writeback/write_segments", segments=planned.segments)
    queries.write(driver, settings, "writeback/stamp_empty_sets")
    facts = ServingFacts.of(driver, settings, planned.run_id)

    def write_batch(batch: list[dict]) -> int:
        rows = [compact(row, facts) for row in batch]
        queries.write(driver, settings, "writeback/write_recommendations", rows=rows, runId=planned.run_id)
        pause_point("write+1")  # in the worker: with one worker, exactly one batch is written
        return len(batch)

    batches = [planned.rows[start : start + batch_size] for start in range(0, len(planned.rows), batch_size)]
    pool, done = ThreadPoolExecutor(workers or default_workers()), 0
    try:
        with progress.task("Writing back", "customers") as update:
            for future in as_completed([pool.submit(write_batch, batch) for batch in batches]):
                done += future.result()
                update(done, len(planned.rows))
    finally:
        pool.shutdown(cancel_futures=True)  # on an error, the batches not yet started are not tried
    if not segments:
        return
    keys = [g["segmentKey"] for g in planned.segments]
    queries.write(driver, settings, "writeback/delete_other_segments", segmentKeys=keys)
    queries.write(driver, settings, "writeback/delete_other_runs", runId=planned.run_id)
