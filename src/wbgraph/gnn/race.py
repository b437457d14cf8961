"""Settings raced on validation: ``--tune``'s grid.

Successive halving (:func:`tune`): every setting trains for the patience, the better half goes
on twice as far, and so on until one is left, which trains to its own early stop; a setting
is judged only once it could be by its own early stopping, on its last task.
"""

from __future__ import annotations

import dataclasses
import itertools

from ..config import TrainConfig
from ..progress import SILENT, Progress, camel
from .data import Prepared
from .loop import Fitted, Training, choose
from .scoring import headline

TUNING_GRID = {"hidden": (32, 64, 128), "lr": (0.003, 0.01), "weight_decay": (0.0, 1e-4)}  # --tune


def select(
    data: Prepared, config: TrainConfig, progress: Progress = SILENT, tuning: bool = False
) -> tuple[Fitted, TrainConfig, list]:
    """The chosen weights (for :func:`~.loop.finish`), the config that made them, and every setting tried.

    The settings as given (:func:`~.loop.choose`); with ``tuning``, :data:`TUNING_GRID` raced
    (:func:`tune`) with the settings as given, trained to the end by then, in the race too.
    """
    if not tuning:
        return choose(data, config, progress), config, []
    return tune(data, config, TUNING_GRID, progress, choose(data, config, progress))


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
    left, which trains to its own early stop. Under ``gat_task`` auto a setting still on the
    hidden links, or on the questions for less than the patience, goes on unjudged unless the
    item channel alone has been its best mix (:attr:`~.loop.Training.judgeable`): the bank's
    month's race left hidden 128, lr 0.01, weight decay 1e-4 behind at epoch 20, on the hidden
    links, which trained to its end is the best of the grid on validation (seed 0: 0.8640; the
    settings as given 0.8607). A setting within ``margin`` (relative) of the leader on both
    figures goes on too: too close to tell apart yet. Each setting has its own early stopping
    and random state on the same prepared data (one export), so the one kept ends with the
    figures it would have had trained alone; a setting that stops on its own before a rung stays
    in the race with what it has. ``given``: the settings as given (``config``'s), already
    trained to the end, race as the first setting (``"given": true``), so tuning never ends
    below them on validation. The winner is the best on validation of those still in the race at
    the end. Returns its chosen weights, its config and every setting with its validation
    figures (``metrics.json`` ``tuning``; one left behind has ``leftAt``, the epoch, and ``val``
    its best epoch's NDCG@10 so far); the test part is scored once, for the winner, by
    :func:`~.loop.finish`.
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
        ahead, standings = _ahead(runs, racing, margin)
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
            tried.append(named | {"val": headline(fitted.val), "epochs": epochs, "partEpochs": fitted.part_epochs})
    chosen = dataclasses.replace(config, **settings[winner])
    return results[winner], chosen, tried


def _ahead(runs: list, racing: list[int], margin: float) -> tuple[list[int], dict]:
    """``(the settings of racing that go on past a rung, the standing of each judged)``: the
    better half of those the rung may judge (:attr:`~.loop.Training.judgeable`), those within
    ``margin`` of their leader, and every one not judgeable yet (still on its first task)."""
    judged = [n for n in racing if runs[n].judgeable]
    standings = {n: standing(runs[n].history) for n in judged}
    ahead = sorted(judged, key=lambda n: standings[n], reverse=True)[: (len(judged) + 1) // 2]
    if standings:
        lead = max(standings.values())  # within margin of it on both figures: too close to tell yet
        ahead += [n for n in judged if all(mine >= best * (1 - margin) for mine, best in zip(standings[n], lead))]
    return sorted(set(ahead) | set(racing) - set(judged)), standings


def standing(history: list[dict]) -> tuple[float, float]:
    """Where a training stands in a race (:func:`tune`): its best validation NDCG@10 of an epoch
    so far, then its GAT part's best alone (-1 before the first epoch).

    Early on the item channel alone is often the best mix of every setting (MovieLens,
    generated data: the same figure to the last digit for both GAT tasks, whose channels
    train alike); the GAT part, what a task changes, then tells them apart.
    """
    best = max((h["valNdcg@10"] for h in history), default=-1.0)
    return best, max((h["alone"]["gat"] for h in history), default=-1.0)


class _Trained:
    """A setting already trained to its end (the settings as given), as it stands in a race."""

    finished = judgeable = True

    def __init__(self, fitted: Fitted):
        self.fitted, self.history = fitted, fitted.history

    @property
    def epoch(self) -> int:
        return len(self.history)

    def result(self) -> Fitted:
        return self.fitted
