"""``wbgraph writeback``: a run's recommendations into the graph as RECOMMENDED edges.

Every customer the model knows is scored against every product it does not hold (one
matrix product; on the GPU when there is one), and its top K are written as
``(:Customer)-[:RECOMMENDED {score, rank, runId, modelVersion, createdAt}]->(:Product)``,
ranks 1..K. Customers are replaced a batch at a time, each batch in one write transaction:
a reader never finds a customer without recommendations, an interrupted writeback leaves
every customer with its complete old or new set, and running it again finishes the job.
``createdAt`` is the time the run was trained, so writing the same run twice gives the same
edges.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import neo4j

from .. import __version__, cypher
from ..config import Settings
from .evaluate import score_all
from .export import build_graph
from .train import pick_device, restore

MODEL_VERSION = f"wbgraph-{__version__}/hetero-gatv2"


@dataclass
class WritebackSummary:
    run_id: str
    customers: int
    edges: int
    top_k: int
    seconds: float

    @property
    def edges_per_second(self) -> float:
        return self.edges / self.seconds if self.seconds else 0.0


def recommendations(driver: neo4j.Driver, settings: Settings, runs_dir="runs", run: str | None = None, top_k: int = 10):
    """``(run_id, created_at, {customerId: [(productId, score), ...]})`` for every known customer."""
    restored = restore(driver, settings, runs_dir, run)
    data, encoders, model = restored.data, restored.data.encoders, restored.model
    device = pick_device(restored.config.device)
    everything = data.split.train | data.split.val | data.split.test
    graph = build_graph(data.tables, encoders, data.tables.interactions[everything]).to(device)
    scores = score_all(model.to(device), graph).cpu()
    scores[data.matrix(everything)] = float("-inf")  # never recommend what a customer holds
    k = min(top_k, data.n_products)
    best = scores.topk(k, dim=1)
    result = {}
    for row, customer in enumerate(encoders.customer_ids):
        picks = [(encoders.product_ids[int(p)], float(s)) for p, s in zip(best.indices[row], best.values[row]) if s > float("-inf")]
        result[customer] = picks
    return restored.run_id, restored.metrics.get("trainedAt"), result


def writeback(driver: neo4j.Driver, settings: Settings, runs_dir="runs", run: str | None = None, top_k: int = 10,
              batch_size: int = 1_000, progress=None) -> WritebackSummary:
    """Write the top ``top_k`` recommendations of every customer the run knows."""
    began = time.perf_counter()
    run_id, created_at, recs = recommendations(driver, settings, runs_dir, run, top_k)
    rows = [
        {"customerId": c, "recommendations": [{"productId": p, "score": s, "rank": i + 1} for i, (p, s) in enumerate(picks)]}
        for c, picks in recs.items()
    ]
    query = cypher.load("write_recommendations")
    with driver.session(database=settings.database) as session:
        for start in range(0, len(rows), batch_size):
            batch = rows[start:start + batch_size]
            session.execute_write(
                lambda tx: tx.run(query, rows=batch, runId=run_id, modelVersion=MODEL_VERSION, createdAt=created_at).consume()
            )
            if progress:
                progress(start + len(batch), len(rows))
    edges = sum(len(r["recommendations"]) for r in rows)
    return WritebackSummary(run_id, len(rows), edges, top_k, time.perf_counter() - began)
