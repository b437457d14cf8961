"""The methods a bank's data scientist tries first, in one registry, scored exactly like the GAT.

Every method answers the protocol's questions (:class:`wbgraph.gnn.data.Stage`: what was
known at a date, what was newly taken after it) with a ``[customers, products]`` score
matrix. :data:`REGISTRY` lists them, each with the settings it tries; :func:`fit_all` is the
protocol ``wbgraph evaluate`` follows for every one of them alike:

1. each setting is fitted on what the **validation** question knows (and the earlier
   questions, for the methods that learn from answers) and scored on its answers; the best
   :data:`SELECTION_METRIC` wins (the first listed, on a tie: the grids run simplest first);
2. the chosen setting is fitted again on what the **test** question knows, with the
   validation question among the earlier ones (the refit), and only then scores the test.

Adding a baseline is one :class:`Method` entry: its name, its fit, its settings (or its own
choice, for methods that stop on a validation curve). The names drive ``--baselines``,
``--require-beat``, the README and ``docs/cli.md``: this module loads no PyTorch until a
method is fitted, so the command line reads the registry at no cost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import torch

    from .data import Side, Stage

EASE_LAMBDAS = (1.0, 10.0, 50.0, 200.0, 500.0, 2000.0)
EASE_MAX_SIDE = 20_000  # EASE solves a dense system of min(customers, products) squared (as gnn/ease.py)
SELECTION_METRIC = "ndcg@10"
KNN_NEIGHBOURS = (None, 200, 100, 50, 20)
KNN_SHRINK = (0.0, 10.0, 100.0)
RP3_ALPHA = (1.0, 0.5)
RP3_BETA = (0.0, 0.25, 0.5, 0.75)
POPULARITY_OF = ("holders", "latest window", "every window")


def popularity(train: torch.Tensor) -> torch.Tensor:
    """Every customer gets the products most customers hold."""
    return train.sum(0, keepdim=True).expand_as(train).clone()


def segment_popularity(train: torch.Tensor, segment: np.ndarray) -> torch.Tensor:
    """The products most held (or taken) within the customer's segment (e.g. type x industry), then overall."""
    import numpy as np
    import torch

    seg = torch.tensor(np.asarray(segment), dtype=torch.long)
    per_segment = torch.zeros(int(seg.max()) + 1 if len(seg) else 1, train.shape[1]).index_add_(0, seg, train)
    return per_segment[seg] + 1e-3 * popularity(train)


def adoption_counts(history: list[Stage], task: Stage, of: str) -> torch.Tensor:
    """A [customers, products] count matrix: who holds what at ``task`` (``holders``), or who newly
    took what in the latest earlier window (``latest window``) or in all of them (``every window``)."""
    if of == "holders" or not history:
        return task.held().float()
    windows = history[-1:] if of == "latest window" else history
    return sum(w.answers().float() for w in windows)


@dataclass(frozen=True)
class Method:
    """A baseline: ``fit(history, task, side, setting)`` -> scores for ``task``, given earlier questions.

    ``grid(side)``: the settings tried on validation, simplest first. ``choose``, instead of a
    grid: ``(history, val, side, figure) -> (setting, validation scores)``, for methods whose
    choice is a point on a validation curve. ``fit`` may return ``(scores, details)``, details
    (e.g. the boosted tree's feature importances) kept beside its figures. ``applies(stage,
    side)``: whether the method runs on this data at all (EASE's dense solve, the groups).
    """

    name: str
    summary: str
    fit: Callable
    grid: Callable[[Side], list[dict]] = lambda side: [{}]
    choose: Callable | None = None
    applies: Callable[[Stage, Side], bool] = lambda stage, side: True


@dataclass
class Fitted:
    """A baseline's test-time scores, what it chose on validation and its validation figures."""

    scores: torch.Tensor
    chosen: dict = field(default_factory=dict)
    validation: dict = field(default_factory=dict)  # the chosen setting's validation figures
    details: dict = field(default_factory=dict)


def _popularity(history: list[Stage], task: Stage, side: Side, setting: dict) -> torch.Tensor:
    counts = adoption_counts(history, task, setting["of"]).sum(0, keepdim=True)
    holders = task.held().float().sum(0, keepdim=True)
    return (counts + 1e-3 * holders / holders.max().clamp(min=1.0)).expand(*task.shape).clone()


def _group_popularity(history: list[Stage], task: Stage, side: Side, setting: dict) -> torch.Tensor:
    from .data import group_codes, group_popularity

    held = task.held().float()
    group = group_codes(side.customers)
    overall = _popularity(history, task, side, setting)
    return group_popularity(held, group) + 1e-3 * overall / overall.max().clamp(min=1.0)  # then popularity


def _segment_popularity(history: list[Stage], task: Stage, side: Side, setting: dict) -> torch.Tensor:
    counts = adoption_counts(history, task, setting["of"])
    return segment_popularity(counts, side.segments) + 1e-6 * popularity(task.held().float())


