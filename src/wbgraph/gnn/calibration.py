"""Calibrated probability: the chance a customer takes a recommended product within the horizon.

The model's scores rank; an RM reads a probability. A :class:`Calibrator` maps a score to the
chance that the pair is among the question's answers (as-of: the customer newly takes the
product within the horizon; latest: it is among the customer's held-out latest adoptions).

It is fitted on the **validation** question (:func:`calibrate`), on each asked customer's
top :data:`FIT_K` candidates (the part of the ranking a writeback writes), by one of
:data:`METHODS` (isotonic regression, Platt scaling) on one of :data:`INPUTS` (the score's
softmax share over the customer's candidates, or for Platt that share beside the customer's
holdings count); which one is chosen on
validation too: each is fitted on one half of the validation customers and judged on the
other (and the other way round) by the Brier score of the top ``k`` pairs; the winner is then
fitted on all of them and kept as the run's ``calibration.json``. The test figures
(:func:`figures`: expected calibration error over 10 equal-mass bins, Brier score and its
skill against the base rate, the reliability table) are of the saved model's scores on the
test question, read once.

Who is asked: as-of, every customer known at the question's date (one that takes nothing is
an answer too: "no"); latest, the customers with something held out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch_geometric.data import HeteroData

from .data import Stage
from .model import HeteroGATRecommender
from .scoring import final_scores

WRITTEN_K = 10  # the writeback's default top-k: the pairs the figures are of
FIT_K = 20  # candidates per customer the calibrator is fitted on: the top of each list
METHODS = ("isotonic", "platt")
INPUTS = ("share", "share and holdings")  # the score's softmax share over the customer's candidates;
# that share and how many products the customer holds (log1p): Platt only, the chance of taking
# anything rises with what a customer already holds (santander validation: skill 0.048 -> 0.057).
# The raw score is no longer among them (runs saved with it still read it: ``inputs``): the softmax
# loss leaves it free by a constant per customer, so the refit's raw scores need not mean what the
# chosen model's did. Measured on validation alone (the mean probability a calibrator fitted on the
# chosen weights gives the top-10 pairs of the chosen weights, then of the refit, same question):
# santander-holdings without relationshipManager, seeds 0-2, the raw score's isotonic map 0.0153 ->
# 0.0158 / 0.0212 / 0.0205, its Platt map 0.0151 -> 0.0153 / 0.0198 / 0.0206 (the answers' rate
# 0.0153); the share's maps moved by 0.0003 at most; on generated data the raw score's +4-7%, the
# share's under 0.6%. Seed 2 had chosen the raw score's isotonic map (by 0.000016 of Brier).
TWO_D = ("share and holdings",)  # inputs of two numbers a pair: Platt scaling only
BINS = 10  # equal-mass bins of the expected calibration error and the reliability table
FOLDS_SEED = 20_260_101  # the halves of the validation customers the choice is judged on


@dataclass
class Calibrator:
    """A fitted map from a pair's score to a probability: ``method`` over ``input``.

    ``params``: isotonic, ``{"x": [...], "y": [...]}`` (the steps: a score at or above ``x[i]``
    gets ``y[i]``, below the first the first); Platt, ``{"a": ..., "b": ...}``
    (``sigmoid(a * input + b)``; ``a`` a list for an input of several numbers).
    """

    method: str
    input: str
    params: dict

    def probabilities(self, scores: torch.Tensor, candidates: torch.Tensor) -> np.ndarray:
        """``[customers, products]`` probabilities of every pair of ``scores`` (the model's, as
        ranked: mix and group part included); ``candidates`` (bool) the pairs that may be
        recommended (not held), over which the share is taken. Others get 0."""
        x = self.input_of(scores, candidates).numpy()
        mask = candidates.numpy()
        out = np.zeros(mask.shape, dtype=np.float64)
        out[mask] = self.apply(x[mask])
        return out

    def input_of(self, scores: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """The calibrator's input for every pair (:func:`inputs`)."""
        return inputs(scores.float(), candidates, (self.input,))[self.input]

    def at(self, x: torch.Tensor, picks: np.ndarray) -> np.ndarray:
        """The probabilities of the picked pairs only (``picks``: ``[customers, k]`` product
        indices, -1 none: NaN there), from :meth:`input_of`'s ``x``: a writeback's k per
        customer, not every pair (a tenth of the time on 1,000,000 x 60)."""
        chosen = torch.as_tensor(np.maximum(picks, 0), dtype=torch.long)
        out = self.apply(_gather(x, chosen).numpy())
        return np.where(picks >= 0, out, np.nan)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """The probability of each input value."""
        x = np.asarray(x, dtype=np.float64)
        if self.method == "platt":
            a = self.params["a"]
            return _sigmoid((x @ np.asarray(a) if isinstance(a, list) else a * x) + self.params["b"])
        steps, values = np.asarray(self.params["x"]), np.asarray(self.params["y"])
        at = np.clip(np.searchsorted(steps, x, side="right") - 1, 0, len(values) - 1)
        return values[at]

    def to_json(self) -> dict:
        return {"method": self.method, "input": self.input, "params": self.params}

    @classmethod
    def from_json(cls, value: dict) -> Calibrator:
        return cls(value["method"], value["input"], value["params"])


