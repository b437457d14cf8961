"""``wbgraph train``: fit the graph-attention recommender on what is in Neo4j, save a run.

Export (:func:`wbgraph.gnn.data.prepare`), then the settings raced on validation
(:mod:`.race`), each trained epoch by epoch with early stopping (:mod:`.loop`) on the losses
of :mod:`.losses`, in full batch or customer batches (:mod:`.memory`); the chosen weights are
refitted, the test part scored once, and the run saved (:class:`wbgraph.runs.Run`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import neo4j
import numpy as np
import pandas as pd

from ..config import Settings, TrainConfig
from ..db import describe_interrupted, interrupted_ingests, read
from ..errors import QueryFailed
from ..progress import SILENT, Phases, Progress, Summary
from ..runs import CALIBRATION, FEATURES, TEST_CUSTOMERS, Run, environment
from ..runs.drift import profile
from .data import CUSTOMER_CATEGORIES, CUSTOMER_NUMBERS, Prepared, prepare
from .loop import Fitted, finish
from .race import select


@dataclass
class TrainResult(Summary):
    """What ``wbgraph train`` did: the run it saved and its validation and test figures."""

    run_id: str
    run_dir: str
    epochs: int
    best_epoch: int
    val: dict  # the chosen weights' (before the refit on training + validation)
    test: dict  # the saved model's: the refit's, unless --no-refit
    seconds: dict = field(default_factory=dict)  # export, train, perEpoch
    device: str = "cpu"
    batches: dict = field(default_factory=dict)  # customers per step (all of them: full batch), fanout, budget
    notes: list = field(default_factory=list)  # features the data has no value for, left out of the model
    warnings: list = field(default_factory=list)  # e.g. an interrupted ingest: aggregates may be stale
    refit_epochs: int = 0  # the refit on training + validation (0: none)
    protocol: dict = field(default_factory=dict)  # latest, or asof with its cutoff, horizon and windows
    tuning: list = field(default_factory=list)  # every setting tried on validation (--tune)
    chosen: dict = field(default_factory=dict)  # settings trained with: gatTask (gatPhases), hidden, lr, weightDecay


def train(
    driver: neo4j.Driver,
    settings: Settings,
    config: TrainConfig | None = None,
    runs_dir: str | Path | None = None,
    progress: Progress = SILENT,
    tuning: bool = False,
) -> TrainResult:
    """Export, split, train with early stopping, score the test set, save the run.

    ``tuning`` (``--tune``): the settings of :data:`~.race.TUNING_GRID` raced and judged on
    validation (:func:`~.race.select`, :func:`~.race.tune`), the winner refitted and saved with its settings.

    An interrupted ingest in the graph (:func:`wbgraph.db.interrupted_ingests`) is a warning,
    said before the export and kept in the result: the aggregates trained on may be stale.
    """
    config = config or TrainConfig()
    phases = Phases()
    unfinished = interrupted_ingests(driver, settings)
    warnings = [describe_interrupted(unfinished)] if unfinished else []
    for warning in warnings:  # said first: the user may rather stop and rerun that ingest
        progress.say(f"Warning: {warning}")
    with phases("export"):
        counts = read(driver, settings, "db/label_counts")[0].data()
        data = prepare(
            driver,
            settings,
            config.filters(),
            progress=progress,
            holdout_share=config.holdout_share,
            ignore=tuple(config.ignore),
            behaviour=tuple(config.behaviour),
        )
        if config.hard_negatives:  # the offers declined, each known from its decision on
            data.declined = declined_offers(driver, settings)
    with phases("train"):
        chosen, config, tried = select(data, config, progress, tuning)
        fitted = finish(data, config, chosen, progress)
    seconds = _seconds(phases, fitted, tried)
    now = datetime.now(UTC)
    metrics = _metrics(data, config, fitted, tried, seconds) | {"trainedAt": now.isoformat()}
    record = environment() | _record(data, config, settings, counts)
    artefacts = {FEATURES: feature_profile(data)}
    if fitted.calibrator is not None:
        artefacts[CALIBRATION] = fitted.calibrator.to_json()
    if fitted.per_customer is not None:
        artefacts[TEST_CUSTOMERS] = fitted.per_customer
    run = Run.create(
        runs_dir, Run.new_id(now, config.seed), fitted.model, data.encoders, config, metrics, record, artefacts
    )
    return TrainResult(
        run.id,
        str(run.folder),
        len(fitted.history),
        fitted.best_epoch,
        fitted.val,
        fitted.test,
        seconds,
        fitted.device,
        fitted.batches,
        data.encoders.notes(),
        warnings,
        fitted.refit_epochs,
        data.protocol,
        tried,
        {"gatTask": config.gat_task, "hidden": config.hidden, "lr": config.lr, "weightDecay": config.weight_decay}
        | ({"gatPhases": fitted.gat_phases} if fitted.gat_phases else {}),
    )


def feature_profile(data: Prepared) -> dict:
    """The profile (:func:`wbgraph.runs.drift.profile`) of the customers the model learned
    about: their attributes, as stored, and how many products each held at the test question,
    for ``runs compare``'s drift."""
    customers = data.customers()
    held = np.bincount(data.test.customer, minlength=data.n_customers)
    frame = customers.assign(productsHeld=held)
    numbers = [c for c in CUSTOMER_NUMBERS if c not in data.encoders.dropped] + ["productsHeld"]
    categories = [c for c in CUSTOMER_CATEGORIES if c not in data.encoders.dropped]
    return profile(frame, numbers, categories)


