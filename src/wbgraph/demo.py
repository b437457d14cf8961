"""``wbgraph demo``: the whole pipeline on generated data, in one command.

Starts the local server unless another one is configured, generates a dataset with planted
structure (and the generator's truth, for the oracle rows), ingests it, trains, evaluates
against the baselines and the oracle, writes the recommendations back and reads three
customers' recommendations with their reasons. Every step is one the CLI also offers on its
own; running the demo again is safe: the same seed gives the same rows, which the ingest
recognises, and the new run's recommendations replace the old ones. A database holding
other customers is refused (the model would train on them too) unless ``reset`` empties it.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from . import cypher
from . import generate as generator
from .config import Settings, resolve_settings
from .db import connect, reset as reset_database
from .errors import TargetRefused
from .localserver import start
from .recommend import recommend

SHOWN_CUSTOMERS = 3


@dataclass
class DemoResult:
    """What the demo did and found; ``seconds`` per step and ``total``."""

    uri: str
    browser_url: str | None
    folder: str
    rows: int
    ingest: object = None
    training: object = None
    evaluation: object = None
    writeback: object = None
    customers: list = field(default_factory=list)
    browser_query: str = ""
    browser_params: str = ""
    seconds: dict = field(default_factory=dict)
    total: float = 0.0


def demo(
    settings: Settings | None = None,
    *,
    rows: int = 50_000,
    seed: int = 1,
    folder: str | Path = "demo-data",
    epochs: int | None = None,
    reset: bool = False,
    bars=None,
    say=None,
) -> DemoResult:
    """Run the pipeline end to end; ``settings`` None means the local server, started if needed.

    ``bars(description, unit)`` gives a context manager yielding ``update(done, total)`` (or
    None) for each long step; ``say(message)`` is told what happens next.
    """
    from .gnn.evaluate import evaluate
    from .gnn.train import TrainConfig, train
    from .gnn.writeback import writeback
    from .loaders.ingest import ingest

    bars = bars or (lambda description, unit: nullcontext(None))
    say = say or (lambda message: None)
    began, seconds = time.perf_counter(), {}
    folder = Path(folder)
    browser_url = None
    if settings is None:
        started = start(progress=say)  # says "Starting Neo4j..." only when it is not running yet
        settings, browser_url = resolve_settings(), started.browser_url
    seconds["server"] = time.perf_counter() - began

    mark = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    data_file, truth_file, runs = folder / "transactions.csv", folder / "truth.json", folder / "runs"
    say(f"Generating {rows:,} transactions (seed {seed}) in {data_file}")
    generated = generator.generate(rows, seed=seed, truth=True)
    generator.write(generated, data_file, truth_file)
    ids = sorted(generated.rows["Customer ID"].unique())[:SHOWN_CUSTOMERS]
    seconds["generate"] = time.perf_counter() - mark

    result = DemoResult(settings.uri, browser_url, str(folder), rows)
    with connect(settings) as driver:
        if reset:
            mark = time.perf_counter()
            say(f"Emptying database {settings.database} (--reset)")
            reset_database(driver, settings)
            seconds["reset"] = time.perf_counter() - mark
        else:
            _require_only_demo_data(driver, settings, list(generated.rows["Customer ID"].unique()))
        mark = time.perf_counter()
        with bars("Ingesting", "rows") as update:
            result.ingest = ingest(driver, settings, data_file, progress=update)
        seconds["ingest"] = time.perf_counter() - mark

        mark = time.perf_counter()
        config = TrainConfig.load(None, **({"epochs": epochs} if epochs else {}))
        with bars("Training", "epochs") as update:
            result.training = train(driver, settings, config, runs_dir=runs,
                                    progress=(lambda epoch, total, loss, ndcg: update(epoch, total)) if update else None)
        seconds["train"] = time.perf_counter() - mark

        mark = time.perf_counter()
        say("Evaluating against the baselines and the oracle")
        result.evaluation = evaluate(driver, settings, runs_dir=runs, truth=truth_file)
        seconds["evaluate"] = time.perf_counter() - mark

        mark = time.perf_counter()
        with bars("Writing back", "customers") as update:
            result.writeback = writeback(driver, settings, runs_dir=runs, progress=update)
        seconds["writeback"] = time.perf_counter() - mark

        result.customers = [recommend(driver, settings, customer_id, explain=True) for customer_id in ids]
    if ids:
        result.browser_params = f":param customerId => '{ids[0]}'"  # shown to the user, never sent as a query
    result.browser_query = cypher.analyst_queries()["recommendations_for_customer"]
    result.seconds = {k: round(v, 1) for k, v in seconds.items()}
    result.total = time.perf_counter() - began
    return result


def _require_only_demo_data(driver, settings: Settings, customer_ids: list[str]) -> None:
    """Refuse a database holding customers this demo did not generate: it would train on them too."""
    others = driver.execute_query(cypher.load("count_other_customers"), customerIds=customer_ids,
                                  database_=settings.database).records[0]["others"]
    if others:
        raise TargetRefused(
            f"Database {settings.database} on {settings.uri} holds {others:,} customers that are not this demo's: "
            "run `wbgraph demo --reset` to empty it first (all of it), or point NEO4J_URI / --database elsewhere."
        )