def inputs(scores: torch.Tensor, candidates: torch.Tensor, names: tuple[str, ...] = INPUTS) -> dict:
    """Each of ``names`` (of :data:`INPUTS`, or ``score``: a run saved by an earlier version may
    have chosen it) for every pair: ``score`` as it is; ``share`` its softmax share over the
    row's candidates (what the model's ranking gives this pair of the customer's next
    adoption), as a log, so that a Platt fit is a temperature and an offset; ``share and
    holdings`` that share beside log1p of the products the customer holds."""
    out = {"score": scores} if "score" in names else {}
    if {"share", "share and holdings"} & set(names):
        masked = scores.masked_fill(~candidates, float("-inf"))
        out["share"] = torch.nan_to_num(torch.log_softmax(masked, dim=1), neginf=-1e9)
    if "share and holdings" in names:
        holdings = torch.log1p((~candidates).sum(1, keepdim=True).float()).expand_as(out["share"])
        out["share and holdings"] = torch.stack([out["share"], holdings], dim=-1)
    return out


@dataclass
class Pairs:
    """The top :data:`FIT_K` candidates of each asked customer: inputs, answer, rank, customer."""

    x: dict[str, np.ndarray]
    answer: np.ndarray  # 1.0 where the customer took the product
    rank: np.ndarray  # 1..FIT_K
    customer: np.ndarray  # model index

    def top(self, k: int) -> np.ndarray:
        return self.rank <= k


def question_pairs(
    model: HeteroGATRecommender,
    graph: HeteroData,
    stage: Stage,
    rows: int,
    protocol: str,
    k: int = FIT_K,
    names: tuple[str, ...] = INPUTS,
) -> Pairs:
    """The :class:`Pairs` of one question (``stage``, asked over ``graph``): each asked customer's
    (:func:`asked_customers`) top ``k`` candidates under the model's scores (its mix and group
    part), with the inputs ``names``, a block of ``rows`` customers at a time."""
    relevant, held = stage.answers(), stage.held()
    asked = asked_customers(relevant, held, protocol)
    parts: dict[str, list] = {"answer": [], "rank": [], "customer": [], **{name: [] for name in names}}
    for block, scores in final_scores(model, graph, asked[:, None].expand_as(relevant), rows):
        keep = asked[block]
        block, scores = block[keep], scores[keep.to(scores.device)].cpu().float()
        candidates = ~held[block]
        x = inputs(scores, candidates, names)
        width = min(k, scores.shape[1])
        top = scores.masked_fill(~candidates, float("-inf")).topk(width, dim=1)
        valid = torch.isfinite(top.values)
        for name in names:
            parts[name].append(_gather(x[name], top.indices)[valid].numpy())
        parts["answer"].append(relevant[block].gather(1, top.indices)[valid].numpy().astype(np.float64))
        parts["rank"].append((torch.arange(width) + 1).expand_as(valid)[valid].numpy())
        parts["customer"].append(block[:, None].expand_as(valid)[valid].numpy())
    joined = {name: np.concatenate(v) if v else np.zeros(0) for name, v in parts.items()}
    return Pairs({name: joined[name] for name in names}, joined["answer"], joined["rank"], joined["customer"])


