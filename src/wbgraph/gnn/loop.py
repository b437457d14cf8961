"""One setting's training, epoch by epoch: early stopping on validation, then the refit.

Validation NDCG@10 (the validation part of the split) is measured every epoch; a part stops
after ``patience`` epochs without improvement, or a quarter of the epochs so far when that is
more (full-batch training has plateaus that grow with its length), and keeps its best
weights (:class:`EarlyStopping`). :func:`finish` then refits the chosen epochs on training +
validation and scores the test part.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pandas as pd
import torch
from torch_geometric.data import HeteroData

from ..config import TrainConfig
from ..progress import SILENT, Progress, Update
from .calibration import Calibrator, calibrate, question_figures, question_pairs
from .data import Prepared, Stage
from .losses import (
    Declines,
    Question,
    declines_of,
    in_turn,
    masked_links_loss,
    multinomial_loss,
    questions_of,
)
from .memory import (
    VALIDATION_CUSTOMERS,
    Batches,
    batch_subgraph,
    pick_device,
    plan_batches,
    sample_rows,
)
from .model import HeteroGATRecommender, bpr_loss, part_of, rows_of
from .scoring import PARTS, choose_group_weight, customer_figures, scored, validate

# gat_task auto: a GAT part alone below this share of the item channel alone, where the channel alone is
# the best mix, does not go on from the hidden links to the earlier questions (Training._out_of_reach)
OUT_OF_REACH = 0.75


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
    gat_phases: dict = field(default_factory=dict)  # gat_task auto: the kept GAT weights' epochs of each task
    calibrator: Calibrator | None = None  # score -> probability, fitted on validation (finish)
    calibration: dict = field(default_factory=dict)  # the methods tried, its validation and test figures
    per_customer: pd.DataFrame | None = None  # each test customer's figures (scoring.customer_figures)


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
        self.since: dict[str, int] = {}  # a part's latest phase began after this epoch (0: its only one)

    def update(self, epoch: int, alone: dict, model: HeteroGATRecommender) -> None:
        """Record ``epoch``'s figure of each part alone (``alone``), keeping a part's weights when it is its best."""
        for part, figure in alone.items():
            if figure > self.best.get(part, -1.0):
                self.best[part], self.epoch[part], self.state[part] = figure, epoch, model.part_state(part)

    def stopped(self, part: str, epoch: int) -> bool:
        """``part`` has gone :func:`patience_at` epochs without improving, counted in its latest phase."""
        start = self.since.get(part, 0)
        return epoch - max(self.epoch[part], start) >= patience_at(epoch - start, self.patience)

    def done(self, epoch: int) -> bool:
        """Every part has stopped (:meth:`stopped`)."""
        return all(self.stopped(part, epoch) for part in self.epoch)

    def restore(self, model: HeteroGATRecommender) -> None:
        """Each part's best weights into ``model``."""
        for state in self.state.values():
            model.load_state_dict(state, strict=False)


