"""wbgraph's benchmark suite: every stage of the pipeline, timed at several data sizes.

For each size (rows of generated transactions): generate rows/s; online ``ingest`` rows/s
and nodes+relationships/s, beside ``ingest --bulk`` end to end and Neo4j's bulk importer
(``neo4j-admin database import``) alone on the same rows in its CSV format (the limit; local
server only); export interaction edges/s into PyG tables, beside pandas reading the same
interactions from a local Parquet file (the limit for the export); training
seconds per epoch and peak RSS; writeback RECOMMENDED edges/s; recommend queries/s and
p50/p99 at 1, 4 and 16 clients. Prints a markdown table, writes JSON and, with
``--markdown``, ``docs/benchmarks.md``.

It REPLACES the graph in the target database (the local server unless NEO4J_URI is set),
so it asks for ``--yes``:

    .venv/bin/python benchmarks/run.py --sizes 10000 100000 --yes --markdown docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
import load_recommend

from wbgraph.config import (
    TrainConfig,
    resolve_settings,
)
from wbgraph.db import open_driver, reset
from wbgraph.gnn.data import prepare_tables
from wbgraph.gnn.export import fetch
from wbgraph.gnn.train import fit, train
from wbgraph.loaders import generate as generator
from wbgraph.loaders.bulk import bulk_ingest, run_import, write_import_files
from wbgraph.loaders.ingest import check, ingest
from wbgraph.localserver import LocalServer, start, stop
from wbgraph.writeback import writeback


def timed(fn, *args, **kwargs):
    began = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - began


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def bulk_figures(settings, csv: Path, folder: Path) -> dict:
    """``ingest --bulk`` end to end, and Neo4j's importer alone on the same files (the limit)."""
    server = LocalServer()
    with open_driver(settings) as driver:
        reset(driver, settings)
    summary, seconds = timed(bulk_ingest, server, settings, csv, rejects=folder / "rejects.csv")
    out = {"bulkRowsPerS": summary.loaded / seconds, "bulkPhases": summary.phase_seconds}
    checked, _ = check(csv, rejects=folder / "rejects.csv")
    files = write_import_files(checked, folder / "import")
    stop(server)
    done, seconds = timed(run_import, server, files, settings.database)
    start(server)
    if done.returncode != 0:
        raise SystemExit(f"neo4j-admin import failed: {done.stdout[-2000:]} {done.stderr[-2000:]}")
    out["rawImportRowsPerS"] = summary.loaded / seconds
    out["rawImportEntitiesPerS"] = (files.node_count + files.relationship_count) / seconds
    out["bulkOfRawImport"] = out["bulkRowsPerS"] / out["rawImportRowsPerS"]
    return out


def one_size(rows: int, folder: Path, epochs: int, load_seconds: float) -> dict:
    settings = resolve_settings()
    out = {"rows": rows}
    data, seconds = timed(generator.generate, rows, seed=1, truth=False)
    csv = folder / f"rows-{rows}.csv"
    generator.write(data, csv)
    out["generateRowsPerS"] = rows / seconds
    if settings.local:
        out |= bulk_figures(settings, csv, folder)
    with open_driver(settings) as driver:
        reset(driver, settings)
        summary, seconds = timed(ingest, driver, settings, csv, rejects=folder / "rejects.csv")
        out["ingestRowsPerS"] = summary.loaded / seconds
        out["ingestEntitiesPerS"] = (summary.nodes_created + summary.relationships_created) / seconds
        out["ingestPhases"] = summary.phase_seconds
        if "rawImportRowsPerS" in out:
            out["onlineOfRawImport"] = out["ingestRowsPerS"] / out["rawImportRowsPerS"]
        tables, seconds = timed(fetch, driver, settings)  # first read after the ingest: cold caches
        edges = len(tables.interactions)
        out["interactions"] = edges
        out["exportEdgesPerS"] = edges / seconds
        out["exportWarmEdgesPerS"] = edges / min(timed(fetch, driver, settings)[1] for _ in range(2))
        local = folder / "interactions.parquet"
        tables.interactions.to_parquet(local, index=False)
        _, seconds = timed(pd.read_parquet, local)
        out["parquetEdgesPerS"] = edges / seconds
        prepared = prepare_tables(tables)
        fitted, seconds = timed(fit, prepared, TrainConfig(epochs=epochs, patience=epochs))
        out["trainSecondsPerEpoch"] = seconds / len(fitted.history)
        out["peakRssGb"] = peak_rss_gb()
        runs = folder / "runs"
        train(driver, settings, TrainConfig(epochs=epochs, patience=epochs), runs_dir=runs)
        summary = writeback(driver, settings, runs_dir=runs)
        out["writebackEdgesPerS"] = summary.edges_per_second
        out["writebackWriteEdgesPerS"] = summary.write_edges_per_second
        out["writebackPhases"] = summary.phase_seconds
        ids = driver.execute_query(
            "MATCH (c:Customer)-[:RECOMMENDED]->() RETURN collect(DISTINCT c.customerId) AS ids",
            database_=settings.database,
        ).records[0]["ids"]
    for clients in (1, 4, 16):
        r = load_recommend.run(clients, load_seconds, ids)
        out[f"recommend{clients}"] = {k: r[k] for k in ("queriesPerSecond", "p50ms", "p99ms", "errors")}
    return out


