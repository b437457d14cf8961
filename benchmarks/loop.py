"""The loop on generated data (issue #33): run 1 → offers and outcomes → run 2, with and without hard negatives.

On a local Neo4j of its own (a separate ``WBGRAPH_HOME``): ``generate --rows N --seed S`` with its
truth, ingested; **run 1** trained and written back; relationship managers' offers of its sets
and their outcomes drawn from the truth (:func:`wbgraph.outcomes.simulate.draw`: a share of the
customers offered their top products, acceptance ``2 × 10% × (1 − the product's true place)``,
60% of the rest declined), loaded with ``outcomes ingest``, and each accepted offer taken (a
transaction of the product on the decision day, ingested: the customer now holds it). Then
**run 2** trained twice on that graph, as before and with ``hard_negatives`` (the declines
taught to the GAT part), each written back (suppression on: the declines kept away, counted
and checked against the declines loaded) and offered to the same customers with the same
random draws (common random numbers: the difference is the sets'). Prints each run's realised
acceptance (Wilson 95% interval) and expected acceptance (the mean acceptance probability of
the offers drawn), and paired bootstrap intervals over customers of the differences.

    python benchmarks/loop.py --rows 50000 --seed 1
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import pandas as pd

PRODUCT_COLUMNS = (
    "Product ID",
    "Product Type",
    "Product Category",
    "Product Subcategory",
    "Product Features",
    "Transaction Type",
    "Transaction Amount",
    "Transaction Currency",
    "Transaction Frequency",
    "Transaction Value",
    "Product Adoption",
    "Product Usage",
    "Regulatory Requirements",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1, help="The generator's seed.")
    parser.add_argument("--train-seed", type=int, default=0)
    parser.add_argument("--share", type=float, default=0.3, help="Share of the customers offered something.")
    parser.add_argument("--per-customer", type=int, default=3, help="Offers per customer: its top ones.")
    parser.add_argument("--epochs", type=int, help="Most training epochs (default: the training default).")
    parser.add_argument("--home", type=Path, help="WBGRAPH_HOME of the Neo4j it starts (default: a temporary one).")
    parser.add_argument("--json", type=Path, help="Also write the figures as JSON here.")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="wbgraph-loop-"))
    os.environ["WBGRAPH_HOME"] = str(home)
    os.environ["WBGRAPH_DOTENV"] = ""
    for name in ("NEO4J_URI", "NEO4J_USERNAME", "NEO4J_PASSWORD", "NEO4J_DATABASE"):
        os.environ.pop(name, None)

    import wbgraph
    from wbgraph.db import reset
    from wbgraph.localserver import start, stop

    folder = home / "loop"
    folder.mkdir(parents=True, exist_ok=True)
    start()
    try:
        with wbgraph.connect() as (driver, settings):
            reset(driver, settings)
            figures = loop(driver, settings, folder, args)
    finally:
        stop()
    show(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 0


def loop(driver, settings, folder: Path, args) -> dict:
    """Run 1, its offers and their outcomes, run 2 twice: the figures."""
    import wbgraph
    from wbgraph.config import TrainConfig
    from wbgraph.loaders.generate import generate, write
    from wbgraph.outcomes.ingest import ingest as outcomes_ingest

    write(generate(args.rows, seed=args.seed, truth=True), folder / "rows.csv", folder / "truth.json")
    wbgraph.ingest(driver, settings, folder / "rows.csv")
    rankings = {c: t["ranking"] for c, t in json.loads((folder / "truth.json").read_text())["customers"].items()}
    config = TrainConfig(seed=args.train_seed, **({"epochs": args.epochs} if args.epochs else {}))
    runs = folder / "runs"
    first = trained_and_written(driver, settings, config, runs)
    offers = offered(first["runId"], runs, rankings, args)
    offers.drop(columns="probability").to_csv(folder / "offers-1.csv", index=False)
    loaded = outcomes_ingest(driver, settings, folder / "offers-1.csv")
    taken = conversions(pd.read_csv(folder / "rows.csv", dtype=str, keep_default_na=False), offers)
    taken.to_csv(folder / "conversions.csv", index=False)
    converted = wbgraph.ingest(driver, settings, folder / "conversions.csv")
    declined = offers[offers["outcome"] == "declined"][["customerId", "productId"]].drop_duplicates()
    out = {
        "date": date.today().isoformat(),
        "rows": args.rows,
        "seed": args.seed,
        "run 1": first | rates(offers),
        "offersLoaded": loaded.loaded,
        "conversionsLoaded": converted.loaded,
        "declinedPairs": len(declined),
    }
    per_customer = {"run 1": offers}
    for name, hard in (("run 2", False), ("run 2, hard negatives", True)):
        second = trained_and_written(driver, settings, dataclasses.replace(config, hard_negatives=hard), runs)
        again = offered(second["runId"], runs, rankings, args)
        per_customer[name] = again
        out[name] = second | rates(again)
        out[name]["suppressedAsDeclined"] = second["suppression"].get("declined")
        out[name]["vs run 1"] = paired(again, offers, args.train_seed)
    out["hard negatives vs without"] = paired(per_customer["run 2, hard negatives"], per_customer["run 2"], 0)
    return out


def trained_and_written(driver, settings, config, runs: Path) -> dict:
    """Train with ``config``, write back with the shipped rules and suppression: what it did."""
    import wbgraph

    started = time.perf_counter()
    trained = wbgraph.train(driver, settings, config, runs_dir=runs)
    seconds = time.perf_counter() - started
    written = wbgraph.writeback(driver, settings, run=trained.run_id, runs_dir=runs, top_k=10)
    calibration = json.loads((Path(trained.run_dir) / "metrics.json").read_text()).get("calibration", {})
    return {
        "runId": trained.run_id,
        "trainSeconds": round(seconds, 1),
        "testRecall@10": trained.test.get("recall@10"),
        "calibrationTest": {k: calibration.get("test", {}).get(k) for k in ("ece", "brierSkill", "baseRate")},
        "suppression": written.suppression or {},
    }


def offered(run_id: str, runs: Path, rankings: dict, args) -> pd.DataFrame:
    """The simulated offers of the run's latest sets, the same customers and draws for every run."""
    from wbgraph.outcomes.simulate import BASE_RATE, draw
    from wbgraph.runs import Run
    from wbgraph.runs.compare import latest_sets

    table, _ = draw(
        latest_sets(Run(runs / run_id)), rankings, run_id, args.share, args.per_customer, BASE_RATE, 30, seed=7
    )
    return table