def patience_at(epoch: int, patience: int) -> int:
    """Epochs without improvement that stop training at ``epoch``: ``patience``, or a quarter of the epochs so far.

    Full-batch training has plateaus that lengthen as it goes (measured on generated data:
    a fixed 20 stopped one seed at epoch 142, at 0.79 of the oracle, where the others reach 0.88).
    """
    return max(patience, epoch // 4)


def choose(data: Prepared, config: TrainConfig, progress: Progress = SILENT) -> Fitted:
    """Train with early stopping on validation NDCG@10; the chosen weights and mix, no test figures yet.

    With the item channel, each epoch also fits it to predict each customer's latest
    training interactions from its earlier ones, under the as-of protocol the last training
    window's new adoptions (the channel's EASE weights are fitted on what was known before,
    so it cannot read the answer). Each part stops on its own validation curve and keeps its
    own best weights (:class:`EarlyStopping`); then validation chooses the mix of the two
    from :data:`~.scoring.MIXES`. With ``gat_task`` auto the GAT part learns the hidden links
    until it stops, then the earlier questions from its best weights (:meth:`Training._go_on_temporal`).

    When the whole graph at once would not fit ``config.memory_budget`` (:func:`~.memory.plan_batches`),
    or ``config.batch_customers`` asks for it, an epoch is a pass over customer batches
    instead of one full-batch step, validation and test are scored a batch of customers at a
    time, and each epoch's figures are taken on a fixed random :data:`~.memory.VALIDATION_CUSTOMERS`
    of the validation customers (the validation figures reported are over all of them).
    """
    training = Training(data, config)
    if not training.batches.full:
        progress.say(f"Training in batches of {training.batches.customers:,} customers: {training.batches.reason}")
    with progress.task("Training", "epochs") as update:
        training.advance(config.epochs, update)
    return training.result()


@dataclass
class Lessons:
    """What every epoch of one training works on (:func:`_epoch`): the model and its optimiser,
    the graph it passes messages over, the interactions it hides and predicts (``customer``,
    ``product``: model indices) and what each customer holds, the generator of its random
    draws, the item channel's question and the GAT part's hard negatives."""

    model: HeteroGATRecommender
    graph: HeteroData
    config: TrainConfig
    batches: Batches
    optimiser: torch.optim.Optimizer
    customer: torch.Tensor
    product: torch.Tensor
    held: torch.Tensor
    generator: torch.Generator
    declines: Declines | None = None
    channel: Question | None = None
    task: str = "mask"  # what the GAT part learns this epoch: mask, temporal or both (auto: mask, then temporal)
    since: int = 0  # auto: the epochs trained on the hidden links before the earlier questions (0: none)

    @classmethod
    def of(cls, data: Prepared, config: TrainConfig, stage: Stage, graph: HeteroData, device: torch.device) -> Lessons:
        """A fresh model from ``config.seed`` learning ``stage``'s interactions over ``graph``."""
        torch.manual_seed(config.seed)
        model = HeteroGATRecommender.for_graph(graph, config).to(device)
        return cls(
            model,
            graph.to(device),
            config,
            plan_batches(data, config),
            torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay),
            torch.as_tensor(stage.customer, device=device),
            torch.as_tensor(stage.product, device=device),
            stage.held().to(device),
            torch.Generator(device="cpu").manual_seed(config.seed),
            declines_of(data, config, stage, device),
            task="mask" if config.gat_task == "auto" else config.gat_task,
        )

    def to_temporal(self, epoch: int) -> None:
        """``gat_task`` auto: after ``epoch`` the GAT part goes on learning the earlier questions,
        its optimiser moments forgotten (what the hidden links' steps had gathered; the item channel's kept),
        at ``config.temporal_dropout``: a fine-tune on a window's answers, which overfits where the
        hidden links did not (the bank's month, five seeds: validation NDCG@10 0.856 without, 0.860 at 0.1;
        its test MAP@7 did not follow, 0.794 -> 0.789 over three seeds: docs/benchmarks.md, session 27)."""
        self.task, self.since = "temporal", epoch
        self.model.set_dropout(self.config.temporal_dropout)
        for name, weight in self.model.named_parameters():
            if part_of(name) == "gat":
                self.optimiser.state.pop(weight, None)

    def question(self, questions: list[Question], epoch: int) -> Question | None:
        """The earlier question the GAT part learns at ``epoch``: :func:`in_turn`, counted from the
        first epoch on the earlier questions."""
        return in_turn(questions, epoch - self.since)


