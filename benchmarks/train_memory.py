"""Training alone by graph size: seconds per epoch and peak memory, full batch and in customer batches.

For each size ``ROWS:CUSTOMERS:PRODUCTS`` a generated file (``wbgraph generate --seed 1``,
cached in ``--data-dir``) is validated and turned into the tables an export would read
(:func:`wbgraph.gnn.export.tables_from_rows`: no database, so the figures are training's
own), then each ``--budgets`` entry trains in a fresh process: ``full`` (a budget large
enough for one full batch) or a size such as ``4GB`` (``--memory-budget``). Reported per
run: customers, products and training pairs, how it trained (customers per step), seconds
per epoch (validation included), epochs run and best, validation and test NDCG@10 /
recall@10, and the peak resident memory while preparing the graph and while training
(sampled every 50 ms from ``/proc``; PyTorch itself is about 1 GB of it).

    .venv/bin/python benchmarks/train_memory.py --sizes 100000:5000:60 1000000:50000:60 \\
        10000000:200000:1000 --budgets full 4GB --epochs 40
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["100000:5000:60", "1000000:50000:60"])
    parser.add_argument("--budgets", nargs="+", default=["full", "4GB"])
    parser.add_argument("--epochs", type=int, default=400, help="Most epochs (early stopping as in wbgraph train).")
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "wbgraph-bench-data")
    parser.add_argument("--markdown", type=Path, help="Append the table to this file.")
    parser.add_argument("--one", nargs=3, help=argparse.SUPPRESS)  # internal: tables file, budget, epochs
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_train_one(Path(args.one[0]), args.one[1], int(args.one[2]))))
        return 0
    args.data_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for size in args.sizes:
        rows, customers, products = (int(v) for v in size.split(":"))
        tables = _tables(args.data_dir, rows, customers, products)
        for budget in args.budgets:
            done = subprocess.run(
                [sys.executable, __file__, "--one", str(tables), budget, str(args.epochs)],
                capture_output=True,
                text=True,
            )
            if done.returncode:
                print(done.stdout, done.stderr, file=sys.stderr)
                return done.returncode
            result = {"rows": rows, "budget": budget} | json.loads(done.stdout.strip().splitlines()[-1])
            results.append(result)
            print(json.dumps(result), flush=True)
    table = _markdown(results)
    print(table)
    if args.markdown:
        with args.markdown.open("a") as out:
            out.write(table + "\n")
    return 0


def _tables(folder: Path, rows: int, customers: int, products: int) -> Path:
    """The pickled export tables of a generated file of this size (made once, then reused)."""
    path = folder / f"tables-{rows}-{customers}-{products}.pkl"
    if path.exists():
        return path
    csv = folder / f"rows-{rows}-{customers}-{products}.csv"
    if not csv.exists():
        command = [sys.executable, "-m", "wbgraph", "generate", "--rows", str(rows), "--seed", "1"]
        subprocess.run(
            [*command, "--customers", str(customers), "--products", str(products), "-o", str(csv)], check=True
        )
    code = (
        "import pickle, sys; from wbgraph.loaders.validate import validate; "
        "from wbgraph.gnn.export import tables_from_rows; "
        "pickle.dump(tables_from_rows(validate(sys.argv[1]).rows), open(sys.argv[2], 'wb'))"
    )
    subprocess.run([sys.executable, "-c", code, str(csv), str(path)], check=True)
    return path


def _train_one(tables_path: Path, budget: str, epochs: int) -> dict:
    """Prepare and fit in this process, watching its resident memory."""
    import pickle
    import threading

    from wbgraph.config import TrainConfig
    from wbgraph.gnn.data import prepare_tables
    from wbgraph.gnn.train import fit

    page = os.sysconf("SC_PAGE_SIZE")
    peak = [0]

    def resident() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * page

    def watch() -> None:
        while True:
            peak[0] = max(peak[0], resident())
            time.sleep(0.05)

    threading.Thread(target=watch, daemon=True).start()
    began = time.perf_counter()
    with open(tables_path, "rb") as handle:
        data = prepare_tables(pickle.load(handle))
    prepared, prepare_peak = time.perf_counter() - began, peak[0]
    peak[0] = resident()
    config = TrainConfig(epochs=epochs, memory_budget="1TB" if budget == "full" else budget)
    began = time.perf_counter()
    fitted = fit(data, config)
    seconds = time.perf_counter() - began
    return {
        "customers": data.n_customers,
        "products": data.n_products,
        "trainPairs": int(data.split.train.sum()),
        "customersPerStep": fitted.batches["customersPerStep"],
        "prepareSeconds": round(prepared, 1),
        "preparePeakGb": round(prepare_peak / 1e9, 2),
        "epochs": len(fitted.history),
        "bestEpoch": fitted.best_epoch,
        "secondsPerEpoch": round(seconds / len(fitted.history), 2),
        "trainSeconds": round(seconds, 1),
        "trainPeakGb": round(peak[0] / 1e9, 2),
        "valNdcg10": round(fitted.val["ndcg@10"], 4),
        "testNdcg10": round(fitted.test["ndcg@10"], 4),
        "testRecall10": round(fitted.test["recall@10"], 4),
    }


def _markdown(results: list[dict]) -> str:
    lines = [
        "| rows | customers × products | train pairs | budget | customers/step | s/epoch | epochs (best) "
        "| train peak RSS | prepare peak RSS | test NDCG@10 | test recall@10 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['rows']:,} | {r['customers']:,} × {r['products']:,} | {r['trainPairs']:,} | {r['budget']} "
            f"| {r['customersPerStep']:,} | {r['secondsPerEpoch']} | {r['epochs']} ({r['bestEpoch']}) "
            f"| {r['trainPeakGb']} GB | {r['preparePeakGb']} GB | {r['testNdcg10']} | {r['testRecall10']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
