"""Calibrated probability: a score becomes the chance the customer takes the product, fitted and chosen on validation."""

import json

import numpy as np
import pytest
import torch

from wbgraph.config import TrainConfig
from wbgraph.gnn import calibration
from wbgraph.gnn.calibration import Calibrator, Pairs, calibrate, figures, fit
from wbgraph.gnn.data import prepare_tables
from wbgraph.gnn.export import tables_from_rows
from wbgraph.gnn.restore import calibrator_of
from wbgraph.gnn.train import fit as train_fit
from wbgraph.runs import CALIBRATION, Run


def logistic_pairs(n_customers=4000, k=20, seed=0, slope=1.5, offset=-4.0):
    """Top-``k`` pairs whose answers are drawn at ``sigmoid(slope * score + offset)``: a known truth."""
    rng = np.random.default_rng(seed)
    score = rng.normal(size=n_customers * k)
    truth = 1 / (1 + np.exp(-(slope * score + offset)))
    answer = (rng.random(len(score)) < truth).astype(float)
    rank = np.tile(np.arange(1, k + 1), n_customers)
    customer = np.repeat(np.arange(n_customers), k)
    holdings = np.column_stack([score - 3.0, rng.normal(size=len(score))])  # the customer's holdings say nothing here
    return Pairs({"score": score, "share": score - 3.0, "share and holdings": holdings}, answer, rank, customer), truth


def test_isotonic_regression_is_the_closest_non_decreasing_steps():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    y = np.array([0.0, 1.0, 0.0, 0.0, 1.0, 1.0])  # 2 and 3-4 violate the order: pooled to 1/3
    steps = fit(x, y, "isotonic")
    assert steps == {"x": [1.0, 2.0, 5.0], "y": [0.0, 0.333333, 1.0]}
    iso = Calibrator("isotonic", "score", steps)
    assert iso.apply(np.array([0.0, 1.5, 2.0, 4.9, 9.0])).tolist() == [0.0, 0.0, 0.333333, 0.333333, 1.0]


def test_platt_scaling_recovers_a_logistic_truth_of_one_input_or_two():
    pairs, _ = logistic_pairs()
    params = fit(pairs.x["score"], pairs.answer, "platt")
    assert params["a"] == pytest.approx(1.5, abs=0.1) and params["b"] == pytest.approx(-4.0, abs=0.15)
    two = fit(pairs.x["share and holdings"], pairs.answer, "platt")  # the share is the score less 3; noise beside it
    assert two["a"][0] == pytest.approx(1.5, abs=0.1) and abs(two["a"][1]) < 0.1
    assert two["b"] == pytest.approx(-4.0 + 3 * 1.5, abs=0.35)
    both = Calibrator("platt", "share and holdings", two)
    assert both.apply(pairs.x["share and holdings"][:5]).shape == (5,)


def test_the_figures_tell_a_calibrated_forecast_from_an_overconfident_one_and_from_the_base_rate():
    pairs, truth = logistic_pairs(seed=1)
    honest = figures(truth, pairs.answer)
    assert honest["ece"] < 0.01 and honest["brierSkill"] > 0.05
    assert len(honest["bins"]) == 10 and sum(b["pairs"] for b in honest["bins"]) == len(truth)
    assert [b["probability"] for b in honest["bins"]] == sorted(b["probability"] for b in honest["bins"])
    doubled = figures(np.minimum(1, 2 * truth), pairs.answer)
    assert doubled["ece"] > 0.03 and doubled["brierSkill"] < honest["brierSkill"]
    rate = figures(np.full(len(truth), pairs.answer.mean()), pairs.answer)
    assert rate["brierSkill"] == pytest.approx(0.0, abs=1e-9)  # the base rate has no skill over itself
    assert figures(np.zeros(0), np.zeros(0)) == {"pairs": 0}


def test_validation_chooses_the_calibrator_on_customers_it_was_not_fitted_on():
    pairs, truth = logistic_pairs(seed=2)
    calibrator, account = calibrate(pairs, k=10)
    every = {f"{m} of {i}" for m in calibration.METHODS for i in calibration.INPUTS}
    assert set(account["tried"]) == every - {f"isotonic of {i}" for i in calibration.TWO_D}  # isotonic: one input
    assert account["method"] == calibrator.method and account["input"] == calibrator.input
    assert account["val"]["k"] == 10 and account["val"]["pairs"] == int((pairs.rank <= 10).sum())
    fresh, fresh_truth = logistic_pairs(seed=3)  # new customers from the same truth
    predicted = calibrator.apply(fresh.x[calibrator.input])
    assert figures(predicted, fresh.answer)["ece"] < 0.01
    assert np.abs(predicted - fresh_truth).mean() < 0.01
    raw = 1 / (1 + np.exp(-fresh.x["score"]))  # a score read as a probability as it is
    assert figures(raw, fresh.answer)["ece"] > 0.2
    assert Calibrator.from_json(json.loads(json.dumps(calibrator.to_json()))) == calibrator


