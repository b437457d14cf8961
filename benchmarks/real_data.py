"""MovieLens (ml-latest-small) through wbgraph end to end: mapping -> ingest -> train -> evaluate -> writeback.

A real public interaction data set, to measure what the generator cannot: users are
customers, movies products, ratings transactions (``benchmarks/mappings/movielens.toml``).
Research use only (see the data set's README.txt): the data stays outside this repository
and is read from ``--data``. Runs on a local Neo4j of its own (a separate ``WBGRAPH_HOME``,
emptied first), so it never touches your database. Prints every stage's figures and the
evaluation table; ``--json FILE`` keeps them.

    .venv/bin/python benchmarks/real_data.py --data ../shared/data/ml-latest-small
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=HERE.parent.parent / "shared" / "data" / "ml-latest-small",
        help="The ml-latest-small folder (ratings.csv, movies.csv).",
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="Most training epochs (default: the training default)."
    )
    parser.add_argument("--home", type=Path, help="WBGRAPH_HOME of the Neo4j it starts (default: a temporary folder).")
    parser.add_argument("--json", type=Path, help="Also write the figures as JSON here.")
    args = parser.parse_args()
    if not (args.data / "ratings.csv").is_file():
        print(f"No ratings.csv in {args.data}: pass --data <the ml-latest-small folder>.", file=sys.stderr)
        return 2
    home = args.home or Path(tempfile.mkdtemp(prefix="wbgraph-real-data-"))
    os.environ["WBGRAPH_HOME"] = str(home)  # a server of its own
    os.environ["WBGRAPH_DOTENV"] = ""
    for name in ("NEO4J_URI", "NEO4J_USERNAME", "NEO4J_PASSWORD", "NEO4J_DATABASE"):
        os.environ.pop(name, None)

    import wbgraph
    from wbgraph.db import reset
    from wbgraph.loaders.mapping import load_mapping
    from wbgraph.localserver import start, stop

    mapping = load_mapping(HERE / "mappings" / "movielens.toml")
    products = dataclasses.replace(mapping.sides["products"], file=args.data / "movies.csv")
    mapping = dataclasses.replace(mapping, sides={"products": products})
    figures: dict = {"data": str(args.data)}
    runs = home / "runs"
    began = time.perf_counter()
    start()
    try:
        with wbgraph.connect() as (driver, settings):
            reset(driver, settings)
            mark = time.perf_counter()
            loaded = wbgraph.ingest(driver, settings, args.data / "ratings.csv", mapping=mapping)
            figures["ingest"] = {
                "read": loaded.read,
                "loaded": loaded.loaded,
                "rejected": loaded.rejected,
                "seconds": round(time.perf_counter() - mark, 1),
                "rowsPerSecond": round(loaded.rows_per_second),
                "phases": loaded.phase_seconds,
            }
            config = wbgraph.TrainConfig.load(None, epochs=args.epochs)
            mark = time.perf_counter()
            trained = wbgraph.train(driver, settings, config, runs_dir=runs)
            figures["train"] = {
                "seconds": round(time.perf_counter() - mark, 1),
                "epochs": trained.epochs,
                "bestEpoch": trained.best_epoch,
                "perEpoch": round(trained.seconds["perEpoch"], 3),
                "notes": trained.notes,
                "config": config.to_dict(),
            }
            mark = time.perf_counter()
            evaluation = wbgraph.evaluate(driver, settings, runs_dir=runs)
            figures["evaluate"] = {
                "seconds": round(time.perf_counter() - mark, 1),
                "metrics": evaluation.metrics,
                "verdict": evaluation.verdict,
            }
            written = wbgraph.writeback(driver, settings, rules=None, runs_dir=runs)
            figures["writeback"] = {"edges": written.edges, "seconds": round(written.seconds, 1)}
    finally:
        stop()
    figures["totalSeconds"] = round(time.perf_counter() - began, 1)
    figures["peakRssGb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2)
    show(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


def show(figures: dict) -> None:
    i, t = figures["ingest"], figures["train"]
    print(f"MovieLens from {figures['data']}")
    print(
        f"ingest    {i['loaded']:,} of {i['read']:,} rows ({i['rejected']:,} rejected) in {i['seconds']}s "
        f"({i['rowsPerSecond']:,} rows/s)"
    )
    print(f"train     {t['epochs']} epochs (best {t['bestEpoch']}) in {t['seconds']}s, {t['perEpoch']}s/epoch")
    for note in t["notes"]:
        print(f"          note: {note}")
    metrics = figures["evaluate"]["metrics"]
    columns = ["recall@10", "ndcg@10", "recall@20", "hit@10", "coverage@10"]
    width = max(len(n) for n in metrics)
    customers = next(iter(metrics.values()))["customers"]
    print(f"evaluate  {customers:,} users with a held-out latest rating, in {figures['evaluate']['seconds']}s")
    print("| method | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for name, m in metrics.items():
        print(f"| {name:<{width}} | " + " | ".join(f"{m[c]:.3f}" for c in columns) + " |")
    print(figures["evaluate"]["verdict"])
    print(f"writeback {figures['writeback']['edges']:,} RECOMMENDED edges in {figures['writeback']['seconds']}s")
    print(f"total     {figures['totalSeconds']}s, peak RSS {figures['peakRssGb']} GB")


if __name__ == "__main__":
    sys.exit(main())
