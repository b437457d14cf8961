"""Corporate groups on generated data (issue #32): does the group structure earn its place?

For each seed: ``wbgraph generate --groups`` data (defaults of :mod:`wbgraph.loaders.groups`,
fixed before this was run), validated and turned into tables offline as ``ingest
--hierarchy`` would store them; the ``latest`` protocol; the model trained twice, with the
group edges (``GROUP_USES_EDGE``) and without them (``ignore = [ultimateParentId]``), every
choice on validation; both beside every baseline on the same test part, overall and on the
customers in a group. Prints one JSON line per seed, then a table.

    python benchmarks/groups.py --rows 50000 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

from wbgraph.config import TrainConfig
from wbgraph.gnn.baselines import fit_all
from wbgraph.gnn.data import prepare_tables
from wbgraph.gnn.evaluate import best_on_validation, oracle_scores
from wbgraph.gnn.export import tables_from_rows
from wbgraph.gnn.metrics import bootstrap_difference, per_customer, ranking_metrics
from wbgraph.gnn.train import fit
from wbgraph.graphmodel import GROUP_KEY
from wbgraph.loaders.generate import generate, write
from wbgraph.loaders.hierarchy import check_hierarchy
from wbgraph.loaders.validate import validate

METRIC = "recall@10"


VARIANTS = {"groups": [], "without": [GROUP_KEY]}


def one_seed(rows: int, seed: int, epochs: int | None, folder: Path, variants: list[str]) -> dict:
    generated = generate(rows, seed=seed, truth=True, groups=True)
    write(generated, folder / "rows.csv", folder / "truth.json", folder / "groups.csv")
    stakes = check_hierarchy(folder / "groups.csv")
    tables = tables_from_rows(validate(folder / "rows.csv").rows, hierarchy=stakes.rows)
    out, model_per = {"seed": seed, "rows": rows}, {}
    for variant in variants:
        ignore = VARIANTS[variant]
        config = TrainConfig(ignore=ignore) if epochs is None else TrainConfig(ignore=ignore, epochs=epochs)
        data = prepare_tables(tables, ignore=tuple(ignore))
        started = time.perf_counter()
        fitted = fit(data, config)
        seconds = time.perf_counter() - started
        methods = {"model": fitted.model.score_all(data.test_graph)[0]}
        baselines = fit_all(data.history, data.val, data.test, data.side(seed))
        methods |= {name: f.scores for name, f in baselines.items()}
        methods["oracle"] = oracle_scores(folder / "truth.json", data.encoders.customer_ids, data.encoders.product_ids)
        grouped = tables.customers.set_index("customerId")[GROUP_KEY].reindex(data.encoders.customer_ids).notna()
        mask = torch.tensor(grouped.to_numpy(), dtype=torch.bool)
        test, held = data.test.answers(), data.test.held()
        model_per[variant] = per_customer(methods["model"], test, held, 10, ())[METRIC]
        best = best_on_validation({n: f.validation for n, f in baselines.items()}, METRIC)
        out[variant] = {
            "seconds": round(seconds, 1),
            "mix": fitted.model.mix.tolist(),
            "groupWeight": float(fitted.model.group_weight),
            "groupWeightsOnValidation": fitted.val.get("groupWeights"),
            "val": fitted.val.get(METRIC),
            "bestOnValidation": best,
            "all": {n: ranking_metrics(s, test, held)[METRIC] for n, s in methods.items()},
            "inGroups": {n: ranking_metrics(s[mask], test[mask], held[mask])[METRIC] for n, s in methods.items()},
            "vsBest": bootstrap_difference(
                per_customer(methods["model"], test, held, 10, ())[METRIC],
                per_customer(methods[best], test, held, 10, ())[METRIC],
                seed=seed,
            ),
        }
    if len(model_per) == 2:  # the same test customers: the group structure's gain, paired
        out["groupsVsWithout"] = bootstrap_difference(model_per["groups"], model_per["without"], seed=seed)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    args = parser.parse_args()
    results = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as folder:
            results.append(one_seed(args.rows, seed, args.epochs, Path(folder), args.variants))
        print(json.dumps(results[-1]), flush=True)
    for r in results:
        if set(VARIANTS) - set(r):
            continue
        g, w = r["groups"], r["without"]
        best = g["bestOnValidation"]
        print(
            f"seed {r['seed']}: {METRIC} with groups {g['all']['model']:.4f}, without {w['all']['model']:.4f} "
            f"({g['all']['model'] / w['all']['model']:.3f}x, {r['groupsVsWithout']}; group weight "
            f"{g['groupWeight']}); best baseline on validation {best} "
            f"{g['all'][best]:.4f} ({g['all']['model'] / g['all'][best]:.3f}x, {g['vsBest']}); "
            f"oracle {g['all']['oracle']:.4f}; in groups: with {g['inGroups']['model']:.4f}, "
            f"without {w['inGroups']['model']:.4f}, {best} {g['inGroups'][best]:.4f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