def conversions(rows: pd.DataFrame, offers: pd.DataFrame) -> pd.DataFrame:
    """A transaction for each accepted offer, on its decision day: the customer's own columns from
    its latest row, the product's from one of the product's rows."""
    accepted = offers[offers["outcome"] == "accepted"].reset_index(drop=True)
    customer = rows.drop_duplicates("Customer ID", keep="last").set_index("Customer ID")
    product = rows.drop_duplicates("Product ID", keep="last").set_index("Product ID")
    out = customer.loc[accepted["customerId"]].reset_index()
    facts = product.loc[accepted["productId"]].reset_index()
    for column in PRODUCT_COLUMNS:
        out[column] = facts[column].to_numpy()
    out["Transaction ID"] = [f"CONV-{i:06d}" for i in range(len(out))]
    out["Transaction Date"] = accepted["decidedAt"].to_numpy()
    return out[rows.columns]


def rates(offers: pd.DataFrame) -> dict:
    """Realised acceptance with its Wilson interval, and the expected acceptance of the offers drawn."""
    from wbgraph.outcomes.metrics import wilson

    accepted = int((offers["outcome"] == "accepted").sum())
    low, high = wilson(accepted, len(offers))
    return {
        "offers": len(offers),
        "accepted": accepted,
        "declined": int((offers["outcome"] == "declined").sum()),
        "rate": accepted / max(len(offers), 1),
        "low": low,
        "high": high,
        "expected": float(offers["probability"].mean()),
    }


def paired(a: pd.DataFrame, b: pd.DataFrame, seed: int) -> dict:
    """Paired bootstrap over the customers offered in both: the differences of their realised and
    expected acceptance (a − b)."""
    from wbgraph.gnn.metrics import bootstrap_difference

    def per(table: pd.DataFrame) -> pd.DataFrame:
        return table.assign(taken=table["outcome"] == "accepted").groupby("customerId")[["taken", "probability"]].mean()

    both = per(a).merge(per(b), left_index=True, right_index=True, suffixes=("_a", "_b"))
    return {
        "customers": len(both),
        "realised": bootstrap_difference(both["taken_a"].to_numpy(float), both["taken_b"].to_numpy(float), seed=seed),
        "expected": bootstrap_difference(
            both["probability_a"].to_numpy(float), both["probability_b"].to_numpy(float), seed=seed
        ),
    }


def show(f: dict) -> None:
    print(
        f"{f['date']}: generate --rows {f['rows']:,} --seed {f['seed']}; {f['offersLoaded']:,} offers loaded, "
        f"{f['conversionsLoaded']:,} conversions ingested, {f['declinedPairs']:,} pairs declined"
    )
    print(
        "| run | offers | accepted | rate (95% interval) | expected | declines suppressed | test recall@10 | ECE | Brier skill |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name in ("run 1", "run 2", "run 2, hard negatives"):
        r = f[name]
        c = r["calibrationTest"]
        print(
            f"| {name} | {r['offers']:,} | {r['accepted']:,} | {r['rate']:.3f} ({r['low']:.3f}–{r['high']:.3f}) | "
            f"{r['expected']:.4f} | {r.get('suppressedAsDeclined', '–')} | {r['testRecall@10']:.4f} | "
            f"{c['ece']:.4f} | {c['brierSkill']:+.4f} |"
        )
    for name in ("run 2", "run 2, hard negatives"):
        d = f[name]["vs run 1"]
        print(f"{name} − run 1 over {d['customers']:,} customers: " + diff(d))
    print("hard negatives − without: " + diff(f["hard negatives vs without"]))


def diff(d: dict) -> str:
    r, e = d["realised"], d["expected"]
    return (
        f"realised {r['difference']:+.4f} [{r['low']:+.4f}, {r['high']:+.4f}], "
        f"expected {e['difference']:+.4f} [{e['low']:+.4f}, {e['high']:+.4f}]"
    )


if __name__ == "__main__":
    sys.exit(main())
