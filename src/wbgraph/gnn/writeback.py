"""``wbgraph writeback``: a run's recommendations, segments and reasons into the graph.

Every customer the model knows is scored against every product (one matrix product; on
the GPU when there is one); products it holds and candidates the eligibility rules
exclude are removed, and its top K are written as ``(:Customer)-[:RECOMMENDED {score,
rank, runId, modelVersion, createdAt, reasons}]->(:Product)``, ranks 1..K. Customers are
clustered into segments on the model's embeddings (``Customer.segment``,
``(:Customer)-[:IN_SEGMENT]->(:Segment)`` with a profile per segment).

Safety: the run's Segment nodes are written first; then customers are replaced a batch at
a time, each batch in one write transaction (old edges, segment membership and new edges
together): a reader never finds a customer without recommendations, an interrupted
writeback leaves every customer with its complete old or new set, and running it again
finishes the job; only then are the Segment nodes it did not write removed. ``createdAt`` is the
time the run was trained and everything is seeded, so writing the same run twice gives the
same graph. The set a customer had under a different run is kept as
``Customer.previousRecommendations`` / ``previousRunId``, for "what changed" queries.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import neo4j
import numpy as np
import pandas as pd
import torch
from sklearn.decomposition import PCA

from .. import __version__, cypher
from ..config import Settings
from ..db import apply_schema
from ..eligibility import DEFAULT_RULES, exclusions, load_rules
from . import explain
from .export import build_graph
from .segments import profiles, segment
from .train import pick_device, restore

MODEL_VERSION = f"wbgraph-{__version__}/hetero-gatv2"


@dataclass
class Plan:
    """Everything a writeback writes, computed before the first write."""

    run_id: str
    created_at: str | None
    customer_ids: list[str]
    rows: list[dict]  # per customer: customerId, segment, segmentKey, recommendations [{productId, score, rank, reasons}]
    segments: list[dict]  # Segment node properties
    excluded: dict = field(default_factory=dict)  # rule -> candidates it excluded (not already held)
    candidates: int = 0  # (customer, product) pairs not held, before the rules
    run_dir: Path | None = None
    projection: np.ndarray | None = None  # [customers, 2]: the embeddings' first two principal components
    labels: np.ndarray | None = None  # segment of each customer


@dataclass
class WritebackSummary:
    run_id: str
    customers: int
    covered: int  # customers with at least one recommendation
    edges: int
    top_k: int
    segments: int
    silhouette: float
    excluded: dict
    seconds: float
    phaseSeconds: dict = field(default_factory=dict)  # plan (score, rules, segments, reasons) and write

    @property
    def edges_per_second(self) -> float:
        """End to end: restoring the run, scoring, rules, segments, reasons and writing."""
        return self.edges / self.seconds if self.seconds else 0.0

    @property
    def write_edges_per_second(self) -> float:
        """The writing alone."""
        write = self.phaseSeconds.get("write", 0.0)
        return self.edges / write if write else 0.0


def plan(driver: neo4j.Driver, settings: Settings, runs_dir="runs", run: str | None = None, top_k: int = 10,
         segments: int | str = "auto", rules: str | None = DEFAULT_RULES) -> Plan:
    """Score, filter, rank, segment and explain, without writing anything."""
    rule_list = load_rules(rules)
    restored = restore(driver, settings, runs_dir, run)
    data, encoders, model = restored.data, restored.data.encoders, restored.model
    device = pick_device(restored.config.device)
    everything = data.split.train | data.split.val | data.split.test
    graph = build_graph(data.tables, encoders, data.tables.interactions[everything]).to(device)
    model = model.to(device).eval()
    with torch.no_grad():
        h = model.encode(graph.x_dict, graph.edge_index_dict, graph.edge_attr_dict)
        scores = model.score(h["customer"], h["product"]).cpu()
    held = data.matrix(everything).numpy()
    customers = data.tables.customers.set_index("customerId").reindex(encoders.customer_ids).reset_index()
    products = data.tables.products.set_index("productId").reindex(encoders.product_ids).reset_index()
    excluded_by = exclusions(rule_list, customers, products)
    blocked = held.copy()
    for matrix in excluded_by.values():
        blocked |= matrix
    scores[torch.as_tensor(blocked)] = float("-inf")
    k = min(top_k, data.n_products)
    best = scores.topk(k, dim=1)
    picks = np.where(np.isfinite(best.values.numpy()), best.indices.numpy(), -1)

    seg = segment(h["customer"].cpu().numpy(), segments, seed=restored.config.seed)
    recommended = np.zeros_like(held)
    rows_idx = np.repeat(np.arange(len(picks)), k)
    flat = picks.ravel()
    recommended[rows_idx[flat >= 0], flat[flat >= 0]] = True
    segment_props = profiles(seg, customers, held, recommended, encoders.product_ids, restored.run_id)

    peer_group = (customers["customerType"].astype(str) + "|" + customers["industry"].astype(str)).astype("category").cat.codes.to_numpy()
    why = explain.reasons(picks, held, explain.attention(model, graph).numpy(), seg.labels,
                          customers["industry"].astype(str).to_numpy(), peer_group, encoders.product_ids,
                          products["productType"].astype(str).tolist())
    values = best.values.numpy()
    rows = [
        {"customerId": customer, "segment": int(seg.labels[i]), "segmentKey": f"{restored.run_id}/{int(seg.labels[i])}",
         "recommendations": [
             {"productId": encoders.product_ids[p], "score": float(values[i, j]), "rank": j + 1, "reasons": why[i][j]}
             for j, p in enumerate(picks[i]) if p >= 0
         ]}
        for i, customer in enumerate(encoders.customer_ids)
    ]
    return Plan(restored.run_id, restored.metrics.get("trainedAt"), encoders.customer_ids, rows, segment_props,
                {name: int((m & ~held).sum()) for name, m in excluded_by.items()}, int((~held).sum()),
                restored.run_dir, _projection(h["customer"].cpu().numpy()), seg.labels)


def _projection(embeddings: np.ndarray) -> np.ndarray:
    """The first two principal components of the customer embeddings (for pictures only)."""
    if min(embeddings.shape) < 2:
        return np.zeros((len(embeddings), 2))
    return PCA(2, random_state=0).fit_transform(embeddings)


def writeback(driver: neo4j.Driver, settings: Settings, runs_dir="runs", run: str | None = None, top_k: int = 10,
              batch_size: int = 500, segments: int | str = "auto", rules: str | None = DEFAULT_RULES,
              workers: int = 4, progress=None) -> WritebackSummary:
    """Write the top ``top_k`` eligible recommendations of every customer the run knows, with segments.

    Batches are written by ``workers`` concurrent transactions (each customer's set is still
    replaced in one transaction; deadlocks between them are retried by the driver).
    """
    began = time.perf_counter()
    planned = plan(driver, settings, runs_dir, run, top_k, segments, rules)
    run_id, planned_at = planned.run_id, time.perf_counter()
    with driver.session(database=settings.database) as session:
        apply_schema(session)
        session.execute_write(lambda tx: tx.run(cypher.load("write_segments"), segments=planned.segments).consume())
    query = cypher.load("write_recommendations")

    def write(batch: list[dict]) -> int:
        with driver.session(database=settings.database) as own:
            own.execute_write(
                lambda tx: tx.run(query, rows=batch, runId=run_id, modelVersion=MODEL_VERSION, createdAt=planned.created_at).consume()
            )
        return len(batch)

    batches = [planned.rows[start:start + batch_size] for start in range(0, len(planned.rows), batch_size)]
    pool, done = ThreadPoolExecutor(max(1, workers)), 0
    try:
        for future in as_completed([pool.submit(write, batch) for batch in batches]):
            done += future.result()
            if progress:
                progress(done, len(planned.rows))
    finally:
        pool.shutdown(cancel_futures=True)  # on an error, the batches not yet started are not tried
    with driver.session(database=settings.database) as session:
        session.execute_write(lambda tx: tx.run(cypher.load("delete_other_segments"), segmentKeys=[g["segmentKey"] for g in planned.segments]).consume())
    edges = sum(len(r["recommendations"]) for r in planned.rows)
    silhouette = planned.segments[0]["runSilhouette"] if planned.segments else 0.0
    summary = WritebackSummary(run_id, len(planned.rows), sum(1 for r in planned.rows if r["recommendations"]), edges, top_k,
                            len(planned.segments), silhouette, planned.excluded, time.perf_counter() - began,
                            {"plan": round(planned_at - began, 3), "write": round(time.perf_counter() - planned_at, 3)})
    if planned.run_dir:  # kept with the run, for `wbgraph report`
        (planned.run_dir / "writeback.json").write_text(json.dumps(asdict(summary) | {"segmentProfiles": planned.segments}, indent=2, default=str))
        pd.DataFrame({"customerId": planned.customer_ids, "segment": planned.labels, "x": planned.projection[:, 0],
                      "y": planned.projection[:, 1]}).to_csv(planned.run_dir / "embedding-2d.csv", index=False)
    return summary
