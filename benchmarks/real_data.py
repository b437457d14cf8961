"""Quality on real data and on ours: ml-latest-small and the generator's data through wbgraph end to end.

A real public interaction data set measures what the generator cannot: users are customers,
movies products, ratings transactions (``benchmarks/mappings/movielens.toml``). Research use
only (see the data set's README.txt): the data stays outside this repository and is read from
``--data``. Beside it, the generator's data (``wbgraph generate --rows 50000 --seed 1``) with
its oracles, held out as the oracles are made for (each customer's latest adoption:
``--holdout-share 0``; ``--generated-holdout-share`` to change it). For each data set and each seed: ``wbgraph train`` (the command, timed whole,
as a user runs it) and ``wbgraph evaluate`` (every baseline, the bootstrap intervals); the
tables give the mean and the spread (min-max) over the seeds. Runs on a local Neo4j of its
own (a separate ``WBGRAPH_HOME``, emptied first), so it never touches your database.

    .venv/bin/python benchmarks/real_data.py --data ../shared/data/ml-latest-small --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
COLUMNS = ("recall@10", "ndcg@10", "map@10", "coverage@10")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=HERE.parent.parent / "shared" / "data" / "ml-latest-small",
        help="The ml-latest-small folder (ratings.csv, movies.csv).",
    )
    parser.add_argument("--seeds", default="0,1,2", help="Training seeds, comma-separated (default 0,1,2).")
    parser.add_argument("--generated-rows", type=int, default=50_000, help="Rows of generated data (0: skip it).")
    parser.add_argument("--epochs", type=int, help="Most training epochs (default: the training default).")
    parser.add_argument(
        "--generated-holdout-share",
        type=float,
        default=0.0,
        help="--holdout-share of the generated data's runs (default 0: each customer's latest adoption, the "
        "hold-out the oracles are made for).",
    )
    parser.add_argument("--home", type=Path, help="WBGRAPH_HOME of the Neo4j it starts (default: a temporary folder).")
    parser.add_argument("--json", type=Path, help="Also write the figures as JSON here.")
    args = parser.parse_args()
    if not (args.data / "ratings.csv").is_file():
        print(f"No ratings.csv in {args.data}: pass --data <the ml-latest-small folder>.", file=sys.stderr)
        return 2
    seeds = [int(s) for s in args.seeds.split(",")]
    home = args.home or Path(tempfile.mkdtemp(prefix="wbgraph-real-data-"))
    os.environ["WBGRAPH_HOME"] = str(home)  # a server of its own
    os.environ["WBGRAPH_DOTENV"] = ""
    for name in ("NEO4J_URI", "NEO4J_USERNAME", "NEO4J_PASSWORD", "NEO4J_DATABASE"):
        os.environ.pop(name, None)

    import wbgraph
    from wbgraph.db import reset
    from wbgraph.loaders.generate import generate, write
    from wbgraph.loaders.mapping import load_mapping
    from wbgraph.localserver import start, stop

    mapping = load_mapping(HERE / "mappings" / "movielens.toml")
    products = dataclasses.replace(mapping.sides["products"], file=args.data / "movies.csv")
    mapping = dataclasses.replace(mapping, sides={"products": products})
    figures: dict = {"date": date.today().isoformat(), "machine": machine(), "seeds": seeds, "sets": {}}
    start()
    try:
        with wbgraph.connect() as (driver, settings):
            reset(driver, settings)
            mark = time.perf_counter()
            loaded = wbgraph.ingest(driver, settings, args.data / "ratings.csv", mapping=mapping)
            ingest = {"read": loaded.read, "loaded": loaded.loaded, "seconds": round(time.perf_counter() - mark, 1)}
            figures["sets"]["ml-latest-small"] = run_seeds(home / "runs-ml", seeds, args.epochs, None) | {
                "ingest": ingest
            }
            if args.generated_rows:
                reset(driver, settings)
                folder = home / "generated"
                folder.mkdir(exist_ok=True)
                write(generate(args.generated_rows, seed=1), folder / "g.csv", folder / "truth.json")
                wbgraph.ingest(driver, settings, folder / "g.csv")
                figures["sets"][f"generated ({args.generated_rows:,} rows, seed 1)"] = run_seeds(
                    home / "runs-generated",
                    seeds,
                    args.epochs,
                    folder / "truth.json",
                    ["--holdout-share", str(args.generated_holdout_share)],
                )
    finally:
        stop()
    show(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


def run_seeds(
    runs: Path, seeds: list[int], epochs: int | None, truth: Path | None, options: list[str] | None = None
) -> dict:
    """``wbgraph train`` (with ``options``) and ``wbgraph evaluate`` per seed, as a user runs them (separate processes)."""
    out = {"seeds": [], "trainOptions": options or []}
    for seed in seeds:
        command = ["train", "--seed", str(seed), "--runs-dir", str(runs), "--json", *(options or [])]
        mark = time.perf_counter()
        trained = cli(command + (["--epochs", str(epochs)] if epochs else []))
        train_seconds = time.perf_counter() - mark
        mark = time.perf_counter()
        evaluated = cli(
            ["evaluate", "--run", trained["runId"], "--runs-dir", str(runs), "--json"]
            + (["--truth", str(truth)] if truth else [])
        )
        out["seeds"].append(
            {
                "seed": seed,
                "trainSeconds": round(train_seconds, 1),
                "epochs": trained["epochs"],
                "bestEpoch": trained["bestEpoch"],
                "parts": trained["test"].get("parts"),
                "evaluateSeconds": round(time.perf_counter() - mark, 1),
                "metrics": evaluated["metrics"],
                "comparison": evaluated["comparison"],
                "chosen": evaluated["chosen"],
                "verdict": evaluated["verdict"],
            }
        )
    return out


def cli(arguments: list[str]) -> dict:
    done = subprocess.run([sys.executable, "-m", "wbgraph", *arguments], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"wbgraph {' '.join(arguments)} failed ({done.returncode}): {done.stdout}{done.stderr}")
    return json.loads(done.stdout)


def machine() -> str:
    import torch

    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, PyTorch {torch.__version__}"
    )


def spread(values: list[float]) -> str:
    mean = sum(values) / len(values)
    return f"{mean:.4f}" if len(values) == 1 else f"{mean:.4f} ({min(values):.4f}–{max(values):.4f})"


def show(figures: dict) -> None:
    print(f"{figures['date']}, {figures['machine']}; seeds {figures['seeds']}: mean (min–max)")
    for name, data in figures["sets"].items():
        runs = data["seeds"]
        print(f"\n### {name}")
        if "ingest" in data:
            i = data["ingest"]
            print(f"ingest {i['loaded']:,} of {i['read']:,} rows in {i['seconds']}s")
        if data.get("trainOptions"):
            print("wbgraph train " + " ".join(data["trainOptions"]))
        first = runs[0]["metrics"]
        extra = ["shareOfOracleRecall@10"] if "shareOfOracleRecall@10" in first["gat"] else []
        print("| method | " + " | ".join((*COLUMNS, *(["of oracle"] if extra else []))) + " |")
        print("|---|" + "---|" * (len(COLUMNS) + len(extra)))
        for method in first:
            cells = [spread([r["metrics"][method][c] for r in runs]) for c in (*COLUMNS, *extra)]
            print(f"| {method} | " + " | ".join(cells) + " |")
        for metric in ("recall@10", "ndcg@10"):
            per_seed = [
                f"seed {r['seed']}: {c['difference']:+.4f} [{c['low']:+.4f}, {c['high']:+.4f}] vs {c['baseline']}"
                f" ({c['ratio']:.3f}x)"
                for r in runs
                for c in [r["comparison"][metric]]
            ]
            print(f"GAT - best baseline, {metric}: " + "; ".join(per_seed))
        for r in runs:
            parts = r["parts"] or {}
            alone = parts.get("gatAlone", {})
            channel = parts.get("channelAlone", {})
            print(
                f"seed {r['seed']}: train {r['trainSeconds']}s (whole command; {r['epochs']} epochs, best {r['bestEpoch']}), "
                f"evaluate {r['evaluateSeconds']}s; mix {parts.get('mix')}, channel share {parts.get('channelShare', 0):.2f}; "
                f"GAT part alone {alone.get('recall@10', float('nan')):.4f}/{alone.get('ndcg@10', float('nan')):.4f}, "
                f"channel alone {channel.get('recall@10', float('nan')):.4f}/{channel.get('ndcg@10', float('nan')):.4f}"
                f"; chosen {r['chosen']}"
            )


if __name__ == "__main__":
    sys.exit(main())
