"""``wbgraph train``: fit the graph-attention recommender on what is in Neo4j, save a run.

Training is full-batch when the graph fits the memory budget (every epoch encodes the whole
graph once), else in customer batches (:func:`plan_batches`, :func:`batch_subgraph`). Each
epoch a random ``supervision_ratio`` of the training interactions is hidden from message passing and used
as positives, so the model learns to predict links it cannot see rather than to echo the
ones it can. The loss (``TrainConfig.loss``) is by default the likelihood of the hidden
interactions under one softmax per customer over every product it does not visibly hold
(:func:`multinomial_loss`), or BPR against one random product. Validation NDCG@10 (the
validation part of the split) is measured every epoch; training stops after ``patience``
epochs without improvement, or a quarter of the epochs so far when that is more (full-batch
training has plateaus that grow with its length), and keeps the best weights.
Full-batch memory grows with customers x products (the softmax) plus interactions x hidden
(attention): measured peak RSS 2.3 GB for 50,000 customers x 60 products; in batches of at
most 16,384 customers, 5.1 GB for 200,000 x 1,000 (both with about 1 GB of PyTorch itself).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import neo4j
import numpy as np
import pandas as pd
import torch
from torch_geometric.data import HeteroData

from .. import cypher
from ..config import Settings, TrainConfig, parse_size
from ..db import describe_interrupted, interrupted_ingests
from ..progress import SILENT, Phases, Progress, Summary, Update, camel
from ..runs import Run, environment
from .data import REV_USES, USES, Prepared, Stage, prepare
from .metrics import Answered, RankedRows
from .model import CO_ADOPTED, HeteroGATRecommender, bpr_loss, channel_share, mixed, rows_of


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
    tuning: list = field(default_factory=list)  # every setting tried on validation (gat_task auto, --tune)
    chosen: dict = field(default_factory=dict)  # the settings trained with: gatTask, hidden, lr, weightDecay


@dataclass
class Fitted:
    """A trained model and how training went."""

    model: HeteroGATRecommender
    history: list
    best_epoch: int
    val: dict
    test: dict
    device: str
    batches: dict = field(default_factory=dict)  # customers per step, fanout, memory budget
    refit_epochs: int = 0  # epochs of the refit on training + validation (0: the chosen weights as they were)
    part_epochs: dict = field(default_factory=dict)  # each part's best epoch on its own validation curve


def pick_device(name: str) -> torch.device:
    """``auto``: the GPU when there is one."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def train(
    driver: neo4j.Driver,
    settings: Settings,
    config: TrainConfig | None = None,
    runs_dir: str | Path | None = None,
    progress: Progress = SILENT,
    tuning: bool = False,
) -> TrainResult:
    """Export, split, train with early stopping, score the test set, save the run.

    ``tuning`` (``--tune``): the settings of :data:`TUNING_GRID` raced and judged on
    validation (:func:`select`, :func:`tune`), the winner refitted and saved with its settings (and, with
    ``gat_task = "auto"``, the task chosen the same way first).

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
        counts = driver.execute_query(cypher.load("db/label_counts"), database_=settings.database).records[0].data()
        data = prepare(
            driver,
            settings,
            config.filters(),
            progress=progress,
            holdout_share=config.holdout_share,
            ignore=tuple(config.ignore),
            behaviour=tuple(config.behaviour),
        )
    with phases("train"):
        chosen, config, tried = select(data, config, progress, tuning)
        fitted = finish(data, config, chosen, progress)
    tasks_raced = any("gatTask" in t for t in tried)  # then the settings as given are counted there already
    trained = [t["epochs"] for t in tried if not (t.get("given") and tasks_raced)]
    epochs = (sum(trained) if tried else len(fitted.history)) + fitted.refit_epochs
    seconds = {"export": phases["export"], "train": phases["train"], "perEpoch": phases["train"] / epochs}
    now = datetime.now(UTC)
    metrics = {
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
        "temporalWindows": temporal_windows(data, config) if config.gat_task != "mask" else 0,
        "seconds": seconds,
        "device": fitted.device,
        "batches": fitted.batches,
        "trainedAt": now.isoformat(),
    }
    record = environment() | {
        "graph": counts | {"database": settings.database, "uri": settings.uri},
        "learnedFrom": {
            "customers": data.n_customers,
            "products": data.n_products,
            "interactions": len(data.tables.interactions),
        },
        "window": window(data.tables.interactions, config),
        "fingerprint": fingerprint(data.tables.interactions),
    }
    run = Run.create(runs_dir, Run.new_id(now, config.seed), fitted.model, data.encoders, config, metrics, record)
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
        {"gatTask": config.gat_task, "hidden": config.hidden, "lr": config.lr, "weightDecay": config.weight_decay},
    )


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


PARTS = ("gat", "channel")  # the order of a mix's weights
ALONE = ((1.0, 0.0), (0.0, 1.0))  # each part alone: scored every epoch, each part's own curve
MIXES = ((1.0, 0.0), (1.0, 0.5), (1.0, 1.0), (1.0, 2.0), (0.0, 1.0))  # (GAT part, item channel)


class EarlyStopping:
    """Each part's own validation curve: its best figure, epoch and weights, and when all have stopped.

    The GAT part and the item channel share no weight (:func:`~wbgraph.gnn.model.part_of`),
    so each keeps the weights of its own best epoch: the channel, quick to learn, no longer
    decides when the slower GAT part stops (on ml-latest-small it stopped the GAT at epoch 26,
    its kept weights after 6 optimiser steps). A part has stopped when it has not improved for
    :func:`patience_at` epochs; training ends when every part has. A stopped part trains on
    while the other finishes, and may still improve: on the bank's month (seed 2) the channel
    found its best epoch (60) after its patience had run out, which validation then mixed in
    (freezing it at its first stop saved ~14 s there and lost that, so it is not done).
    """

    def __init__(self, patience: int):
        self.patience = patience
        self.best: dict[str, float] = {}
        self.epoch: dict[str, int] = {}
        self.state: dict[str, dict] = {}

    def update(self, epoch: int, alone: dict, model: HeteroGATRecommender) -> None:
        """Record ``epoch``'s figure of each part alone (``alone``), keeping a part's weights when it is its best."""
        for part, figure in alone.items():
            if figure > self.best.get(part, -1.0):
                self.best[part], self.epoch[part], self.state[part] = figure, epoch, model.part_state(part)

    def done(self, epoch: int) -> bool:
        """Every part has gone :func:`patience_at` epochs without improving."""
        return all(epoch - best >= patience_at(epoch, self.patience) for best in self.epoch.values())

    def restore(self, model: HeteroGATRecommender) -> None:
        """Each part's best weights into ``model``."""
        for state in self.state.values():
            model.load_state_dict(state, strict=False)