def _gather(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``x``'s values (``[rows, products]``, or ``[rows, products, 2]``) at each row's ``index`` columns."""
    if x.dim() == 3:
        return x.gather(1, index[..., None].expand(-1, -1, x.shape[2]))
    return x.gather(1, index)


def question_figures(
    model: HeteroGATRecommender,
    graph: HeteroData,
    stage: Stage,
    rows: int,
    protocol: str,
    calibrator: Calibrator,
    k: int = WRITTEN_K,
) -> dict:
    """:func:`figures` of ``calibrator``'s probabilities of the top ``k`` pairs of a question."""
    pairs = question_pairs(model, graph, stage, rows, protocol, k, (calibrator.input,))
    return {"k": k} | figures(calibrator.apply(pairs.x[calibrator.input]), pairs.answer)


def asked_customers(relevant: torch.Tensor, held: torch.Tensor, protocol: str) -> torch.Tensor:
    """Who a question asks: as-of, every customer known then (holding something); latest, those with an answer."""
    return held.any(1) if protocol == "asof" else relevant.any(1)


def fit(x: np.ndarray, y: np.ndarray, method: str) -> dict:
    """:class:`Calibrator` parameters of ``method`` fitted to inputs ``x`` and answers ``y``."""
    if method == "platt":
        return _platt(x, y)
    return _isotonic(x, y)


def calibrate(pairs: Pairs, k: int = WRITTEN_K) -> tuple[Calibrator, dict]:
    """The calibrator validation chooses, fitted on all of ``pairs``, and how each candidate did.

    Each method-input pair is fitted on one half of the customers and judged on the other's
    top ``k`` pairs, and the other way round; the lowest Brier score wins (ties: the first
    of :data:`METHODS` x :data:`INPUTS`). The account: the candidates' Brier scores and the
    winner's cross-fitted :func:`figures`.
    """
    half = np.random.default_rng(FOLDS_SEED).permutation(int(pairs.customer.max()) + 1 if len(pairs.customer) else 0)
    fold = (half[pairs.customer] % 2).astype(bool) if len(pairs.customer) else np.zeros(0, dtype=bool)
    crossed: dict[tuple[str, str], np.ndarray] = {}
    for method in METHODS:
        for name in INPUTS:
            if method == "isotonic" and name in TWO_D:
                continue
            predicted = np.zeros(len(pairs.answer))
            for side in (False, True):
                fitted = Calibrator(method, name, fit(pairs.x[name][fold != side], pairs.answer[fold != side], method))
                predicted[fold == side] = fitted.apply(pairs.x[name][fold == side])
            crossed[(method, name)] = predicted
    top = pairs.top(k)
    brier = {key: float(np.mean((p[top] - pairs.answer[top]) ** 2)) if top.any() else 0.0 for key, p in crossed.items()}
    method, name = min(brier, key=brier.get)
    calibrator = Calibrator(method, name, fit(pairs.x[name], pairs.answer, method))
    return calibrator, {
        "method": method,
        "input": name,
        "tried": {f"{m} of {i}": round(b, 6) for (m, i), b in brier.items()},
        "val": {"k": k} | figures(crossed[(method, name)][top], pairs.answer[top]),
    }


def figures(predicted: np.ndarray, answer: np.ndarray, bins: int = BINS) -> dict:
    """How well ``predicted`` probabilities match ``answer`` (0/1): the expected calibration error
    over ``bins`` equal-mass bins (pairs sorted by probability, cut into equal counts; each bin's
    |mean probability - share taken|, weighted by its pairs), the Brier score, its skill against
    predicting the base rate (the share taken among these pairs: 1 - Brier / rate(1 - rate);
    above 0 is better than the rate), and the reliability table (per bin: probability, share
    taken, pairs)."""
    n = len(answer)
    if not n:
        return {"pairs": 0}
    order = np.argsort(predicted, kind="stable")
    table = []
    for chunk in np.array_split(order, min(bins, n)):
        table.append(
            {
                "probability": round(float(predicted[chunk].mean()), 6),
                "taken": round(float(answer[chunk].mean()), 6),
                "pairs": len(chunk),
            }
        )
    ece = sum(b["pairs"] * abs(b["probability"] - b["taken"]) for b in table) / n
    rate = float(answer.mean())
    brier = float(np.mean((predicted - answer) ** 2))
    reference = rate * (1 - rate)
    return {
        "pairs": n,
        "baseRate": round(rate, 6),
        "ece": round(float(ece), 6),
        "brier": round(brier, 6),
        "brierSkill": round(1 - brier / reference, 6) if reference > 0 else None,
        "bins": table,
    }


def _isotonic(x: np.ndarray, y: np.ndarray) -> dict:
    """Pool-adjacent-violators: the non-decreasing step function of ``x`` closest to ``y`` in
    squared error, as its steps (``x``: where each starts; ``y``: its value)."""
    if not len(x):
        return {"x": [0.0], "y": [0.0]}
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order].astype(np.float64)
    starts, index = np.unique(xs, return_index=True)  # tied inputs pooled first: one value per input
    counts = np.diff(np.append(index, len(xs)))
    sums = np.add.reduceat(ys, index)
    block_x, block_sum, block_n = [], [], []
    for start, total, count in zip(starts.tolist(), sums.tolist(), counts.tolist()):
        block_x.append(start)
        block_sum.append(total)
        block_n.append(count)
        while len(block_n) > 1 and block_sum[-2] / block_n[-2] >= block_sum[-1] / block_n[-1]:
            total, count = block_sum.pop(), block_n.pop()
            block_x.pop()
            block_sum[-1] += total
            block_n[-1] += count
    values = [round(s / c, 6) for s, c in zip(block_sum, block_n)]
    return {"x": [float(v) for v in block_x], "y": values}


def _platt(x: np.ndarray, y: np.ndarray, steps: int = 50) -> dict:
    """Logistic regression of ``y`` on ``x`` (one input a pair, or ``[pairs, d]``; Newton's
    method on the standardised inputs): ``{"a", "b"}`` of ``sigmoid(a · x + b)``, ``a`` a number
    for one input, a list for several."""
    one = x.ndim == 1
    x = x.reshape(len(x), -1).astype(np.float64)
    if not len(x):
        return {"a": 0.0 if one else [0.0] * x.shape[1], "b": -20.0}
    mean, spread = x.mean(0), x.std(0)
    spread[spread == 0] = 1.0
    design = np.column_stack([(x - mean) / spread, np.ones(len(x))])
    w = np.zeros(design.shape[1])
    for _ in range(steps):
        p = _sigmoid(design @ w)
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hessian, design.T @ (p - y))
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    if not np.isfinite(w).all():  # separable answers (none, or all, taken): the base rate, flat
        rate = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
        a, b = np.zeros(x.shape[1]), float(np.log(rate / (1 - rate)))
    else:
        a, b = w[:-1] / spread, float(w[-1] - (w[:-1] * mean / spread).sum())
    return {"a": float(a[0]) if one else [float(v) for v in a], "b": b}


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))
