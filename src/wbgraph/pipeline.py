"""What ``wbgraph demo`` and ``wbgraph run`` chain.

``demo``: generate -> ingest -> train -> evaluate -> writeback -> recommend, on generated data.
``run``: ingest -> train -> evaluate with a gate -> writeback only when the gate passed, on
your data: the scheduled refresh.

Starts the local server unless another one is configured, generates a dataset with planted
structure (and the generator's truth, for the oracle rows) into its folder, ingests it, trains
(the run goes to the runs location, :func:`wbgraph.config.runs_location`, as for ``train``), evaluates
against the baselines and the oracle, writes the recommendations back and reads three
customers' recommendations with their reasons. Every step is one the CLI also offers on its
own; running the demo again is safe: the same seed gives the same rows, which the ingest
recognises, and the new run's recommendations replace the old ones. A database holding
other customers is refused (the model would train on them too) unless ``reset`` empties it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import neo4j

from . import cypher
from .config import Settings, TrainConfig, resolve_settings, runs_location
from .db import open_driver, read, writer_lock
from .db import reset as reset_database
from .errors import GateFailed, PipelineStopped, TargetRefused, WbgraphError
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
    runs_dir: str | Path | None = None,
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
        runs = runs_location(runs_dir)
        _run_stages(driver, settings, result, data_file, truth_file, runs, epochs, phases, progress)
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
        result.evaluation = evaluate(driver, settings, run=result.training.run_dir, truth=truth_file)
    with phases("writeback"):  # this run's, even where another run is promoted
        result.writeback = writeback(driver, settings, run=result.training.run_dir, progress=progress)


def _require_only_demo_data(driver: neo4j.Driver, settings: Settings, customer_ids: list[str]) -> None:
    """Refuse a database holding customers this demo did not generate: it would train on them too."""
    others = read(driver, settings, "db/count_other_customers", customerIds=customer_ids)[0]["others"]
    if others:
        raise TargetRefused(
            f"Database {settings.database} on {settings.uri} holds {others:,} customers that are not this demo's: "
            "run `wbgraph demo --reset` to empty it first (all of it), or point NEO4J_URI / --database elsewhere."
        )


STAGES = ("ingest", "train", "evaluate", "writeback")
DEFAULT_GATE = ("popularity",)


@dataclass
class RunResult(Summary):
    """What ``wbgraph run`` did: each stage's summary, where it stopped and why."""

    run_id: str | None = None  # the run written back (under asof: the one refitted on everything)
    stopped_at: str | None = None  # the stage that stopped the run; None: it went through
    error: str | None = None
    exit_code: int = 0
    promoted: bool = False
    ingest: Summary | None = None
    training: Summary | None = None
    evaluation: Summary | None = None
    refit: Summary | None = None  # asof: the model trained again up to the latest data, written back
    writeback: Summary | None = None
    seconds: dict = field(default_factory=dict)
    total: float = 0.0