def fit(data: Prepared, config: TrainConfig, progress: Progress = SILENT) -> Fitted:
    """Train on prepared data (:func:`select`), then refit and score the test part (:func:`finish`)."""
    chosen, config, _tried = select(data, config, progress)
    return finish(data, config, chosen, progress)


def choose(data: Prepared, config: TrainConfig, progress: Progress = SILENT) -> Fitted:
    """Train with early stopping on validation NDCG@10; the chosen weights and mix, no test figures yet.

    With the item channel, each epoch also fits it to predict each customer's latest
    training interactions from its earlier ones, under the as-of protocol the last training
    window's new adoptions (the channel's EASE weights are fitted on what was known before,
    so it cannot read the answer). Each part stops on its own validation curve and keeps its
    own best weights (:class:`EarlyStopping`); then validation chooses the mix of the two
    from :data:`MIXES`.

    When the whole graph at once would not fit ``config.memory_budget`` (:func:`plan_batches`),
    or ``config.batch_customers`` asks for it, an epoch is a pass over customer batches
    instead of one full-batch step, validation and test are scored a batch of customers at a
    time, and each epoch's figures are taken on a fixed random :data:`VALIDATION_CUSTOMERS`
    of the validation customers (the validation figures reported are over all of them).
    """
    training = Training(data, config)
    if not training.batches.full:
        progress.say(f"Training in batches of {training.batches.customers:,} customers: {training.batches.reason}")
    with progress.task("Training", "epochs") as update:
        training.advance(config.epochs, update)
    return training.result()