ROWS = [
    ("generate rows/s", "generateRowsPerS", "{:,.0f}"),
    ("ingest rows/s (online)", "ingestRowsPerS", "{:,.0f}"),
    ("ingest nodes+rels/s (online)", "ingestEntitiesPerS", "{:,.0f}"),
    ("neo4j-admin import rows/s (raw importer, limit)", "rawImportRowsPerS", "{:,.0f}"),
    ("neo4j-admin import nodes+rels/s", "rawImportEntitiesPerS", "{:,.0f}"),
    ("ingest --bulk rows/s (end to end)", "bulkRowsPerS", "{:,.0f}"),
    ("online / raw importer (target >= 40%)", "onlineOfRawImport", "{:.1%}"),
    ("--bulk / raw importer (target >= 50% at 1M rows, 70% at 10M)", "bulkOfRawImport", "{:.1%}"),
    ("interactions exported", "interactions", "{:,}"),
    ("export edges/s (first, cold)", "exportEdgesPerS", "{:,.0f}"),
    ("export edges/s (warm, best of 2)", "exportWarmEdgesPerS", "{:,.0f}"),
    ("pandas read of the same edges from Parquet/s (limit)", "parquetEdgesPerS", "{:,.0f}"),
    ("training s/epoch (CPU)", "trainSecondsPerEpoch", "{:.3f}"),
    ("peak RSS GB (process so far)", "peakRssGb", "{:.2f}"),
    ("writeback edges/s (end to end)", "writebackEdgesPerS", "{:,.0f}"),
    ("writeback edges/s (writing alone)", "writebackWriteEdgesPerS", "{:,.0f}"),
]


def table(results: list[dict]) -> str:
    lines = [
        "| measure | " + " | ".join(f"{r['rows']:,} rows" for r in results) + " |",
        "|---|" + "---|" * len(results),
    ]
    for label, key, fmt in ROWS:
        lines.append(f"| {label} | " + " | ".join(fmt.format(r[key]) if key in r else "n/a" for r in results) + " |")
    for clients in (1, 4, 16):
        lines.append(
            f"| recommend {clients} client{'s' if clients > 1 else ''}: q/s, p50/p99 ms | "
            + " | ".join(
                f"{r[f'recommend{clients}']['queriesPerSecond']:,.0f}, {r[f'recommend{clients}']['p50ms']}/{r[f'recommend{clients}']['p99ms']}"
                for r in results
            )
            + " |"
        )
    lines += ["", "Where the time goes (seconds):", ""]
    for label, key in (
        ("online ingest", "ingestPhases"),
        ("ingest --bulk", "bulkPhases"),
        ("writeback", "writebackPhases"),
    ):
        for r in results:
            if key in r:
                lines.append(f"- {label}, {r['rows']:,} rows: " + ", ".join(f"{k} {v:.1f}" for k, v in r[key].items()))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--load-seconds", type=float, default=10.0)
    parser.add_argument("--output", default="benchmarks/results.json")
    parser.add_argument("--markdown", help="Also write the report to this file (e.g. docs/benchmarks.md).")
    parser.add_argument("--yes", action="store_true", help="Replace the graph in the target database.")
    args = parser.parse_args()
    if not args.yes:
        raise SystemExit("The benchmark replaces the graph in the target database: run again with --yes.")
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for rows in sorted(args.sizes):
            results.append(one_size(rows, Path(folder), args.epochs, args.load_seconds))
            print(f"{rows:,} rows done", file=sys.stderr)
    header = (
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()}: {os.cpu_count()} cores, "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, server "
        f"{resolve_settings().uri} on the same machine; training {args.epochs} epochs at the default settings, "
        f"load {args.load_seconds:.0f} s per client count."
    )
    report = header + "\n\n" + table(results) + "\n"
    print(report)
    Path(args.output).write_text(json.dumps({"header": header, "results": results}, indent=1))
    if args.markdown:
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(
            "# Benchmarks\n\n`benchmarks/run.py`; how each figure grows from the smallest to the "
            "largest size is read across a row.\n\n" + report
        )


if __name__ == "__main__":
    main()
