"""How much of the generator's oracle can the data a model sees give? Ceilings by what is known.

The generator's oracle ranks by the true affinity, hidden taste included; no model sees the
taste. This script holds out each customer's latest adoption and measures hit@10 (the share
of customers whose latest adoption is in the top 10 of the products they do not hold yet)
for rankings that know every parameter of the generator's story but the customer's taste,
and differ in what they read of the customer's history:

* **attributes only**: nothing of the history;
* **adoption order**: the Plackett-Luce posterior of the taste given which products were
  adopted, in order (:func:`wbgraph.loaders.generate.history_ceiling`, the truth file's
  ``historyRanking``);
* **usage residuals**: the ridge posterior of the taste given each held product's mean
  ``Product Usage`` (which rises with affinity) less what the attributes predict;
* **exact affinities**: the same, told each held product's true affinity (an upper bound).

A model reads the usage too, so its ceiling is nearer the third than the second. Seconds, no
database::

    .venv/bin/python benchmarks/generator_ceiling.py --rows 50000 --seed 1
"""

from __future__ import annotations

import argparse

import numpy as np

from wbgraph.loaders import generate as g


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    drawn = g.story(args.rows, args.seed)  # what `wbgraph generate --rows ROWS --seed SEED` draws
    c, p, affinity, a, frame = drawn.customers, drawn.products, drawn.affinity, drawn.adoptions, drawn.frame
    attributes = affinity - drawn.taste
    loading = p.taste / np.sqrt(g.TASTE_DIM) * g.TASTE_WEIGHT  # taste part = customer taste @ loading.T

    customer = frame["Customer ID"].map({x: i for i, x in enumerate(c.ids)})
    product = frame["Product ID"].map({x: i for i, x in enumerate(p.ids)})
    usage = frame.groupby([customer, product])["Product Usage"].mean()

    order = np.argsort(a.customer, kind="stable")
    present, starts = np.unique(a.customer[order], return_index=True)
    sequences = np.split(a.product[order], starts[1:])
    history = g.history_ceiling(attributes[present], p.taste, sequences, np.random.default_rng([args.seed, 1]))

    def ridge(i: int, held: np.ndarray, residual: np.ndarray, noise: float) -> np.ndarray:
        x = loading[held]
        taste_i = np.linalg.solve(x.T @ x / noise + np.eye(g.TASTE_DIM), x.T @ residual / noise)
        return attributes[i] + loading @ taste_i

    hits: dict[str, list[bool]] = {
        "oracle (true affinity)": [],
        "attributes only": [],
        "adoption order": [],
        "usage residuals": [],
        "exact affinities": [],
    }
    for i, sequence, ranked in zip(present, sequences, history):
        if len(sequence) < 2:
            continue
        latest, held = sequence[-1], sequence[:-1]
        mean_usage = np.array([usage.loc[(i, j)] for j in held])
        strength = np.clip((mean_usage - 1) / 9, 0.03, 0.97)  # usage ~ 1 + 9 sigmoid(affinity) + noise
        scores = {
            "oracle (true affinity)": affinity[i],
            "attributes only": attributes[i],
            "usage residuals": ridge(i, held, np.log(strength / (1 - strength)) - attributes[i, held], 0.5),
            "exact affinities": ridge(i, held, affinity[i, held] - attributes[i, held], 1e-3),
        }
        for name, score in scores.items():
            score = score.copy()
            score[held] = -np.inf
            hits[name].append(latest in np.argsort(-score)[:10])
        hits["adoption order"].append(latest in ranked[:10])
    oracle = np.mean(hits["oracle (true affinity)"])
    print(
        f"generate --rows {args.rows} --seed {args.seed}: {len(hits['attributes only']):,} customers, latest held out"
    )
    print("| ranking knows | hit@10 | of oracle |\n|---|---|---|")
    for name, values in hits.items():
        print(f"| {name} | {np.mean(values):.4f} | {np.mean(values) / oracle:.3f} |")


if __name__ == "__main__":
    main()