def test_the_input_is_the_share_which_a_constant_per_customer_does_not_move_and_the_raw_score_is_not_chosen():
    """Training's softmax leaves each customer's scores free by a constant, so the refit's raw
    scores need not mean what the chosen model's did; the share does not move with it."""
    scores = torch.tensor([[3.0, 1.0, 2.0], [0.5, 0.2, -1.0]])
    candidates = torch.tensor([[True, True, False], [True, True, True]])
    shifted = scores + torch.tensor([[5.0], [-2.0]])
    moved, kept = calibration.inputs(shifted, candidates, ("score", "share")), calibration.inputs(scores, candidates)
    assert torch.allclose(moved["share"], kept["share"]) and not torch.allclose(moved["score"], scores)
    assert "score" not in calibration.INPUTS
    pairs, _ = logistic_pairs(seed=4)
    _, account = calibrate(pairs, k=10)
    assert not any(tried.endswith("of score") for tried in account["tried"])
    old = Calibrator("isotonic", "score", fit(pairs.x["score"], pairs.answer, "isotonic"))  # a run saved with it
    p = old.probabilities(scores, candidates)
    assert p[0, 0] >= p[0, 1] and p[0, 2] == 0.0


def test_probabilities_are_the_candidates_only_and_follow_the_ranking():
    scores = torch.tensor([[3.0, 1.0, 2.0], [0.5, 0.2, -1.0]])
    candidates = torch.tensor([[True, True, False], [True, True, True]])
    x = np.linspace(-10, 5, 200)
    y = (x > -1).astype(float)
    calibrators = [Calibrator(m, "share", fit(x, y, m)) for m in calibration.METHODS]
    calibrators.append(Calibrator("platt", "share and holdings", fit(np.column_stack([x, x / 10]), y, "platt")))
    for cal in calibrators:
        p = cal.probabilities(scores, candidates)
        picked = cal.at(cal.input_of(scores, candidates), np.array([[0, 1], [2, -1]]))
        assert picked[0].tolist() == [p[0, 0], p[0, 1]] and picked[1, 0] == p[1, 2] and np.isnan(picked[1, 1])
        assert p[0, 2] == 0.0  # held: no probability
        assert ((0 <= p) & (p <= 1)).all()
        assert p[0, 0] >= p[0, 1] and p[1, 0] >= p[1, 1] >= p[1, 2]


@pytest.mark.parametrize("protocol", ["asof", "latest"])
def test_training_fits_the_calibrator_on_validation_and_keeps_it_with_the_run(generated, tmp_path, protocol):
    """Both protocols: the validation account and the test figures in metrics, the map in the run folder."""
    asof = {"cutoff": "2025-09-01"} if protocol == "asof" else {}
    data = prepare_tables(tables_from_rows(generated["rows"], **asof, **({"horizon": "1m"} if asof else {})))
    config = TrainConfig(epochs=6, hidden=8, patience=6, **asof)
    fitted = train_fit(data, config)
    account = fitted.calibration
    held, answers = data.val.held(), data.val.answers()
    asked = held.any(1) if protocol == "asof" else answers.any(1)  # as-of: a customer who took nothing counts
    assert account["val"]["pairs"] == int(np.minimum(10, (~held[asked]).sum(1).numpy()).sum())
    assert 0 < account["val"]["baseRate"] < 1 and account["test"]["k"] == 10 and account["test"]["pairs"] > 0
    assert all(0 <= b["probability"] <= 1 for b in account["test"]["bins"])
    kept = {CALIBRATION: fitted.calibrator.to_json()}
    run = Run.create(tmp_path, "r1", fitted.model, data.encoders, config, {"history": []}, artefacts=kept)
    assert calibrator_of(run) == fitted.calibrator
    assert calibrator_of(Run.create(tmp_path, "old", fitted.model, data.encoders, config, {"history": []})) is None