class Training:
    """One setting's training that chooses (:func:`choose`), an epoch at a time.

    It keeps its own random state between calls to :meth:`advance`, so a training paused
    (while :func:`tune` trains other settings) and taken up again goes exactly as it would
    have straight through: the settings a race keeps have the figures they would have had alone.
    """

    def __init__(self, data: Prepared, config: TrainConfig, shared: dict | None = None):
        if config.gat_task == "auto":
            raise ValueError("choose() trains one GAT task: select() chooses between them for gat_task 'auto'")
        torch.manual_seed(config.seed)
        torch.use_deterministic_algorithms(True, warn_only=True)
        self.config = config
        self.device = device = pick_device(config.device)
        self.model = HeteroGATRecommender.for_graph(data.train_graph, config).to(device)
        self.graph = data.train_graph.to(device)
        self.optimiser = torch.optim.Adam(self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.generator = torch.Generator(device="cpu").manual_seed(config.seed)
        self.train_c = torch.as_tensor(data.val.customer, device=device)
        self.train_p = torch.as_tensor(data.val.product, device=device)
        self.known = data.val.held()  # on the CPU, where validation ranks it: moved once, not every epoch
        self.held = self.known.to(device)
        self.val_relevant = data.val.answers()
        wanted = self.model.channel or config.gat_task != "mask"
        self.questions = questions_of(data, config, device, shared) if wanted else []  # oldest first
        self.question = self.questions[-1] if wanted else None  # the latest: the item channel's task
        self.batches = plan_batches(data, config)
        self.choose_on = self.val_relevant
        if not self.batches.full:
            self.choose_on = sample_rows(self.val_relevant, VALIDATION_CUSTOMERS, config.seed)
        self.history: list[dict] = []
        self.stopping = EarlyStopping(config.patience)
        self.finished = False  # every part has stopped, or config.epochs are done
        self._random = _random_state(device)

    @property
    def epoch(self) -> int:
        """Epochs trained so far."""
        return len(self.history)

    def advance(self, until: int, update: Update = lambda done, total: None) -> None:
        """Train up to epoch ``until``, or less when every part stops first (``finished``)."""
        _set_random_state(self._random, self.device)
        config = self.config
        while not self.finished and self.epoch < min(until, config.epochs):
            epoch = self.epoch + 1
            loss = _epoch(
                self.model,
                self.graph,
                config,
                self.batches,
                self.optimiser,
                self.train_c,
                self.train_p,
                self.held,
                self.generator,
                self.question,
                temporal=_in_turn(self.questions, epoch),
            )
            val, mix, alone = _validate(self.model, self.graph, self.choose_on, self.known, self.batches.customers)
            self.history.append(
                {"epoch": epoch, "loss": loss, "val_ndcg@10": val["ndcg@10"], "mix": list(mix), "alone": alone}
            )
            update(epoch, config.epochs)
            self.stopping.update(epoch, alone, self.model)
            self.finished = self.stopping.done(epoch) or epoch == config.epochs
        self._random = _random_state(self.device)

    def result(self) -> Fitted:
        """Each part's best weights, the mix validation chooses for them, and their validation figures."""
        model, graph, held = self.model, self.graph, self.known
        self.stopping.restore(model)
        _val, mix, _alone = _validate(model, graph, self.choose_on, held, self.batches.customers)
        model.mix = torch.tensor(mix, device=self.device)
        val = _scored(model, graph, self.val_relevant, held, self.batches.customers)
        best = max(self.stopping.epoch.values())
        return Fitted(
            model, self.history, best, val, {}, str(self.device), self.batches.describe(), 0, dict(self.stopping.epoch)
        )


def _random_state(device: torch.device) -> tuple:
    """The global random state training draws from (dropout): the CPU's, and the GPU's when training there."""
    return torch.get_rng_state(), torch.cuda.get_rng_state(device) if device.type == "cuda" else None


def _set_random_state(state: tuple, device: torch.device) -> None:
    """Put back a state :func:`_random_state` took."""
    torch.set_rng_state(state[0])
    if state[1] is not None:
        torch.cuda.set_rng_state(state[1], device)


def finish(data: Prepared, config: TrainConfig, chosen: Fitted, progress: Progress = SILENT) -> Fitted:
    """The model to save, and its test figures: with ``config.refit`` the refit (:func:`_refit`) of
    what :func:`choose` chose, else the chosen weights as they are.

    A part the mix leaves out (weight 0) is not refitted: it keeps its chosen weights, so its
    row alone in ``evaluate`` is what validation saw, and the refit costs only the epochs of
    the parts that score (on MovieLens the channel's 6, not the unused GAT part's 52).
    """
    device, batches, model = pick_device(config.device), plan_batches(data, config), chosen.model
    used = {p: e for p, e in chosen.part_epochs.items() if float(model.mix[PARTS.index(p)]) != 0}
    refit_epochs = max(used.values()) if config.refit else 0
    if config.refit:
        model = _refit(data, config, used, model.mix, device, batches, progress)
        for part in chosen.part_epochs.keys() - used.keys():  # left out of the mix: not refitted, kept as chosen
            model.load_state_dict(chosen.model.part_state(part), strict=False)
    test_graph = data.test_graph.to(device)
    test_relevant, known = data.test.answers(), data.test.held()
    test = _scored(model, test_graph, test_relevant, known, batches.customers, parts=model.channel)
    return dataclasses.replace(chosen, model=model, test=test, refit_epochs=refit_epochs)


GAT_TASKS = {"gat_task": ("mask", "temporal")}  # gat_task "auto": the two raced, the better on validation kept
# the task race leaves a task behind only when it trails by more than this on the best mix or the GAT part
# alone: on generated data as of 2025-10-01 the two curves cross after 150 epochs (the 20th's leader lost on
# two seeds of three); 5% was the least of 0, 2.5, 5 and 10% that kept the right task on all 12 curves
TASK_MARGIN = 0.05
TUNING_GRID = {"hidden": (32, 64, 128), "lr": (0.003, 0.01), "weight_decay": (0.0, 1e-4)}  # --tune


def select(
    data: Prepared, config: TrainConfig, progress: Progress = SILENT, tuning: bool = False
) -> tuple[Fitted, TrainConfig, list]:
    """The chosen weights (for :func:`finish`), the config that made them, and every setting tried.

    ``gat_task = "auto"``: the GAT part's task first, :data:`GAT_TASKS` raced at the given
    settings; then, with ``tuning``, :data:`TUNING_GRID` raced with the task chosen, the
    settings as given (trained to the end by then) in the race too (:func:`tune`).
    """
    tried, chosen = [], None
    if config.gat_task == "auto":
        chosen, config, tried = tune(data, config, GAT_TASKS, progress, margin=TASK_MARGIN)
    if tuning:
        given = chosen or choose(data, config, progress)
        chosen, config, grid = tune(data, config, TUNING_GRID, progress, given)
        tried += grid
    return chosen or choose(data, config, progress), config, tried


def tune(
    data: Prepared,
    config: TrainConfig,
    grid: dict,
    progress: Progress = SILENT,
    given: Fitted | None = None,
    margin: float = 0.0,
) -> tuple[Fitted, TrainConfig, list]:
    """The settings of ``grid`` (each name's values crossed) raced on validation alone.

    Successive halving: every setting trains ``config.patience`` epochs (no setting is left
    behind before its own early stopping would judge it), then the better half of them
    (:func:`standing`: the best validation NDCG@10 of an epoch so far, ties to the better GAT
    part alone, then to the earlier in the grid) goes on twice as far, and so on until one is
    left, which trains to its own early stop. A setting within ``margin`` (relative) of the
    leader on both figures goes on too: too close to tell apart yet. Each setting has its own early stopping and
    random state on the same prepared data (one export), so the one kept ends with the
    figures it would have had trained alone; a setting that stops on its own before a rung
    stays in the race with what it has. ``given``: the settings as given (``config``'s),
    already trained to the end, race as the first setting (``"given": true``), so tuning
    never ends below them on validation. The winner is the best on validation of those still
    in the race at the end. Returns its chosen weights, its config and every setting with
    its validation figures (``metrics.json`` ``tuning``; one left behind has ``leftAt``, the
    epoch, and ``val`` its best epoch's NDCG@10 so far); the test part is scored once, for
    the winner, by :func:`finish`.
    """
    names = list(grid)
    settings = [dict(zip(names, values)) for values in itertools.product(*grid.values())]
    runs: list = []
    if given is not None:
        as_given = {name: getattr(config, name) for name in names}
        settings = [as_given] + [setting for setting in settings if setting != as_given]
        runs.append(_Trained(given))
    shared: dict = {}  # the earlier questions' graphs, built once for every setting
    for setting in settings[len(runs) :]:
        runs.append(Training(data, dataclasses.replace(config, **setting), shared))
    racing, until, left = list(range(len(runs))), config.patience, {}
    while True:
        for number in racing:
            if not runs[number].finished:
                label = ", ".join(f"{k} {v}" for k, v in settings[number].items())
                with progress.task(f"Trying {number + 1}/{len(runs)}: {label}", "epochs") as update:
                    runs[number].advance(until, update)
        if len(racing) == 1 or all(runs[n].finished for n in racing):
            break
        standings = {n: standing(runs[n].history) for n in racing}
        ahead = sorted(racing, key=lambda n: standings[n], reverse=True)[: (len(racing) + 1) // 2]
        lead = max(standings.values())  # within margin of it on both figures: too close to tell yet
        ahead += [n for n in racing if all(mine >= best * (1 - margin) for mine, best in zip(standings[n], lead))]
        ahead = sorted(set(ahead))
        for number in set(racing) - set(ahead):  # left behind: its figures so far kept, its weights let go
            run, runs[number] = runs[number], None
            left[number] = {"val": {"ndcg@10": standings[number][0]}, "epochs": run.epoch, "leftAt": run.epoch}
        racing, until = ahead, config.epochs if len(ahead) == 1 else until * 2
    results = {n: runs[n].result() for n in racing}
    winner = max(racing, key=lambda n: (results[n].val["ndcg@10"], -n))
    tried = []
    for number, setting in enumerate(settings):
        named = {camel(k): v for k, v in setting.items()} | ({"given": True} if given and number == 0 else {})
        if number in left:
            tried.append(named | left[number])
        else:
            fitted = results[number]
            epochs = len(fitted.history)
            tried.append(named | {"val": _headline(fitted.val), "epochs": epochs, "partEpochs": fitted.part_epochs})
    chosen = dataclasses.replace(config, **settings[winner])
    return results[winner], chosen, tried


def standing(history: list[dict]) -> tuple[float, float]:
    """Where a training stands in a race (:func:`tune`): its best validation NDCG@10 of an epoch
    so far, then its GAT part's best alone (-1 before the first epoch).

    Early on the item channel alone is often the best mix of every setting (MovieLens,
    generated data: the same figure to the last digit for both GAT tasks, whose channels
    train alike); the GAT part, what a task changes, then tells them apart.
    """
    best = max((h["val_ndcg@10"] for h in history), default=-1.0)
    return best, max((h["alone"]["gat"] for h in history), default=-1.0)


class _Trained:
    """A setting already trained to its end (the settings as given), as it stands in a race."""

    finished = True

    def __init__(self, fitted: Fitted):
        self.fitted, self.history = fitted, fitted.history

    @property
    def epoch(self) -> int:
        return len(self.history)

    def result(self) -> Fitted:
        return self.fitted


def _refit(
    data: Prepared,
    config: TrainConfig,
    epochs: dict,
    mix: torch.Tensor,
    device: torch.device,
    batches: Batches,
    progress: Progress,
) -> HeteroGATRecommender:
    """The model again from the same start, on the training and validation interactions both,
    each part for the ``epochs`` validation chose for it, with the mix validation chose: the final weights.

    Validation has made every choice by then; what it held out is data the deployed model
    should learn from, as the test-time graph already shows it (each customer's latest
    adoptions are the most telling of what comes next), as the baselines' test scores are
    fitted on both. On the generator's data (50k rows, seed 1, five seeds) it raised test
    recall@10 from 0.888-0.899 to 0.903-0.913 of the oracle's; one level down (the test part
    dropped, the validation part the refit's test) recall@10 rose by 0.005-0.020 too.
    The parts train together (they share no weight) and each is kept at its own epoch count.
    """
    torch.manual_seed(config.seed)
    model = HeteroGATRecommender.for_graph(data.test_graph, config).to(device)
    graph = data.test_graph.to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator(device="cpu").manual_seed(config.seed)
    train_c = torch.as_tensor(data.test.customer, device=device)
    train_p = torch.as_tensor(data.test.product, device=device)
    held = data.test.held().to(device)
    wanted = model.channel or config.gat_task != "mask"
    asked = [*data.history, data.refit][-temporal_windows(data, config) :]  # as many as chose, one window later
    questions = [_Question(data, task, device) for task in asked] if wanted else []
    channel = questions[-1] if wanted else None
    kept, last = {}, max(epochs.values())
    with progress.task("Refitting on training + validation", "epochs") as update:
        for epoch in range(1, last + 1):
            done = set(kept) | (set(PARTS) - set(epochs))  # past its count, or left out of the mix: no loss
            temporal = _in_turn(questions, epoch)
            _epoch(model, graph, config, batches, optimiser, train_c, train_p, held, generator, channel, done, temporal)
            kept |= {part: model.part_state(part) for part, at in epochs.items() if at == epoch}
            update(epoch, last)
    for state in kept.values():
        model.load_state_dict(state, strict=False)
    model.mix = mix.to(device)
    model.eval()
    return model


def _epoch(
    model: HeteroGATRecommender,
    graph,
    config: TrainConfig,
    batches: Batches,
    optimiser: torch.optim.Optimizer,
    train_c: torch.Tensor,
    train_p: torch.Tensor,
    held: torch.Tensor,
    generator: torch.Generator,
    channel: _Question | None,
    frozen: set[str] = frozenset(),
    temporal: _Question | None = None,
) -> float:
    """One training epoch, full batch or in customer batches: a random ``supervision_ratio`` of
    the interactions hidden and predicted; the loss. A ``frozen`` part (``"gat"``, ``"channel"``;
    the refit's, past its own epoch count) has no loss, so its weights stay as they are (the
    parts share none). ``channel``: the item channel's question; ``temporal``: the GAT part's
    (``gat_task`` temporal or both; default ``channel``'s)."""
    model.train()
    temporal = temporal or channel
    supervised = (torch.rand(len(train_c), generator=generator) < config.supervision_ratio).to(train_c.device)
    if not batches.full:
        return _batch_epoch(
            model,
            graph,
            config,
            batches,
            optimiser,
            train_c,
            train_p,
            supervised,
            held,
            generator,
            channel,
            frozen,
            temporal,
        )
    loss = 0.0
    if config.gat_task != "temporal" and "gat" not in frozen:
        loss = _loss(model, graph, config, train_c, train_p, supervised, held, generator, held.shape[1])
    if config.gat_task != "mask" and "gat" not in frozen:
        loss = loss + temporal.gat_loss(model)
    if model.channel and "channel" not in frozen:
        loss = loss + channel.loss(model, held)
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
    return loss.item()


@dataclass
class Batches:
    """How training takes the graph: all customers in one step, or ``customers`` per step.

    ``fanout``: in a batch step, each product (and context node) hears at most about this
    many of its customers, drawn afresh each step (a customer in the batch hears all of
    its own products: with one attention round its representation is exact).
    """

    customers: int
    total: int  # customers in the graph
    fanout: int
    budget: int  # bytes
    estimate: int  # bytes the whole graph at once would need
    reason: str = ""

    @property
    def full(self) -> bool:
        """One full-batch step an epoch: the whole graph fits the budget."""
        return not self.reason

    def describe(self) -> dict:
        return {
            "customers": self.total,
            "fullBatch": self.full,
            "customersPerStep": self.customers,
            "fanout": self.fanout,
            "memoryBudget": self.budget,
            "estimate": self.estimate,
        }


BYTES_PER_SCORE = 48  # float32 scores x the copies the two softmax losses and their gradients hold at once
BYTES_PER_EDGE_UNIT = 24  # float32 x the per-edge tensors GATv2 keeps for its gradient, per hidden unit
# and on an interaction edge with the evidence term (EvidenceGATv2Conv): its gathered query, key and
# value; measured at 50,000 x 60, full batch: 0.53 GB more than plain GATv2 over 509k such edges x 64
BYTES_PER_EVIDENCE_UNIT = 16


def plan_batches(data: Prepared, config: TrainConfig) -> Batches:
    """Full batch when the whole graph fits ``config.memory_budget``, else the batch size that does.

    ``config.batch_customers`` (when not 0) caps the customers a step whether or not the
    graph fits: an epoch is then several optimiser steps, each over its customers' sub-graph
    with ``fanout`` sampled customers per product, as when memory forces batches.

    The estimate: one float32 score per customer x product times :data:`BYTES_PER_SCORE`
    (the softmax loss and the item channel score every customer against every product),
    plus one attention message per edge and hidden unit times :data:`BYTES_PER_EDGE_UNIT`
    (GATv2 keeps several per-edge tensors for its gradient), and on the interaction edges
    :data:`BYTES_PER_EVIDENCE_UNIT` more with the evidence term. Measured (plain GATv2): at
    50,000 x 60 the estimate was 1.4 GB and full-batch training added 1.2 GB to the 1.1 GB
    already held (with evidence: 1.9 GB estimated, 1.7 GB added); at 200,000 x 1,000 it was
    14.6 GB, and with a 4 GB budget training added 3.9 GB to 1.8 GB.
    A step holds at most :data:`MAX_BATCH` customers whatever the budget allows. Outside the
    budget: PyTorch itself, three boolean customer x product matrices (held, and the
    validation and test answers, one byte a cell), the no-gradient encoding of the
    sub-graph validation needs, and the graphs of the earlier questions training learns
    (one, or with ``gat_task`` temporal or both one per window, ``windows`` at most).
    """
    budget = parse_size(config.memory_budget) if config.memory_budget else default_budget(pick_device(config.device))
    n_c, n_p = data.n_customers, data.n_products
    graph = data.train_graph
    passing = [et for et in graph.edge_types if et != CO_ADOPTED]

    def per_edge(et: tuple) -> int:
        evidence = config.evidence and et in (USES, REV_USES)
        return config.hidden * (BYTES_PER_EDGE_UNIT + (BYTES_PER_EVIDENCE_UNIT if evidence else 0))

    estimate = n_c * n_p * BYTES_PER_SCORE + sum(graph[et].num_edges * per_edge(et) for et in passing)
    asked = config.batch_customers
    if estimate <= budget:
        if 0 < asked < n_c:
            return Batches(asked, n_c, config.fanout, budget, estimate, f"batch_customers asks for {asked:,} a step")
        return Batches(n_c, n_c, config.fanout, budget, estimate)
    # a step: its customers' scores and edges, plus each product's sampled customers
    fixed = sum(
        min(graph[et].num_edges, graph[et[2]].num_nodes * config.fanout) * per_edge(et)
        for et in passing
        if et[2] != "customer"
    )
    into_customers = sum(graph[et].num_edges * per_edge(et) for et in passing if et[2] == "customer")
    per_customer = n_p * BYTES_PER_SCORE + into_customers / max(n_c, 1)
    room = budget - fixed
    customers = int(min(n_c, MAX_BATCH, max(MIN_BATCH, room // per_customer), asked or n_c))
    reason = (
        f"the whole graph at once needs about {estimate / 1e9:.1f} GB, over the "
        f"{budget / 1e9:.1f} GB memory budget (--memory-budget)"
    )
    return Batches(customers, n_c, config.fanout, budget, estimate, reason)


MIN_BATCH = 32
# at most this many customers a step, for learning rather than memory: at 10M rows (200k customers)
# 118,892 a step (two steps an epoch) left the graph part behind the item channel for 30 epochs;
# 16,384 (13 steps) passed it at epoch 25 and reached test NDCG@10 0.2452 (EASE 0.2253) by epoch 30
MAX_BATCH = 16_384
VALIDATION_CUSTOMERS = 20_000  # in customer batches: the validation customers each epoch is judged on


def sample_rows(relevant: torch.Tensor, most: int, seed: int) -> torch.Tensor:
    """``relevant`` with only a seeded random ``most`` of its rows that have anything relevant left."""
    rows = torch.nonzero(relevant.any(1)).flatten()
    if len(rows) <= most:
        return relevant
    chosen = rows[torch.randperm(len(rows), generator=torch.Generator().manual_seed(seed))[:most]]
    out = torch.zeros_like(relevant)
    out[chosen] = relevant[chosen]
    return out


def default_budget(device: torch.device) -> int:
    """Half the memory free where training runs: the GPU's own on CUDA, else the machine's."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return free // 2
    return available_memory() // 2


def available_memory() -> int:
    """Bytes of memory available now (``MemAvailable``), else the machine's physical memory."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def _batch_epoch(
    model: HeteroGATRecommender,
    graph,
    config: TrainConfig,
    batches: Batches,
    optimiser: torch.optim.Optimizer,
    train_c: torch.Tensor,
    train_p: torch.Tensor,
    supervised: torch.Tensor,
    held: torch.Tensor,
    generator: torch.Generator,
    channel: _Question | None,
    frozen: set[str],
    temporal: _Question | None,
) -> float:
    """One pass over the customers with hidden interactions, ``batches.customers`` per step; the mean loss.

    A step's message passing: every edge into its customers (minus the hidden ones), and
    for every other node about ``fanout`` of its incoming edges drawn at random
    (:func:`batch_subgraph`); its loss: full batch's (``config.loss``), over its customers.
    """
    device = train_c.device
    targets = torch.unique(train_c[supervised])
    order = targets[torch.randperm(len(targets), generator=generator).to(device)]
    hidden = torch.stack([train_c[supervised], train_p[supervised]])
    losses, weights = [], []
    for customers in order.split(batches.customers):
        # a frozen GAT part is still computed here: skipping it would change the random draws the
        # batch order and the channel's steps follow (the refit restores its kept weights anyway)
        x_dict, edge_index, edge_attr = batch_subgraph(graph, supervised, customers, batches.fanout, generator)
        h = model.encode(x_dict, edge_index, edge_attr)
        _, (c, p) = rows_of(hidden, customers, graph["customer"].num_nodes)  # its hidden pairs, rows renumbered
        mine_h = h["customer"][: len(customers)]
        if config.loss == "softmax":
            loss = multinomial_loss(model.score(mine_h, h["product"]), c, p, held[customers])
        else:
            negative = torch.randint(0, len(held[0]), (len(c),), generator=generator).to(device)
            positive_score = model.pair_score(mine_h[c], h["product"][p], p)
            loss = bpr_loss(positive_score, model.pair_score(mine_h[c], h["product"][negative], negative))
        if config.gat_task == "temporal":
            loss = 0.0 * loss  # the masked links' loss computed, not learned from: the step's customers stay the same
        if config.gat_task != "mask":
            loss = loss + temporal.gat_loss(model, customers, batches.fanout, generator)
        if model.channel and "channel" not in frozen:
            loss = loss + channel.loss(model, held, customers)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
        weights.append(len(customers))
    return float(sum(f * w for f, w in zip(losses, weights)) / sum(weights))


def batch_subgraph(
    graph: HeteroData,
    supervised: torch.Tensor | None,
    customers: torch.Tensor,
    fanout: int | None,
    generator: torch.Generator | None = None,
) -> tuple:
    """``(x_dict, edge_index_dict, edge_attr_dict)`` of the sub-graph a batch step passes messages over.

    The hidden (``supervised``) interactions are left out both ways; an edge into a
    customer is kept when the customer is in the batch; an edge into any other node is
    kept with probability ``fanout / that node's incoming edges`` (at most 1), so a
    product's attention is over about ``fanout`` of its customers, a fresh draw each step.
    Only the customers this needs are in the sub-graph: the batch's first, in its order
    (their representations are the first rows of the customer output), then the sampled
    ones the products hear. ``supervised`` None: nothing hidden; ``fanout`` None: every edge
    into other nodes kept (the exact sub-graph of ``customers``' representations).
    """
    n_c = graph["customer"].num_nodes
    device = customers.device
    in_batch = torch.zeros(n_c, dtype=torch.bool, device=device)
    in_batch[customers] = True
    kept = {}
    for et in graph.edge_types:
        if et == CO_ADOPTED:
            continue
        index = graph[et].edge_index
        keep = torch.ones(index.shape[1], dtype=torch.bool, device=device)
        if supervised is not None and et in (USES, REV_USES):
            keep = ~supervised
        if et[2] == "customer":
            keep = keep & in_batch[index[1]]
        elif fanout is not None:
            degree = torch.bincount(index[1][keep], minlength=graph[et[2]].num_nodes).clamp(min=1)
            chance = (fanout / degree.float()).clamp(max=1.0)
            keep = keep & (torch.rand(index.shape[1], generator=generator).to(device) < chance[index[1]])
        kept[et] = keep
    heard = [graph[et].edge_index[0][keep] for et, keep in kept.items() if et[0] == "customer"]
    heard = torch.cat(heard) if heard else customers[:0]
    needed = torch.cat([customers, torch.unique(heard[~in_batch[heard]])])
    position = torch.full((n_c,), -1, dtype=torch.long, device=device)
    position[needed] = torch.arange(len(needed), device=device)
    edge_index, edge_attr = {}, {}
    for et, keep in kept.items():
        source, target = graph[et].edge_index[:, keep]
        edge_index[et] = torch.stack(
            [position[source] if et[0] == "customer" else source, position[target] if et[2] == "customer" else target]
        )
        if "edge_attr" in graph[et]:
            edge_attr[et] = graph[et].edge_attr[keep]
    return graph.x_dict | {"customer": graph["customer"].x[needed]}, edge_index, edge_attr


def patience_at(epoch: int, patience: int) -> int:
    """Epochs without improvement that stop training at ``epoch``: ``patience``, or a quarter of the epochs so far.

    Full-batch training has plateaus that lengthen as it goes (measured on generated data:
    a fixed 20 stopped one seed at epoch 142, at 0.79 of the oracle, where the others reach 0.88).
    """
    return max(patience, epoch // 4)


def temporal_windows(data: Prepared, config: TrainConfig) -> int:
    """How many earlier questions a training learns: ``config.windows`` of them for the GAT's
    ``temporal`` task (as many as there are, at most), else the latest alone (the item channel's)."""
    return 1 if config.gat_task == "mask" else max(1, min(config.windows, len(data.history)))


def questions_of(data: Prepared, config: TrainConfig, device: torch.device, shared: dict | None = None) -> list:
    """The earlier questions (:class:`_Question`) a training learns, oldest first; ``shared``
    keeps those already built (by another setting of a race), by their place in the history."""
    shared = {} if shared is None else shared
    first = len(data.history) - temporal_windows(data, config)
    for index in range(first, len(data.history)):
        if index not in shared:
            shared[index] = _Question(data, data.history[index], device)
    return [shared[index] for index in range(first, len(data.history))]


def _in_turn(questions: list, epoch: int):
    """The question the GAT part's temporal task learns at ``epoch``: each in turn, oldest first.

    One a step, not all of them pooled: on generated data as of 2025-10-01 (7 windows) pooled
    and in turn reached the same validation figures, in turn at a third of the time."""
    return questions[(epoch - 1) % len(questions)] if questions else None


class _Question:
    """An earlier question with its answers (:attr:`Prepared.history`), a training task of the model.

    Under the latest protocol each customer's latest training interactions from its earlier
    ones; under the as-of protocol a training window: what was newly taken in it, from what
    was known before it. The item channel learns the latest; the GAT part with ``gat_task``
    ``temporal`` or ``both`` the latest ``windows`` of them in turn (the question the test
    asks, one window earlier and before).
    """

    def __init__(self, data: Prepared, task: Stage, device: torch.device):
        self.asof = task.asof
        self.graph = data.graph_of(task).to(device)
        self.customers = torch.as_tensor(task.answer_customer, device=device)
        self.products = torch.as_tensor(task.answer_product, device=device)
        self.held = task.held().to(device)  # what was held then: the answers are among the rest

    def loss(
        self, model: HeteroGATRecommender, held: torch.Tensor, customers: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The softmax loss of the channel's task, over all customers or only ``customers``."""
        if customers is None:
            return multinomial_loss(model.channel_of(self.graph), self.customers, self.products, held)
        kept, index = rows_of(torch.stack([self.customers, self.products]), customers, held.shape[0])
        if not kept.any():
            return torch.zeros((), device=held.device)
        return multinomial_loss(model.channel_of(self.graph, customers), index[0], index[1], held[customers])

    def gat_loss(
        self,
        model: HeteroGATRecommender,
        customers: torch.Tensor | None = None,
        fanout: int | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """The GAT part's softmax loss on this question: what each customer newly took, among what it
        did not hold then, from the graph as it was (all customers, or ``customers`` over their sub-graph)."""
        if customers is None:
            h = model.encode_graph(self.graph)
            return multinomial_loss(model.score(h["customer"], h["product"]), self.customers, self.products, self.held)
        kept, index = rows_of(torch.stack([self.customers, self.products]), customers, self.held.shape[0])
        if not kept.any():
            return torch.zeros((), device=self.held.device)
        h = model.encode(*batch_subgraph(self.graph, None, customers, fanout, generator))
        scores = model.score(h["customer"][: len(customers)], h["product"])
        return multinomial_loss(scores, index[0], index[1], self.held[customers])


@torch.no_grad()
def _parts_by_rows(model: HeteroGATRecommender, graph, relevant: torch.Tensor, rows_per_chunk: int):
    """``(rows, GAT scores, item-channel scores or None)`` a block of customers at a time, on the model's device.

    All customers in one block when ``rows_per_chunk`` covers them (the full-batch case),
    else only the customers with something ``relevant``, ``rows_per_chunk`` at a time, from
    one encoding (without gradients) of the sub-graph their representations need.
    """
    model.eval()
    n_c = graph["customer"].num_nodes
    has_channel = model.channel and CO_ADOPTED in graph.edge_types
    if rows_per_chunk >= n_c:
        h = model.encode_graph(graph)
        yield (
            torch.arange(n_c),
            model.score(h["customer"], h["product"]),
            model.channel_of(graph) if has_channel else None,
        )
        return
    device = graph["customer"].x.device
    wanted = torch.nonzero(relevant.any(1)).flatten()
    h = model.encode(*batch_subgraph(graph, None, wanted.to(device), None))  # their customers first, in order
    for start in range(0, len(wanted), rows_per_chunk):
        rows = wanted[start : start + rows_per_chunk]
        on = rows.to(device)
        channel = model.channel_of(graph, on) if has_channel else None
        yield rows, model.score(h["customer"][start : start + len(rows)], h["product"]), channel


def _validate(model: HeteroGATRecommender, graph, relevant: torch.Tensor, held: torch.Tensor, rows: int) -> tuple:
    """``(figures, mix, NDCG@10 of each part alone)`` of the model's best mix of its parts on validation."""
    tried = {}
    for block, gat, channel in _parts_by_rows(model, graph, relevant, rows):
        answered = Answered(relevant[block].to(gat.device), held[block].to(gat.device))  # ranked where scored
        gat = answered.masked(gat)  # the rows and the mask found once: every mix of them is masked too
        channel = answered.masked(channel) if channel is not None else None
        for mix in dict.fromkeys([*MIXES, *ALONE]) if channel is not None else ((1.0, 0.0),):
            scores = gat if channel is None else mixed(gat, channel, torch.tensor(mix))
            tried.setdefault(mix, RankedRows(10)).add_answered(scores, answered)
    figures = {mix: ranked.figures(relevant.shape[1], ks=(10,)) for mix, ranked in tried.items()}
    if len(figures) == 1:
        return figures[(1.0, 0.0)], (1.0, 0.0), {"gat": figures[(1.0, 0.0)]["ndcg@10"]}
    mix = max(MIXES, key=lambda m: figures[m]["ndcg@10"])
    return figures[mix], mix, {"gat": figures[(1.0, 0.0)]["ndcg@10"], "channel": figures[(0.0, 1.0)]["ndcg@10"]}


def _scored(
    model: HeteroGATRecommender, graph, relevant: torch.Tensor, known: torch.Tensor, rows: int, parts: bool = False
) -> dict:
    """The model's figures (its chosen mix) on ``relevant``.

    With ``parts``: each part's figures alone and the channel's share of the ranking.
    """
    mixed_rows, gat_rows, channel_rows, shares, counted = RankedRows(), RankedRows(), RankedRows(), 0.0, 0
    for block, gat, channel in _parts_by_rows(model, graph, relevant, rows):
        answers, seen = relevant[block].to(gat.device), known[block].to(gat.device)  # ranked where scored
        scores = gat if channel is None else mixed(gat, channel, model.mix.cpu())
        mixed_rows.add(scores, answers, seen)
        if parts and channel is not None:
            gat_rows.add(gat, answers, seen)
            channel_rows.add(channel, answers, seen)
            shares += channel_share(gat, channel, model.mix.cpu()) * len(block)
            counted += len(block)
    n_items = relevant.shape[1]
    out = mixed_rows.figures(n_items)
    if counted:
        out["parts"] = {
            "mix": model.mix.tolist(),
            "gatAlone": _headline(gat_rows.figures(n_items)),
            "channelAlone": _headline(channel_rows.figures(n_items)),
            "channelShare": shares / counted,
        }
    return out


def _headline(metrics: dict) -> dict:
    return {k: metrics[k] for k in ("recall@10", "ndcg@10") if k in metrics}


def _loss(
    model: HeteroGATRecommender,
    graph,
    config: TrainConfig,
    train_c: torch.Tensor,
    train_p: torch.Tensor,
    supervised: torch.Tensor,
    held: torch.Tensor,
    generator: torch.Generator,
    n_products: int,
) -> torch.Tensor:
    """One epoch's loss: the ``supervised`` interactions are hidden from message passing and predicted."""
    edge_index, edge_attr = dict(graph.edge_index_dict), dict(graph.edge_attr_dict)
    for et in (USES, REV_USES):
        edge_index[et] = graph[et].edge_index[:, ~supervised]
        edge_attr[et] = graph[et].edge_attr[~supervised]
    h = model.encode(graph.x_dict, edge_index, edge_attr)
    c, p = train_c[supervised], train_p[supervised]
    if config.loss == "softmax":
        return multinomial_loss(model.score(h["customer"], h["product"]), c, p, held)
    negative = torch.randint(0, n_products, (len(c),), generator=generator).to(c.device)
    return bpr_loss(
        model.pair_score(h["customer"][c], h["product"][p], p),
        model.pair_score(h["customer"][c], h["product"][negative], negative),
    )


def multinomial_loss(scores: torch.Tensor, c: torch.Tensor, p: torch.Tensor, held: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood of each hidden interaction ``(c, p)`` under its customer's softmax.

    One softmax per customer over every product it does not visibly hold (``held`` minus the
    hidden ones), so the memory is customers x products, not interactions x products.
    """
    targets = torch.zeros_like(held)
    targets[c, p] = True
    rows = targets.any(1)
    log_p = torch.log_softmax(scores[rows].masked_fill(held[rows] & ~targets[rows], float("-inf")), dim=1)
    return -log_p.masked_fill(~targets[rows], 0.0).sum() / targets.sum()
