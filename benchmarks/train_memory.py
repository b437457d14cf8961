"""Training alone by graph size: seconds per epoch and peak memory, full batch and in customer batches.

For each size ``ROWS:CUSTOMERS:PRODUCTS`` a generated file (``wbgraph generate --seed 1``,
cached in ``--data-dir``) is validated and turned into the tables an export would read
(:func:`wbgraph.gnn.export.tables_from_rows`: no database, so the figures are training's
own; the tables are cached as Parquet beside it, so a machine without the generator's time
can be handed the folder), then each ``--budgets`` entry trains on each ``--devices`` entry
in a fresh process: ``full`` (a budget large enough for one full batch) or a size such as
``4GB`` (``--memory-budget``), on ``cpu`` or ``cuda``. Reported per run: customers,
products and training pairs, how it trained (customers per step), seconds per epoch
(validation included; the median epoch, so the first epoch's warm-up and the final scoring
are left out, and the whole fit's mean beside it), epochs run and best, validation and test
NDCG@10 / recall@10, and the peak resident memory while preparing the graph and while
training (sampled every 50 ms from ``/proc``; PyTorch itself is about 1 GB of it), and on
CUDA the GPU memory PyTorch allocated at most.

    .venv/bin/python benchmarks/train_memory.py --sizes 100000:5000:60 1000000:50000:60 \\
        10000000:200000:1000 --budgets full 4GB --epochs 40
    python3 benchmarks/train_memory.py --sizes 1000000:50000:60 --budgets full --devices cpu cuda \\
        --epochs 20   # the GPU and the CPU side by side, same tables, same machine
"""

from __future__ import annotations

