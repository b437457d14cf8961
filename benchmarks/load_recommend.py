"""Load on the serving path: concurrent clients asking for random customers' recommendations.

Each client is its own process with its own driver and one read session held for its life
(as separate application servers, or their workers, would be), calling
``wbgraph.recommend.recommend`` — exactly what ``wbgraph recommend`` runs — for random
customers, back to back, for ``--seconds``. Prints a markdown table of
queries/s, p50/p99 latency and errors per client count, and writes the same as JSON.
Bounded: clients x seconds, nothing else. Run against a graph with recommendations
(``make demo`` leaves one):

    .venv/bin/python benchmarks/load_recommend.py --clients 1 4 16 --seconds 30
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import random
import time
from datetime import UTC, datetime

from wbgraph.config import resolve_settings
from wbgraph.db import open_driver
from wbgraph.serve.recommend import recommend

READ = "READ"  # neo4j.READ_ACCESS


def client(customer_ids: list[str], seconds: float, seed: int, start_at: float, queue) -> None:
    settings = resolve_settings()
    rng = random.Random(seed)
    latencies, errors = [], 0
    with (
        open_driver(settings) as driver,
        driver.session(database=settings.database, default_access_mode=READ) as session,
    ):
        recommend(driver, settings, customer_ids[0], session=session)  # warm the connection
        while time.time() < start_at:
            time.sleep(0.001)
        end = start_at + seconds
        while time.time() < end:
            began = time.perf_counter()
            try:
                result = recommend(driver, settings, rng.choice(customer_ids), top_k=5, session=session)
                if not result["recommendations"]:
                    errors += 1
            except Exception:  # counted, not raised: the figure is the point
                errors += 1
            latencies.append(time.perf_counter() - began)
    queue.put((latencies, errors))


def run(clients: int, seconds: float, customer_ids: list[str]) -> dict:
    queue = mp.Queue()
    start_at = time.time() + 2.0 + 0.2 * clients
    workers = [mp.Process(target=client, args=(customer_ids, seconds, i, start_at, queue)) for i in range(clients)]
    for w in workers:
        w.start()
    results = [queue.get() for _ in workers]
    for w in workers:
        w.join()
    latencies = sorted(x for r in results for x in r[0])
    errors = sum(r[1] for r in results)

    def pct(q):
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else None

    return {
        "clients": clients,
        "seconds": seconds,
        "queries": len(latencies),
        "errors": errors,
        "queriesPerSecond": round(len(latencies) / seconds, 1),
        "p50ms": round(pct(0.50), 2),
        "p99ms": round(pct(0.99), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--output", default="benchmarks/load_recommend.json")
    args = parser.parse_args()
    settings = resolve_settings()
    with open_driver(settings) as driver:
        ids = driver.execute_query(
            "MATCH (c:Customer)-[:RECOMMENDED]->() RETURN collect(DISTINCT c.customerId) AS ids",
            database_=settings.database,
        ).records[0]["ids"]
    if not ids:
        raise SystemExit("No customer has recommendations: run `make demo` (or wbgraph writeback) first.")
    rows = [run(n, args.seconds, ids) for n in args.clients]
    print(
        f"Serving load, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} cores, "
        f"server {settings.uri}, {len(ids):,} customers with recommendations\n"
    )
    print("| clients | queries/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['clients']} | {r['queriesPerSecond']:,} | {r['p50ms']} | {r['p99ms']} | {r['errors']} |")
    with open(args.output, "w") as f:
        json.dump({"date": datetime.now(UTC).isoformat(), "cores": os.cpu_count(), "results": rows}, f, indent=1)


if __name__ == "__main__":
    main()