def _item_knn(history: list[Stage], task: Stage, side: Side, setting: dict) -> torch.Tensor:
    from .neighbours import item_knn

    x = task.held().float()
    key = ("co-occurrence", id(task))
    if key not in side.cache:  # X'X once per question, for every setting tried
        side.cache[key] = x.T @ x
    return item_knn(x, setting["neighbours"], setting["shrink"], side.cache[key])


def _rp3beta(history: list[Stage], task: Stage, side: Side, setting: dict) -> torch.Tensor:
    from .neighbours import rp3beta

    return rp3beta(task.held().float(), setting["alpha"], setting["beta"])


def _solver(task: Stage, side: Side, lam: float) -> Any:
    """EASE's weights for ``task``'s holdings (:class:`~wbgraph.gnn.neighbours.EaseSolver`), kept for the
    evaluation (EASE and EASE-recency share them)."""
    from .neighbours import EaseSolver

    key = ("ease", id(task), lam)
    if key not in side.cache:
        side.cache[key] = EaseSolver(task.held().float(), lam)
    return side.cache[key]


def _ease(history: list[Stage], task: Stage, side: Side, setting: dict) -> torch.Tensor:
    solver = _solver(task, side, setting["lambda"])
    return solver.scores(solver.x)


def ease_lambda(history: list[Stage], val: Stage, side: Side, figure: Callable) -> float:
    """EASE's regularisation chosen on validation (once per evaluation; the methods built on EASE share it)."""
    if "ease lambda" not in side.cache:
        tried = {lam: figure(_ease(history, val, side, {"lambda": lam})) for lam in EASE_LAMBDAS}
        side.cache["ease lambda"] = max(tried, key=lambda lam: (tried[lam], -lam))
    return side.cache["ease lambda"]


def _ease_recency(history: list[Stage], task: Stage, side: Side, setting: dict) -> torch.Tensor:
    import torch

    from .neighbours import recency_weights

    solver = _solver(task, side, setting["lambda"])
    if setting["decay"] == "none":
        return solver.scores(solver.x)
    weights = torch.zeros(task.shape, dtype=torch.float64)
    decayed = recency_weights(task.rows, task.asof, setting["decay"], setting["halfLife"])
    weights[torch.as_tensor(task.customer), torch.as_tensor(task.product)] = torch.as_tensor(decayed)
    return solver.scores(weights)


def _choose_ease_recency(history: list[Stage], val: Stage, side: Side, figure: Callable) -> tuple:
    """λ as EASE chose it, then the decay and its half-life (none: plain EASE) on validation."""
    from .neighbours import DECAYS, HALF_LIVES

    lam = ease_lambda(history, val, side, figure)
    settings = [{"lambda": lam, "decay": "none"}] + [
        {"lambda": lam, "decay": decay, "halfLife": half_life} for decay in DECAYS for half_life in HALF_LIVES[decay]
    ]
    return _best(history, val, side, figure, _ease_recency, settings)


def _choose_ease(history: list[Stage], val: Stage, side: Side, figure: Callable) -> tuple:
    lam = ease_lambda(history, val, side, figure)
    return {"lambda": lam}, _ease(history, val, side, {"lambda": lam})


def _matrix_factorisation(history: list[Stage], task: Stage, side: Side, setting: dict) -> torch.Tensor:
    from .factors import matrix_factorisation

    return matrix_factorisation(task.held().float(), seed=side.seed, epochs=setting["epochs"])[0]


def _choose_matrix_factorisation(history: list[Stage], val: Stage, side: Side, figure: Callable) -> tuple:
    from .factors import matrix_factorisation

    scores, epochs, _ = matrix_factorisation(val.held().float(), seed=side.seed, validate=figure)
    return {"epochs": epochs}, scores


LIGHTGCN_EPOCHS = 300


def _lightgcn(history: list[Stage], task: Stage, side: Side, setting: dict) -> torch.Tensor:
    from .factors import lightgcn

    return lightgcn(task.held().float(), seed=side.seed, epochs=setting["epochs"])[0]


def _choose_lightgcn(history: list[Stage], val: Stage, side: Side, figure: Callable) -> tuple:
    from .factors import lightgcn

    scores, epochs, _ = lightgcn(val.held().float(), seed=side.seed, validate=figure, epochs=LIGHTGCN_EPOCHS)
    return {"epochs": epochs}, scores


def _boosted(history: list[Stage], task: Stage, side: Side, setting: dict) -> tuple:
    from . import boosted

    booster = boosted.fit(history, side, setting["easeLambda"], setting["trees"])
    return boosted.score(booster, task, side, setting["easeLambda"]), {"importance": boosted.importance(booster)}