import argparse
import contextlib
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
    parser.add_argument("--devices", nargs="+", default=["cpu"], help="cpu, cuda or cuda:N, each in turn.")
    parser.add_argument("--epochs", type=int, default=400, help="Most epochs (early stopping as in wbgraph train).")
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "wbgraph-bench-data")
    parser.add_argument("--markdown", type=Path, help="Append the table to this file.")
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)  # internal: tables folder, budget, epochs, device
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_train_one(Path(args.one[0]), args.one[1], int(args.one[2]), args.one[3])))
        return 0
    args.data_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for size in args.sizes:
        rows, customers, products = (int(v) for v in size.split(":"))
        tables = _tables(args.data_dir, rows, customers, products)
        for budget in args.budgets:
            for device in args.devices:
                done = subprocess.run(
                    [sys.executable, __file__, "--one", str(tables), budget, str(args.epochs), device],
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


TABLES = ("customers", "products", "interactions")


def _tables(folder: Path, rows: int, customers: int, products: int) -> Path:
    """The export tables of a generated file of this size, one Parquet file each (made once, then reused)."""
    path = folder / f"tables-{rows}-{customers}-{products}"
    if all((path / f"{name}.parquet").exists() for name in TABLES):
        return path
    csv = folder / f"rows-{rows}-{customers}-{products}.csv"
    if not csv.exists():
        command = [sys.executable, "-m", "wbgraph", "generate", "--rows", str(rows), "--seed", "1"]
        subprocess.run(
            [*command, "--customers", str(customers), "--products", str(products), "-o", str(csv)], check=True
        )
    code = (
        "import sys, pathlib; from wbgraph.loaders.validate import validate; "
        "from wbgraph.gnn.export import tables_from_rows; "
        "tables = tables_from_rows(validate(sys.argv[1]).rows); out = pathlib.Path(sys.argv[2]); "
        "out.mkdir(exist_ok=True); "
        f"[getattr(tables, n).to_parquet(out / (n + '.parquet'), compression='zstd', index=False) for n in {TABLES}]"
    )
    subprocess.run([sys.executable, "-c", code, str(csv), str(path)], check=True)
    return path


class _EpochClock:
    """A progress that notes when each training epoch ends (the protocol of ``wbgraph.progress``)."""

    def __init__(self, device) -> None:
        self.device, self.ends = device, []

    def say(self, message: str) -> None:
        pass

    @contextlib.contextmanager
    def task(self, description: str, unit: str = "rows"):
        import torch

        def update(done: int, total: int | None = None) -> None:
            if description == "Training":
                if self.device.type == "cuda":
                    torch.cuda.synchronize(self.device)
                self.ends.append(time.perf_counter())

        yield update

    def median_epoch(self, began: float) -> float:
        """The median epoch's seconds, the first left out when there are more than two."""
        times = [b - a for a, b in zip([began, *self.ends], self.ends, strict=False)]
        times = sorted(times[1:] if len(times) > 2 else times)
        return times[len(times) // 2] if times else float("nan")


def _train_one(tables_path: Path, budget: str, epochs: int, device_name: str) -> dict:
    """Prepare and fit in this process, watching its resident memory (and the GPU's, on CUDA)."""
    import threading

    import pandas as pd
    import torch

    from wbgraph.config import TrainConfig
    from wbgraph.gnn.data import prepare_tables
    from wbgraph.gnn.export import GraphTables
    from wbgraph.gnn.memory import pick_device
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
    data = prepare_tables(GraphTables(*(pd.read_parquet(tables_path / f"{name}.parquet") for name in TABLES)))
    prepared, prepare_peak = time.perf_counter() - began, peak[0]
    peak[0] = resident()
    device = pick_device(device_name)
    config = TrainConfig(epochs=epochs, memory_budget="1TB" if budget == "full" else budget, device=device_name)
    clock = _EpochClock(device)
    began = time.perf_counter()
    fitted = fit(data, config, clock)
    seconds = time.perf_counter() - began
    gpu = {}
    if device.type == "cuda":
        gpu = {
            "gpu": torch.cuda.get_device_name(device),
            "gpuPeakGb": round(torch.cuda.max_memory_allocated(device) / 1e9, 2),
        }
    return {
        "device": device_name,
        "cpuThreads": torch.get_num_threads(),
        "customers": data.n_customers,
        "products": data.n_products,
        "trainPairs": len(data.val.rows),
        "customersPerStep": fitted.batches["customersPerStep"],
        "prepareSeconds": round(prepared, 1),
        "preparePeakGb": round(prepare_peak / 1e9, 2),
        "epochs": len(fitted.history),
        "bestEpoch": fitted.best_epoch,
        "secondsPerEpoch": round(clock.median_epoch(began), 3),
        "meanSecondsPerEpoch": round(seconds / len(fitted.history), 3),
        "trainSeconds": round(seconds, 1),
        "trainPeakGb": round(peak[0] / 1e9, 2),
        "valNdcg10": round(fitted.val["ndcg@10"], 4),
        "testNdcg10": round(fitted.test["ndcg@10"], 4),
        "testRecall10": round(fitted.test["recall@10"], 4),
    } | gpu


def _markdown(results: list[dict]) -> str:
    lines = [
        "| rows | customers × products | train pairs | budget | device | customers/step | s/epoch (median) "
        "| s/epoch (mean, with final scoring) | epochs (best) | train peak RSS | GPU peak | prepare peak RSS "
        "| test NDCG@10 | test recall@10 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        device = r.get("gpu", f"{r['device']} ({r['cpuThreads']} threads)")
        lines.append(
            f"| {r['rows']:,} | {r['customers']:,} × {r['products']:,} | {r['trainPairs']:,} | {r['budget']} "
            f"| {device} | {r['customersPerStep']:,} | {r['secondsPerEpoch']} | {r['meanSecondsPerEpoch']} "
            f"| {r['epochs']} ({r['bestEpoch']}) | {r['trainPeakGb']} GB | {str(r['gpuPeakGb']) + ' GB' if 'gpuPeakGb' in r else '–'} "
            f"| {r['preparePeakGb']} GB | {r['testNdcg10']} | {r['testRecall10']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
