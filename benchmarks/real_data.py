"""Quality on real data and on ours: santander-holdings, ml-latest-small and the generator's data, end to end.

Three data sets, each skippable (``--skip``), each through ``wbgraph ingest``, ``wbgraph train``
and ``wbgraph evaluate`` as a user runs them (separate processes, timed whole):

- **santander-holdings** (a Spanish bank's monthly product holdings, ``--santander``): the
  bank's question, as of 2016-03-01 with a horizon of one month (test: March's products new
  to each customer known before the cutoff; validation: February's; training windows:
  January given December), MAP@7 as in its competition; every run twice, with and without
  ``relationshipManager`` (it holds the end-of-period activity flag: an attribute as stored,
  not as known at the cutoff);
- **ml-latest-small** (``--data``; users are customers, movies products, ratings
  transactions, ``benchmarks/mappings/movielens.toml``): each user's latest fifth held out
  (the latest protocol: its last quarter holds 29 users);
- **generated** (``wbgraph generate --rows 50000 --seed 1``) with its oracles, each
  customer's latest adoption held out (``--holdout-share 0``, the hold-out the oracles are
  made for).

Research use only (see the data sets' READMEs): the data stays outside this repository and
is read from where it lies. The tables give, per method, the validation figure of the
setting it chose and the test figures (mean and min-max over the seeds), the paired interval
against the baseline best on validation, and what each method chose. Runs on a local Neo4j of
its own (a separate ``WBGRAPH_HOME``, emptied first), so it never touches your database.

    .venv/bin/python benchmarks/real_data.py --seeds 0,1,2
    .venv/bin/python benchmarks/real_data.py --skip ml,generated --seeds 0
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
SHARED = HERE.parent.parent / "shared" / "data"
SANTANDER_FILE = "holdings-2015-12-to-2016-03.csv.gz"
SETS = ("santander", "ml", "generated")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--santander", type=Path, default=SHARED / "santander-holdings", help="santander-holdings folder."
    )
    parser.add_argument("--data", type=Path, default=SHARED / "ml-latest-small", help="The ml-latest-small folder.")
    parser.add_argument("--skip", default="", help=f"Data sets to leave out, comma-separated, of {', '.join(SETS)}.")
    parser.add_argument("--seeds", default="0,1,2", help="Training seeds, comma-separated (default 0,1,2).")
    parser.add_argument("--generated-rows", type=int, default=50_000, help="Rows of generated data.")
    parser.add_argument("--epochs", type=int, help="Most training epochs (default: the training default).")
    parser.add_argument("--home", type=Path, help="WBGRAPH_HOME of the Neo4j it starts (default: a temporary folder).")
    parser.add_argument("--json", type=Path, help="Also write the figures as JSON here.")
    args = parser.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if skip - set(SETS):
        print(f"--skip: no data set named {sorted(skip - set(SETS))[0]!r}; choose from {', '.join(SETS)}.")
        return 2
    for name, path, needed in (("santander", args.santander, SANTANDER_FILE), ("ml", args.data, "ratings.csv")):
        if name not in skip and not (path / needed).is_file():
            print(f"No {needed} in {path}: pass its folder, or --skip {name}.", file=sys.stderr)
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

    figures: dict = {"date": date.today().isoformat(), "machine": machine(), "seeds": seeds, "sets": {}}
    start()
    try:
        with wbgraph.connect() as (driver, settings):

            def ingest(path: Path, **options: object) -> dict:
                reset(driver, settings)
                mark = time.perf_counter()
                loaded = wbgraph.ingest(driver, settings, path, **options)
                return {"read": loaded.read, "loaded": loaded.loaded, "seconds": round(time.perf_counter() - mark, 1)}

            if "santander" not in skip:
                loaded = ingest(args.santander / SANTANDER_FILE)
                asof = ["--cutoff", "2016-03-01", "--horizon", "1m"]
                for label, extra in (("", []), (", without relationshipManager", ["--ignore", "relationshipManager"])):
                    runs = run_seeds(home / f"runs-santander{len(extra)}", seeds, args.epochs, None, asof + extra, 7)
                    figures["sets"][f"santander-holdings (asof 2016-03-01, 1 month{label})"] = runs | {"ingest": loaded}
            if "ml" not in skip:
                mapping = load_mapping(HERE / "mappings" / "movielens.toml")
                products = dataclasses.replace(mapping.sides["products"], file=args.data / "movies.csv")
                loaded = ingest(
                    args.data / "ratings.csv", mapping=dataclasses.replace(mapping, sides={"products": products})
                )
                figures["sets"]["ml-latest-small (latest fifth)"] = run_seeds(
                    home / "runs-ml", seeds, args.epochs, None, [], 10
                ) | {"ingest": loaded}
            if "generated" not in skip:
                folder = home / "generated"
                folder.mkdir(exist_ok=True)
                write(generate(args.generated_rows, seed=1), folder / "g.csv", folder / "truth.json")
                loaded = ingest(folder / "g.csv")
                figures["sets"][f"generated ({args.generated_rows:,} rows, seed 1, latest adoption)"] = run_seeds(
                    home / "runs-generated", seeds, args.epochs, folder / "truth.json", ["--holdout-share", "0"], 10
                ) | {"ingest": loaded}
    finally:
        stop()
    show(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


def run_seeds(runs: Path, seeds: list[int], epochs: int | None, truth: Path | None, options: list[str], k: int) -> dict:
    """``wbgraph train`` (with ``options``) and ``wbgraph evaluate --k k`` per seed, as a user runs them."""
    out = {"seeds": [], "trainOptions": options, "k": k}
    for seed in seeds:
        command = ["train", "--seed", str(seed), "--runs-dir", str(runs), "--json", *options]
        mark = time.perf_counter()
        trained = cli(command + (["--epochs", str(epochs)] if epochs else []))
        train_seconds = time.perf_counter() - mark
        mark = time.perf_counter()
        evaluated = cli(
            ["evaluate", "--run", trained["runId"], "--runs-dir", str(runs), "--k", str(k), "--json"]
            + (["--truth", str(truth)] if truth else [])
        )
        out["seeds"].append(
            {
                "seed": seed,
                "trainSeconds": round(train_seconds, 1),
                "epochs": trained["epochs"],
                "bestEpoch": trained["bestEpoch"],
                "gatPhases": trained["chosen"].get("gatPhases"),  # auto: the hidden links' epochs, then the questions'
                "modelValidation": trained["val"],
                "parts": trained["test"].get("parts"),
                "evaluateSeconds": round(time.perf_counter() - mark, 1),
            }
            | {key: evaluated[key] for key in ("metrics", "validation", "comparison", "chosen", "verdict", "protocol")}
            | {"importance": evaluated["details"].get("boosted tree", {}).get("importance")}
            | {"calibration": evaluated.get("calibration"), "calibrationTried": trained_calibration(runs, trained)}
        )
    return out


def trained_calibration(runs: Path, trained: dict) -> dict:
    """What training's calibration tried on validation (metrics.json), for the table."""
    metrics = json.loads((runs / trained["runId"] / "metrics.json").read_text())
    return {key: metrics.get("calibration", {}).get(key) for key in ("tried", "val")}


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
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    mean = sum(values) / len(values)
    return (
        f"{mean:.4f}"
        if len({round(v, 4) for v in values}) == 1
        else f"{mean:.4f} ({min(values):.4f}–{max(values):.4f})"
    )


