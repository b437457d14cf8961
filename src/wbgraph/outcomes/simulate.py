"""``wbgraph simulate offers``: what relationship managers might have done with a run's
recommendations, drawn from the generator's planted truth, as an outcomes file.

So the loop (run 1 → offers and outcomes → run 2) can be measured on generated data. From what
the run last wrote back for each customer (its audit files), a ``share`` of the customers is
offered its first ``per_customer`` products, each on a day of the ``days`` before ``today``.
A customer accepts an offer with a probability tied to the product's place ``r`` in its true
ranking (the truth file's ``ranking``, 0 the best of ``n`` products): ``2 × base_rate × (1 −
r / (n − 1))``, capped at 1, so a product drawn at random is accepted at ``base_rate`` on
average and the customer's best twice as often. An offer not accepted is declined with
probability ``declined_share``, else left without an answer. Decisions come 1 to 14 days after
the offer, never after ``today``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..progress import Summary
from ..runs import Run
from ..runs.compare import latest_sets

BASE_RATE = 0.10  # the acceptance rate of a product drawn at random
DECLINED_SHARE = 0.6  # of the offers not accepted, declined (the rest: no response)
COLUMNS = ("customerId", "productId", "offeredAt", "outcome", "decidedAt", "channel", "rm", "runId", "rank")


@dataclass
class Simulated(Summary):
    """What ``simulate offers`` drew."""

    output: str
    run_id: str
    customers: int  # customers offered something
    offers: int
    accepted: int
    declined: int
    no_response: int
    expected_rate: float  # the mean acceptance probability of the offers drawn
    not_in_truth: int  # customers of the run the truth file does not know: never offered


def offers(
    run: str | Path | None,
    truth: str | Path,
    output: str | Path,
    runs_dir: str | Path | None = None,
    share: float = 0.3,
    per_customer: int = 3,
    base_rate: float = BASE_RATE,
    days: int = 30,
    seed: int = 0,
    today: dt.date | None = None,
) -> Simulated:
    """Draw offers of ``run``'s recommendations and their outcomes (see the module), write them
    to ``output`` in the outcomes format (``wbgraph outcomes ingest``) and say what was drawn."""
    chosen = Run.open(run, runs_dir)
    rankings = {c: t["ranking"] for c, t in json.loads(Path(truth).read_text())["customers"].items()}
    table, missing = draw(latest_sets(chosen), rankings, chosen.id, share, per_customer, base_rate, days, seed, today)
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    table.drop(columns="probability").to_csv(output, index=False)
    counts = table["outcome"].value_counts()
    return Simulated(
        str(output),
        chosen.id,
        int(table["customerId"].nunique()),
        len(table),
        int(counts.get("accepted", 0)),
        int(counts.get("declined", 0)),
        int(counts.get("no-response", 0)),
        float(table["probability"].mean()) if len(table) else 0.0,
        missing,
    )


def draw(
    sets: pd.DataFrame,
    rankings: dict,
    run_id: str,
    share: float,
    per_customer: int,
    base_rate: float,
    days: int,
    seed: int,
    today: dt.date | None = None,
) -> tuple[pd.DataFrame, int]:
    """``(offers in the outcomes format with each one's acceptance ``probability``, customers of
    ``sets`` without a true ranking)``; ``sets``: ``customerId, productId, rank``."""
    rng = np.random.default_rng(seed)
    today = today or dt.date.today()
    customers = sorted(sets["customerId"].unique())
    known = [c for c in customers if c in rankings]
    offered = [c for c in known if rng.random() < share]
    picked = sets[sets["customerId"].isin(offered) & (sets["rank"] <= per_customer)]
    picked = picked.sort_values(["customerId", "rank"]).reset_index(drop=True)
    place = [
        _place(rankings[c], p) for c, p in zip(picked["customerId"], picked["productId"])
    ]  # 0 the best, 1 the worst
    probability = np.minimum(1.0, 2 * base_rate * (1 - np.array(place, dtype=float)))
    accepted = rng.random(len(picked)) < probability
    declined = ~accepted & (rng.random(len(picked)) < DECLINED_SHARE)
    offered_at = [today - dt.timedelta(days=int(d)) for d in rng.integers(1, days + 1, len(picked))]
    decided_at = [
        min(today, day + dt.timedelta(days=int(d))) for day, d in zip(offered_at, rng.integers(1, 15, len(picked)))
    ]
    outcome = np.where(accepted, "accepted", np.where(declined, "declined", "no-response"))
    table = pd.DataFrame(
        {
            "customerId": picked["customerId"],
            "productId": picked["productId"],
            "offeredAt": [d.isoformat() for d in offered_at],
            "outcome": outcome,
            "decidedAt": [d.isoformat() if o != "no-response" else "" for d, o in zip(decided_at, outcome)],
            "channel": "simulated",
            "rm": "",
            "runId": run_id,
            "rank": picked["rank"].astype(int),
            "probability": probability,
        },
        columns=[*COLUMNS, "probability"],
    )
    return table, len(customers) - len(known)


def _place(ranking: list, product: str) -> float:
    """Where ``product`` stands in a true ranking, 0 the best to 1 the worst (the worst if absent)."""
    try:
        return ranking.index(product) / max(len(ranking) - 1, 1)
    except ValueError:
        return 1.0