def _choose_boosted(history: list[Stage], val: Stage, side: Side, figure: Callable) -> tuple:
    """The number of trees on validation: one model of :data:`boosted.MAX_TREES`, read at each checkpoint."""
    from . import boosted

    lam = ease_lambda(history, val, side, figure)
    booster = boosted.fit(history, side, lam)
    tried = dict(zip(boosted.CHECKPOINTS, boosted.scores_at(booster, val, side, lam, boosted.CHECKPOINTS)))
    figures = {trees: figure(scores) for trees, scores in tried.items()}
    trees = max(figures, key=lambda t: (figures[t], -t))
    return {"easeLambda": lam, "trees": trees}, tried[trees]


def _best(history: list[Stage], val: Stage, side: Side, figure: Callable, fit: Callable, settings: list[dict]) -> tuple:
    """``(setting, validation scores)`` of the best of ``settings`` (the first, on a tie)."""
    best = None
    for setting in settings:
        scores = _scores(fit(history, val, side, setting))
        found = figure(scores)
        if best is None or found > best[0]:
            best = (found, setting, scores)
    return best[1], best[2]


def _scores(fitted: torch.Tensor | tuple) -> torch.Tensor:
    return fitted[0] if isinstance(fitted, tuple) else fitted


def _small(stage: Stage, side: Side | None = None) -> bool:
    return min(stage.shape) <= EASE_MAX_SIDE


def _grouped(stage: Stage, side: Side) -> bool:
    """Whether the data has corporate groups the run reads (the hierarchy loaded, not ignored)."""
    from .data import group_codes

    return group_codes(side.customers) is not None


REGISTRY = (
    Method(
        "popularity",
        "the products most customers hold, or newly took in the latest window or in all of them",
        _popularity,
        grid=lambda side: [{"of": of} for of in POPULARITY_OF],
    ),
    Method(
        "segment popularity",
        "the same within the customer's peer group, its type and industry",
        _segment_popularity,
        grid=lambda side: [{"of": of} for of in POPULARITY_OF],
    ),
    Method(
        "group popularity",
        "what the rest of the customer's corporate group holds (the hierarchy loaded), then popularity",
        _group_popularity,
        grid=lambda side: [{"of": of} for of in POPULARITY_OF],
        applies=_grouped,
    ),
    Method(
        "item kNN",
        "products held together with the customer's, cosine with shrinkage, neighbours and shrinkage chosen",
        _item_knn,
        grid=lambda side: [{"neighbours": k, "shrink": s} for k in KNN_NEIGHBOURS for s in KNN_SHRINK],
    ),
    Method(
        "RP3beta",
        "a three-step random walk from the customer to products, popular ones discounted, alpha and beta chosen",
        _rp3beta,
        grid=lambda side: [{"alpha": a, "beta": b} for a in RP3_ALPHA for b in RP3_BETA],
    ),
    Method("EASE", "the closed-form item-item model, lambda chosen", _ease, choose=_choose_ease, applies=_small),
    Method(
        "EASE-recency",
        "EASE read through a recency decay over each customer's holdings, decay and half-life chosen",
        _ease_recency,
        choose=_choose_ease_recency,
        applies=_small,
    ),
    Method(
        "matrix factorisation",
        "BPR matrix factorisation, epochs chosen",
        _matrix_factorisation,
        choose=_choose_matrix_factorisation,
    ),
    Method(
        "LightGCN",
        "graph convolution over the holdings, epochs chosen, then trained again",
        _lightgcn,
        choose=_choose_lightgcn,
    ),
    Method(
        "boosted tree",
        "LightGBM over customer and candidate product pairs: attributes, holdings, popularity, EASE; trees chosen",
        _boosted,
        choose=_choose_boosted,
        applies=_small,
    ),
)
BASELINES = tuple(method.name for method in REGISTRY)


def fit_all(
    history: list[Stage],
    val: Stage,
    test: Stage,
    side: Side,
    only: list[str] | None = None,
    ks: tuple[int, ...] = (5, 10, 20),
) -> dict[str, Fitted]:
    """Every baseline (or those ``only`` names): its choice made on ``val``, its test scores fitted for ``test``.

    ``history``: the questions before validation, with their answers; the test-time fit sees
    them and the validation question.
    """
    from .metrics import ranking_metrics

    held, answers = val.held(), val.answers()

    def figure(scores: torch.Tensor) -> float:
        return ranking_metrics(scores, answers, held, ks=(10,)).get(SELECTION_METRIC, 0.0)

    out = {}
    for method in REGISTRY:
        if (only and method.name not in only) or not method.applies(val, side):
            continue
        if method.choose is not None:
            setting, val_scores = method.choose(history, val, side, figure)
        else:
            setting, val_scores = _best(history, val, side, figure, method.fit, method.grid(side))
        fitted = method.fit([*history, val], test, side, setting)
        details = fitted[1] if isinstance(fitted, tuple) else {}
        validation = ranking_metrics(val_scores, answers, held, ks=ks)
        out[method.name] = Fitted(_scores(fitted), setting, validation, details)
    return out