class Training:
    """One setting's training that chooses (:func:`choose`), an epoch at a time.

    It keeps its own random state between calls to :meth:`advance`, so a training paused
    (while :func:`~.race.tune` trains other settings) and taken up again goes exactly as it would
    have straight through: the settings a race keeps have the figures they would have had alone.
    """

    def __init__(self, data: Prepared, config: TrainConfig, shared: dict | None = None):
        torch.use_deterministic_algorithms(True, warn_only=True)
        self.config = config
        self.device = device = pick_device(config.device)
        self.lessons = lessons = Lessons.of(data, config, data.val, data.train_graph, device)
        self.model, self.graph, self.batches = lessons.model, lessons.graph, lessons.batches
        self.known = lessons.held.cpu()  # on the CPU, where validation ranks it: moved once, not every epoch
        self.val_relevant = data.val.answers()
        wanted = self.model.channel or config.gat_task != "mask"
        self.questions = questions_of(data, config, device, shared) if wanted else []  # oldest first
        lessons.channel = self.questions[-1] if wanted else None  # the latest: the item channel's task
        self.choose_on = self.val_relevant
        if not self.batches.full:
            self.choose_on = sample_rows(self.val_relevant, VALIDATION_CUSTOMERS, config.seed)
        self.history: list[dict] = []
        self.stopping = EarlyStopping(config.patience)
        self.links_best: int | None = None  # auto: the hidden links' best epoch, once the GAT part went on from it
        self.links_only = False  # auto: the GAT part stayed on the hidden links (out of the channel's reach)
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
            loss = _epoch(self.lessons, temporal=self.lessons.question(self.questions, epoch))
            val, mix, alone = validate(self.model, self.graph, self.choose_on, self.known, self.batches.customers)
            self.history.append(
                {"epoch": epoch, "loss": loss, "valNdcg@10": val["ndcg@10"], "mix": list(mix), "alone": alone}
                | {"gatTask": self.lessons.task}
            )
            update(epoch, config.epochs)
            self.stopping.update(epoch, alone, self.model)
            if self._hidden_links_done(epoch):
                self.links_only = self._out_of_reach()
                if not self.links_only:
                    self._go_on_temporal(epoch)
            self.finished = self.stopping.done(epoch) or epoch == config.epochs
        self._random = _random_state(self.device)

    @property
    def judgeable(self) -> bool:
        """Whether a race (:func:`~.race.tune`) may judge this training yet: it has finished, or
        learned its last task for ``config.patience`` epochs, as its own early stopping would
        before stopping it. Under ``gat_task`` auto the hidden links are a first task, not the
        last: their figures are below what the questions reach from them (the bank's month,
        seed 0: 0.80 at epoch 40 against 0.86 at the end), so a setting on them is not yet
        comparable with one already on the questions. Where the item channel alone has been
        the best mix so far (MovieLens), the GAT part's task does not move the figure judged:
        the patience is enough, as it is for one task."""
        if self.finished:
            return True
        if self._channel_decides():
            return self.epoch >= self.config.patience
        if self._on_first_task():
            return False
        return self.epoch - self.lessons.since >= self.config.patience

    def _channel_decides(self) -> bool:
        """The best epoch so far mixes the item channel alone (the GAT part's weight 0)."""
        if not self.history:
            return False
        return max(self.history, key=lambda h: h["valNdcg@10"])["mix"][0] == 0

    def _on_first_task(self) -> bool:
        """``gat_task`` auto, still on the hidden links, with earlier questions to learn after them."""
        auto = self.config.gat_task == "auto" and not self.links_only
        return auto and self.lessons.task == "mask" and bool(self.questions)

    def _out_of_reach(self) -> bool:
        """The item channel alone has been the best mix so far, and the GAT part alone is below
        :data:`OUT_OF_REACH` of the channel alone: the earlier questions cannot bring it into the
        mix, so under ``gat_task`` auto it does not go on to them. The most they lifted the GAT
        part above its hidden links on any data measured is 16% (the bank's month: 0.74-0.80 ->
        0.83-0.86 over ``--tune``'s settings); on MovieLens the GAT part alone is at 0.57-0.66 of
        the channel and its hidden links' weights were kept on every seed: 20 epochs of nothing."""
        best = self.stopping.best
        return self._channel_decides() and best["gat"] < OUT_OF_REACH * best.get("channel", 0.0)

    def _hidden_links_done(self, epoch: int) -> bool:
        """:meth:`_on_first_task`, and the GAT part has stopped on it?"""
        return self._on_first_task() and "gat" in self.stopping.epoch and self.stopping.stopped("gat", epoch)

    def _go_on_temporal(self, epoch: int) -> None:
        """``gat_task`` auto: the GAT part's best weights on the hidden links learn the earlier
        questions from here, on a validation curve (and a patience) of their own; its best epoch
        of either task is kept. On the bank's month (five seeds) this took validation NDCG@10
        from 0.845 (the earlier questions from the start) to 0.856; where the hidden links stay
        better (generated data, MovieLens' GAT part) their weights are kept."""
        self.links_best = self.stopping.epoch["gat"]
        self.model.load_state_dict(self.stopping.state["gat"], strict=False)
        self.lessons.to_temporal(epoch)
        self.stopping.since["gat"] = epoch

    def gat_phases(self) -> dict:
        """``gat_task`` auto: the epochs of each task behind the GAT part's kept weights, as the refit repeats them."""
        if self.config.gat_task != "auto" or "gat" not in self.stopping.epoch:
            return {}
        best, since = self.stopping.epoch["gat"], self.lessons.since
        if self.links_best is None or best <= since:
            return {"mask": best, "temporal": 0}
        return {"mask": self.links_best, "temporal": best - since}

    def result(self) -> Fitted:
        """Each part's best weights, the mix validation chooses for them, and their validation figures."""
        model, graph, held = self.model, self.graph, self.known
        self.stopping.restore(model)
        _val, mix, _alone = validate(model, graph, self.choose_on, held, self.batches.customers)
        model.mix = torch.tensor(mix, device=self.device)
        weight, tried = choose_group_weight(model, graph, self.choose_on, held, self.batches.customers)
        model.group_weight = torch.tensor(weight, device=self.device)
        val = scored(model, graph, self.val_relevant, held, self.batches.customers)
        if tried:  # what each weight of the group part gave on validation, for metrics.json
            val["groupWeights"] = {str(w): round(v, 6) for w, v in tried.items()}
        best = max(self.stopping.epoch.values())
        return Fitted(
            model,
            self.history,
            best,
            val,
            {},
            str(self.device),
            self.batches.describe(),
            0,
            dict(self.stopping.epoch),
            gat_phases=self.gat_phases(),
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

    The calibrator (:mod:`.calibration`) is fitted on the chosen weights' validation scores,
    before the refit (which learns from the validation answers), and applied to the saved
    model's scores: the test figures say whether it carries over to the refit.
    """
    device, batches, model = pick_device(config.device), plan_batches(data, config), chosen.model
    protocol = data.protocol.get("name", "latest")
    asked = question_pairs(chosen.model, data.train_graph, data.val, batches.customers, protocol)
    calibrator, calibration = calibrate(asked)
    phases = chosen.gat_phases
    counts = chosen.part_epochs | ({"gat": phases["mask"] + phases["temporal"]} if phases else {})
    used = {p: e for p, e in counts.items() if float(model.mix[PARTS.index(p)]) != 0}
    refit_epochs = max(used.values()) if config.refit else 0
    if config.refit:
        switch = phases["mask"] if phases.get("temporal") and "gat" in used else None
        model = _refit(data, config, used, model.mix, device, progress, switch)
        model.group_weight = chosen.model.group_weight.clone().to(device)
        for part in chosen.part_epochs.keys() - used.keys():  # left out of the mix: not refitted, kept as chosen
            model.load_state_dict(chosen.model.part_state(part), strict=False)
    test_graph = data.test_graph.to(device)
    test_relevant, known = data.test.answers(), data.test.held()
    test = scored(model, test_graph, test_relevant, known, batches.customers, parts=model.channel)
    per = None
    if test_relevant.any():
        calibration["test"] = question_figures(model, test_graph, data.test, batches.customers, protocol, calibrator)
        ids = data.encoders.customer_ids
        per = customer_figures(model, test_graph, test_relevant, known, batches.customers, ids)
    return dataclasses.replace(
        chosen,
        model=model,
        test=test,
        refit_epochs=refit_epochs,
        calibrator=calibrator,
        calibration=calibration,
        per_customer=per,
    )


def _refit(
    data: Prepared,
    config: TrainConfig,
    epochs: dict,
    mix: torch.Tensor,
    device: torch.device,
    progress: Progress,
    switch: int | None = None,
) -> HeteroGATRecommender:
    """The model again from the same start, on the training and validation interactions both,
    each part for the ``epochs`` validation chose for it, with the mix validation chose: the final weights.
    ``switch`` (``gat_task`` auto): the GAT part learns the hidden links this many epochs, then
    the earlier questions, as the weights validation chose did.

    Validation has made every choice by then; what it held out is data the deployed model
    should learn from, as the test-time graph already shows it (each customer's latest
    adoptions are the most telling of what comes next), as the baselines' test scores are
    fitted on both. On the generator's data (50k rows, seed 1, five seeds) it raised test
    recall@10 from 0.888-0.899 to 0.903-0.913 of the oracle's; one level down (the test part
    dropped, the validation part the refit's test) recall@10 rose by 0.005-0.020 too.
    The parts train together (they share no weight) and each is kept at its own epoch count.
    """
    lessons = Lessons.of(data, config, data.test, data.test_graph, device)
    model = lessons.model
    wanted = model.channel or config.gat_task != "mask"
    chose = config.temporal_windows(len(data.history))
    asked = [*data.history, data.refit][-chose:]  # as many as chose, one window later
    questions = [Question(data, task, device) for task in asked] if wanted else []
    lessons.channel = questions[-1] if wanted else None
    kept, last = {}, max(epochs.values())
    with progress.task("Refitting on training + validation", "epochs") as update:
        for epoch in range(1, last + 1):
            done = set(kept) | (set(PARTS) - set(epochs))  # past its count, or left out of the mix: no loss
            if switch is not None and epoch == switch + 1:
                lessons.to_temporal(switch)
            _epoch(lessons, done, lessons.question(questions, epoch))
            kept |= {part: model.part_state(part) for part, at in epochs.items() if at == epoch}
            update(epoch, last)
    for state in kept.values():
        model.load_state_dict(state, strict=False)
    model.mix = mix.to(device)
    model.eval()
    return model


def _epoch(lessons: Lessons, frozen: set[str] = frozenset(), temporal: Question | None = None) -> float:
    """One training epoch, full batch or in customer batches: a random ``supervision_ratio`` of
    the interactions hidden and predicted; the loss. A ``frozen`` part (``"gat"``, ``"channel"``;
    the refit's, past its own epoch count) has no loss, so its weights stay as they are (the
    parts share none). ``temporal``: the GAT part's question (``gat_task`` temporal or both;
    default the item channel's); the GAT part's hard negatives (``--hard-negatives``) are
    scored over the whole graph as it is seen."""
    model, graph, config, held = lessons.model, lessons.graph, lessons.config, lessons.held
    train_c, channel, declines = lessons.customer, lessons.channel, lessons.declines
    model.train()
    temporal = temporal or channel
    supervised = (torch.rand(len(train_c), generator=lessons.generator) < config.supervision_ratio).to(train_c.device)
    if not lessons.batches.full:
        return _batch_epoch(lessons, supervised, frozen, temporal)
    loss = 0.0
    if lessons.task != "temporal" and "gat" not in frozen:
        loss = masked_links_loss(
            model, graph, config, train_c, lessons.product, supervised, held, lessons.generator, held.shape[1]
        )
    if lessons.task != "mask" and "gat" not in frozen:
        loss = loss + temporal.gat_loss(model)
    if declines is not None and "gat" not in frozen:
        loss = loss + declines.loss(model, model.encode_graph(graph), held)
    if model.channel and "channel" not in frozen:
        loss = loss + channel.loss(model, held)
    lessons.optimiser.zero_grad()
    loss.backward()
    lessons.optimiser.step()
    return loss.item()


def _batch_epoch(lessons: Lessons, supervised: torch.Tensor, frozen: set[str], temporal: Question | None) -> float:
    """One pass over the customers with hidden interactions, ``batches.customers`` per step; the mean loss.

    A step's message passing: every edge into its customers (minus the hidden ones), and
    for every other node about ``fanout`` of its incoming edges drawn at random
    (:func:`~.memory.batch_subgraph`); its loss: full batch's (``config.loss``), over its customers.
    """
    model, graph, config, batches, held = lessons.model, lessons.graph, lessons.config, lessons.batches, lessons.held
    train_c, train_p, generator, optimiser = lessons.customer, lessons.product, lessons.generator, lessons.optimiser
    channel, declines = lessons.channel, lessons.declines
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
        if lessons.task == "temporal":
            loss = 0.0 * loss  # the masked links' loss computed, not learned from: the step's customers stay the same
        if lessons.task != "mask":
            loss = loss + temporal.gat_loss(model, customers, batches.fanout, generator)
        if declines is not None:
            loss = loss + declines.loss(model, h, held, customers)
        if model.channel and "channel" not in frozen:
            loss = loss + channel.loss(model, held, customers)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
        weights.append(len(customers))
    return float(sum(f * w for f, w in zip(losses, weights)) / sum(weights))