def run(
    driver: neo4j.Driver,
    settings: Settings,
    files: Sequence[str | Path] = (),
    *,
    mapping: str | Path | None = None,
    hierarchy: str | Path | None = None,
    max_rejects: int | None = None,
    config: TrainConfig | None = None,
    require_beat: Sequence[str] | None = DEFAULT_GATE,
    metric: str = "recall@10",
    margin: float = 0.0,
    k: int = 10,
    top_k: int = 10,
    segments: int | str = "auto",
    rules: str | Path | None = "default",
    runs_dir: str | Path | None = None,
    progress: Progress = SILENT,
    max_churn: float | None = None,
) -> RunResult:
    """Ingest ``files`` and ``hierarchy`` (a file of who owns whom, as ``ingest --hierarchy``;
    none of either: train on what the graph holds), train, evaluate with the gate
    (``require_beat``: the model must beat these baselines on ``metric`` by ``margin``, with
    evidence; None or empty: no gate), and write back only when the gate passed.

    Under the as-of protocol (``config.protocol``) the evaluation is a backtest: trained at
    the cutoff (default: one horizon before the day after the latest transaction) and tested
    on the horizon after it; when the gate passes, the model is trained again as of the day
    after the latest transaction (validated on the last horizon, which the backtest tested
    on) and that model is written back, with the backtest's evaluation as its evidence.

    The whole run holds the database's writer lock, so two scheduled refreshes never
    overlap and no ingest or writeback runs in between. A stage that fails stops the run
    with :class:`PipelineStopped`, which carries the result so far (``stopped_at``,
    ``error``) and the failing stage's exit status: 10 when the gate failed, so nothing was
    written back. When a run was promoted before, the run written back is promoted in its
    place, so the promoted run stays the one whose recommendations are in the graph. The
    writeback compares its sets with those in the graph (the summary's ``writeback.churn``);
    ``max_churn`` X stops the run there (exit 20) when their mean overlap is below 1 - X.
    """
    from .gnn.evaluate import check_gate
    from .gnn.train import train
    from .loaders.ingest import ingest

    gate = list(require_beat or [])
    check_gate(gate, metric, margin, k=k)  # a bad gate fails before anything is written
    config = config or TrainConfig()
    result, phases = RunResult(), Phases()
    stage = "lock"
    try:
        with writer_lock(driver, settings, "run", progress):
            if files or hierarchy:
                stage = "ingest"
                with phases(stage):
                    inputs = dict(hierarchy=hierarchy, mapping=mapping, max_rejects=max_rejects)
                    result.ingest = ingest(driver, settings, list(files), progress=progress, **inputs)
            stage = "train"
            with phases(stage):
                result.training = train(driver, settings, config, runs_dir=runs_dir, progress=progress)
            result.run_id = result.training.run_id
            stage = "evaluate"
            with phases(stage):
                result.evaluation = _evaluate(
                    driver, settings, result.training, gate, runs_dir, progress, metric, margin, k
                )
            written = result.training
            if config.protocol == "asof":
                stage = "refit"
                with phases(stage):
                    written = result.refit = _refit_to_now(driver, settings, config, result, runs_dir, progress)
            result.run_id = written.run_id
            stage = "writeback"
            with phases(stage):
                options = dict(top_k=top_k, segments=segments, rules=rules, churn=True, max_churn=max_churn)
                _write_back(driver, settings, written, result, runs_dir, progress, **options)
    except WbgraphError as e:
        result.stopped_at, result.error, result.exit_code = stage, str(e), e.exit_code
    result.seconds, result.total = phases.seconds(1), phases.total
    if result.stopped_at:
        raise PipelineStopped(result)
    return result


def _evaluate(
    driver: neo4j.Driver,
    settings: Settings,
    trained: Summary,
    gate: list[str],
    runs_dir: str | Path | None,
    progress: Progress,
    metric: str,
    margin: float,
    k: int,
) -> Summary:
    """The trained run against the baselines; :class:`GateFailed` when it did not beat the ``gate``'s."""
    from .gnn.evaluate import evaluate, gate_message

    progress.say("Evaluating against the baselines" + (f", gate: beat {', '.join(gate)}" if gate else ""))
    evaluation = evaluate(
        driver, settings, run=trained.run_dir, require_beat=gate, metric=metric, margin=margin, k=k, runs_dir=runs_dir
    )
    if evaluation.gate and not evaluation.gate["passed"]:
        raise GateFailed(gate_message(evaluation) + " Nothing was written back.")
    return evaluation


def _write_back(
    driver: neo4j.Driver,
    settings: Settings,
    written: Summary,
    result: RunResult,
    runs_dir: str | Path | None,
    progress: Progress,
    **options: object,
) -> None:
    """Write the run back (``options``: top_k, segments, rules); when a run was promoted
    before, promote this one in its place, so the promoted run stays the one in the graph."""
    from .runs import Run, promote
    from .writeback import writeback

    had_promoted = Run.promoted(runs_dir) is not None
    result.writeback = writeback(
        driver, settings, run=written.run_dir, runs_dir=runs_dir, progress=progress, require_evaluated=True, **options
    )
    if had_promoted:
        promote(written.run_dir, runs_dir)
        result.promoted = True


def _refit_to_now(
    driver: neo4j.Driver,
    settings: Settings,
    config: TrainConfig,
    result: RunResult,
    runs_dir: str | Path | None,
    progress: Progress,
) -> Summary:
    """The as-of model trained again with everything up to the latest transaction; the backtest's
    evaluation (its figures and gate) is kept in its folder as the evidence it was written back on."""
    from dataclasses import replace

    from .gnn.export import latest_cutoff
    from .gnn.train import train
    from .runs import Run

    cutoff = latest_cutoff(driver, settings, config.since)
    progress.say(f"Training again as of {cutoff}, with everything up to the latest transaction")
    trained = train(driver, settings, replace(config, cutoff=cutoff), runs_dir=runs_dir, progress=progress)
    evidence = result.evaluation.to_json() | {
        "evaluatedRun": result.training.run_id,
        "note": f"The backtest of run {result.training.run_id}; this model was trained again as of {cutoff}.",
    }
    Run.open(trained.run_dir, runs_dir).save_evaluation(evidence)
    return trained
