"""What ``wbgraph demo`` chains: generate -> ingest -> train -> evaluate -> writeback -> recommend.

Starts the local server unless another one is configured, generates a dataset with planted
structure (and the generator's truth, for the oracle rows), ingests it, trains, evaluates
against the baselines and the oracle, writes the recommendations back and reads three
customers' recommendations with their reasons. Every step is one the CLI also offers on its
own; running the demo again is safe: the same seed gives the same rows, which the ingest
recognises, and the new run's recommendations replace the old ones. A database holding
other customers is refused (the model would train on them too) unless ``reset`` empties it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import neo4j

from . import cypher
from .config import Settings, TrainConfig, resolve_settings
from .db import open_driver, writer_lock
from .db import reset as reset_database
from .errors import TargetRefused
from .loaders import generate as generator
from .localserver import start
from .progress import SILENT, Phases, Progress, Summary
from .serve.recommend import recommend

SHOWN_CUSTOMERS = 3


@dataclass
class DemoResult(Summary):
    """What the demo did and found; ``seconds`` per step and ``total``."""

    uri: str
    browser_url: str | None
    folder: str
    rows: int
    ingest: Summary | None = None
    training: Summary | None = None
    evaluation: Summary | None = None
    writeback: Summary | None = None
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
    progress: Progress = SILENT,
) -> DemoResult:
    """Run the pipeline end to end; ``settings`` None means the local server, started if needed."""
    phases = Phases()
    browser_url = None
    with phases("server"):
        if settings is None:
            started = start(progress=progress)  # says "Starting Neo4j..." only when it is not running yet
            settings, browser_url = resolve_settings(), started.browser_url
    folder = Path(folder)
    with phases("generate"):
        data_file, truth_file, ids = _generate(folder, rows, seed, progress)
    result = DemoResult(settings.uri, browser_url, str(folder), rows)
    with open_driver(settings) as driver, writer_lock(driver, settings, "demo", progress):
        if reset:
            progress.say(f"Emptying database {settings.database} (--reset)")
            with phases("reset"):
                reset_database(driver, settings)
        else:
            _require_only_demo_data(driver, settings, ids)
        _run_stages(driver, settings, result, data_file, truth_file, folder / "runs", epochs, phases, progress)
        result.customers = [
            recommend(driver, settings, customer_id, explain=True) for customer_id in sorted(ids)[:SHOWN_CUSTOMERS]
        ]
    if ids:
        result.browser_params = f":param customerId => '{min(ids)}'"  # shown to the user, never sent as a query
    result.browser_query = cypher.analyst_queries()["recommendations_for_customer"]
    result.seconds = phases.seconds(1)
    result.total = phases.total
    return result


def _generate(folder: Path, rows: int, seed: int, progress: Progress) -> tuple[Path, Path, list[str]]:
    """The demo's data and truth files; the generated customers' IDs."""
    folder.mkdir(parents=True, exist_ok=True)
    data_file, truth_file = folder / "transactions.csv", folder / "truth.json"
    progress.say(f"Generating {rows:,} transactions (seed {seed}) in {data_file}")
    generated = generator.generate(rows, seed=seed, truth=True)
    generator.write(generated, data_file, truth_file)
    return data_file, truth_file, list(generated.rows["Customer ID"].unique())


def _run_stages(
    driver: neo4j.Driver,
    settings: Settings,
    result: DemoResult,
    data_file: Path,
    truth_file: Path,
    runs: Path,
    epochs: int | None,
    phases: Phases,
    progress: Progress,
) -> None:
    """Ingest, train, evaluate and write back, each timed; their summaries go into ``result``."""
    from .gnn.evaluate import evaluate
    from .gnn.train import train
    from .loaders.ingest import ingest
    from .writeback import writeback

    with phases("ingest"):
        result.ingest = ingest(driver, settings, data_file, progress=progress)
    with phases("train"):
        result.training = train(
            driver, settings, TrainConfig.load(None, epochs=epochs), runs_dir=runs, progress=progress
        )
    progress.say("Evaluating against the baselines and the oracle")
    with phases("evaluate"):
        result.evaluation = evaluate(driver, settings, truth=truth_file, runs_dir=runs)
    with phases("writeback"):
        result.writeback = writeback(driver, settings, runs_dir=runs, progress=progress)


def _require_only_demo_data(driver: neo4j.Driver, settings: Settings, customer_ids: list[str]) -> None:
    """Refuse a database holding customers this demo did not generate: it would train on them too."""
    others = driver.execute_query(
        cypher.load("db/count_other_customers"), customerIds=customer_ids, database_=settings.database
    ).records[0]["others"]
    if others:
        raise TargetRefused(
            f"Database {settings.database} on {settings.uri} holds {others:,} customers that are not this demo's: "
            "run `wbgraph demo --reset` to empty it first (all of it), or point NEO4J_URI / --database elsewhere."
        )