def declined_offers(driver: neo4j.Driver, settings: Settings) -> pd.DataFrame:
    """``customerId, productId, decided`` (epoch seconds) of every offer declined (``gnn/declined_offers``);
    an offer whose dates cannot be read stops training in one line (:class:`~wbgraph.errors.QueryFailed`)."""
    try:
        records = read(driver, settings, "gnn/declined_offers")
    except neo4j.exceptions.Neo4jError as e:
        raise QueryFailed(
            f"The declined offers cannot be read for --hard-negatives ({(e.message or str(e)).splitlines()[0]}): "
            "fix them with `wbgraph outcomes ingest`, or train without --hard-negatives."
        ) from None
    return pd.DataFrame([r.data() for r in records], columns=["customerId", "productId", "decided"])


def _seconds(phases: Phases, fitted: Fitted, tried: list) -> dict:
    """Export and training seconds, and the seconds an epoch over every epoch trained (the race's and the refit's)."""
    trained = [t["epochs"] for t in tried]  # the settings as given among them
    epochs = (sum(trained) if tried else len(fitted.history)) + fitted.refit_epochs
    return {"export": phases["export"], "train": phases["train"], "perEpoch": phases["train"] / epochs}


def _metrics(data: Prepared, config: TrainConfig, fitted: Fitted, tried: list, seconds: dict) -> dict:
    """``metrics.json``: how training went, its validation and test figures, every setting tried."""
    return {
        "split": sizes(data),
        "protocol": data.protocol,
        "bestEpoch": fitted.best_epoch,
        "partEpochs": fitted.part_epochs,
        "refitEpochs": fitted.refit_epochs,
        "testModel": (  # which model the test figures are of: the saved one
            "refit: the chosen epochs again on what the test question knows"
            if fitted.refit_epochs
            else "the weights validation chose"
        ),
        "val": fitted.val,
        "test": {"gat": fitted.test},
        "history": fitted.history,
        "tuning": tried,
        "gatTask": config.gat_task,
        "gatPhases": fitted.gat_phases,  # auto: the kept GAT weights' epochs on the hidden links, then the questions
        "temporalWindows": config.temporal_windows(len(data.history)) if config.gat_task != "mask" else 0,
        "seconds": seconds,
        "device": fitted.device,
        "batches": fitted.batches,
        "calibration": fitted.calibration,
        "hardNegatives": None if data.declined is None else len(data.declined),  # declines read (--hard-negatives)
    }


def _record(data: Prepared, config: TrainConfig, settings: Settings, counts: dict) -> dict:
    """``run.json``'s account of the data: the graph, what the model learned from, its window and fingerprint."""
    return {
        "graph": counts | {"database": settings.database, "uri": settings.uri},
        "learnedFrom": {
            "customers": data.n_customers,
            "products": data.n_products,
            "interactions": len(data.tables.interactions),
        },
        "window": window(data.tables.interactions, config),
        "fingerprint": fingerprint(data.tables.interactions),
    }


def fit(data: Prepared, config: TrainConfig, progress: Progress = SILENT) -> Fitted:
    """Train on prepared data (:func:`~.race.select`), then refit and score the test part (:func:`~.loop.finish`)."""
    chosen, config, _tried = select(data, config, progress)
    return finish(data, config, chosen, progress)


def sizes(data: Prepared) -> dict:
    """How many interactions the model learns from, and how many answers validation and test hold."""
    return {"train": len(data.val.rows), "val": len(data.val.answer_customer), "test": len(data.test.answer_customer)}


def window(interactions: pd.DataFrame, config: TrainConfig) -> dict:
    """The data window a run learned from: its first and last adoption dates and its filters."""
    first = pd.to_numeric(interactions["firstDate"], errors="coerce").min()
    last = pd.to_numeric(interactions["lastDate"], errors="coerce").max()
    day = lambda seconds: None if pd.isna(seconds) else datetime.fromtimestamp(seconds, UTC).date().isoformat()
    return {"first": day(first), "last": day(last)} | {k: v for k, v in config.filters().items() if v is not None}


def fingerprint(interactions: pd.DataFrame) -> str:
    """A hash of the customer -> product interactions a run learned from, independent of their
    order: two runs with the same fingerprint saw the same data."""
    import hashlib

    columns = [c for c in ("customerId", "productId", "transactionCount", "firstDate", "lastDate") if c in interactions]
    rows = np.sort(pd.util.hash_pandas_object(interactions[columns], index=False).to_numpy())
    return hashlib.sha256(rows.tobytes()).hexdigest()[:16]