def show(figures: dict) -> None:
    print(f"{figures['date']}, {figures['machine']}; seeds {figures['seeds']}: mean (min–max)")
    for name, data in figures["sets"].items():
        runs, k = data["seeds"], data["k"]
        columns = (f"map@{k}", f"recall@{k}", "ndcg@10") if k != 10 else ("recall@10", "ndcg@10", "map@10")
        print(f"\n### {name}")
        i = data["ingest"]
        print(
            f"ingest {i['loaded']:,} of {i['read']:,} rows in {i['seconds']}s; wbgraph train {' '.join(data['trainOptions'])}"
        )
        first = runs[0]["metrics"]
        extra = ["shareOfOracleRecall@10"] if "shareOfOracleRecall@10" in first["gat"] else []
        headings = [f"validation {columns[0]}", *(f"test {c}" for c in columns), *(["of oracle"] if extra else [])]
        print("| method | " + " | ".join(headings) + " |")
        print("|---|" + "---|" * len(headings))
        for method in first:
            val = [r["validation"].get(method, {}).get(columns[0]) for r in runs]
            if method == "gat" and k == 10:
                val = [r["modelValidation"].get(columns[0]) for r in runs]
            cells = [spread(val)] + [spread([r["metrics"][method].get(c) for r in runs]) for c in (*columns, *extra)]
            print(f"| {method} | " + " | ".join(cells) + " |")
        for metric in columns:
            per_seed = [
                f"seed {r['seed']}: {c['difference']:+.4f} [{c['low']:+.4f}, {c['high']:+.4f}] vs {c['baseline']}"
                + (f" ({c['ratio']:.3f}x)" if c.get("ratio") else "")
                for r in runs
                for c in [r["comparison"].get(metric)]
                if c
            ]
            print(f"GAT - best baseline on validation, {metric}: " + "; ".join(per_seed))
        for r in runs:
            parts = r["parts"] or {}
            alone = parts.get("gatAlone", {})
            channel = parts.get("channelAlone", {})
            print(
                f"seed {r['seed']}: train {r['trainSeconds']}s (whole command; {r['epochs']} epochs, best {r['bestEpoch']}; "
                f"GAT phases {r.get('gatPhases')}), "
                f"evaluate {r['evaluateSeconds']}s; mix {parts.get('mix')}, channel share {parts.get('channelShare', 0):.2f}; "
                f"GAT part alone {alone.get('recall@10', float('nan')):.4f}/{alone.get('ndcg@10', float('nan')):.4f}, "
                f"channel alone {channel.get('recall@10', float('nan')):.4f}/{channel.get('ndcg@10', float('nan')):.4f}"
            )
        for r in runs:
            c = r.get("calibration")
            if c and c.get("pairs"):
                print(
                    f"seed {r['seed']}: probabilities ({c['method']} of the {c['input']}) of the top {c['k']}, "
                    f"{c['pairs']:,} pairs: ECE {c['ece']:.4f}, Brier skill {c['brierSkill']:+.4f}, "
                    f"base rate {c['baseRate']:.4f}; validation Brier of each: {r['calibrationTried']['tried']}"
                )
        print(f"chosen (seed {runs[0]['seed']}): {runs[0]['chosen']}")
        if runs[0].get("importance"):
            top = list(runs[0]["importance"].items())[:10]
            print("boosted tree, share of gain: " + ", ".join(f"{n} {v:.3f}" for n, v in top))
        print(f"verdict (seed {runs[0]['seed']}): {runs[0]['verdict']}")


if __name__ == "__main__":
    sys.exit(main())
