"""The baselines a bank's data scientist brings: hand-checked item-item models, and signals the learners must find."""

import numpy as np
import pandas as pd
import pytest
import torch

from wbgraph.gnn import baselines, boosted
from wbgraph.gnn.data import Side, Stage
from wbgraph.gnn.metrics import ranking_metrics
from wbgraph.gnn.neighbours import EaseSolver, item_knn, recency_weights, rp3beta

DAY = 86_400.0


def test_item_knn_keeps_each_products_nearest_neighbours_with_shrunk_cosine():
    x = torch.tensor([[1, 1, 0], [1, 0, 1], [1, 1, 1]], dtype=torch.float32)
    # co-occurrence: |0|=3, |1|=2, |2|=2; co(0,1)=2, co(0,2)=2, co(1,2)=1
    s01, s02, s12 = 2 / (np.sqrt(6) + 1), 2 / (np.sqrt(6) + 1), 1 / (2 + 1)
    scores = item_knn(x, None, shrink=1.0) - 1e-3 * x.sum(0) / 3  # without the popularity tie-break
    assert scores[0].tolist() == pytest.approx([s01, s01, s02 + s12], abs=1e-6)
    # one neighbour each: product 2's nearest is 0, so customer 0 (holding 0 and 1) hears only s02 for it
    one = item_knn(x, 1, shrink=1.0) - 1e-3 * x.sum(0) / 3
    assert one[0, 2].item() == pytest.approx(s02, abs=1e-6)


def test_rp3beta_is_the_three_step_walk_discounted_by_popularity_from_either_side():
    generator = torch.Generator().manual_seed(3)
    for shape in ((5, 9), (9, 5)):  # fewer customers than products, and more
        x = (torch.rand(*shape, generator=generator) < 0.5).float()
        x[:, 0] = 1.0
        p_cp = (x / x.sum(1, keepdim=True).clamp(min=1)) ** 0.5
        p_pc = (x / x.sum(0, keepdim=True).clamp(min=1)) ** 0.5
        w = p_pc.T @ p_cp / x.sum(0).clamp(min=1)[None, :] ** 0.25
        w.fill_diagonal_(0.0)
        assert torch.allclose(rp3beta(x, 0.5, 0.25), x @ w, atol=1e-5), shape
    # by hand: two customers holding {0, 1} and {1}; customer 1's walk to product 0
    x = torch.tensor([[1, 1], [0, 1]], dtype=torch.float32)
    # P_cp: c0 -> 0, 1 each 1/2; c1 -> 1 is 1. P_pc: product 1 -> c0, c1 each 1/2; W[1, 0] = 1/2 * 1/2 = 1/4
    assert rp3beta(x, 1.0, 0.0)[1, 0].item() == pytest.approx(0.25, abs=1e-6)


def test_ease_recency_weighs_each_holding_by_its_age_before_reading_eases_weights():
    x = torch.tensor([[1, 1, 0, 0], [1, 0, 1, 0], [0, 1, 1, 1], [1, 1, 0, 1]], dtype=torch.float32)
    for n_customers in (4, 3):  # more customers than products, and fewer (Woodbury)
        m = x[:n_customers]
        g = m.double().T @ m.double() + 3.0 * torch.eye(4, dtype=torch.float64)
        p = torch.linalg.inv(g)
        b = torch.eye(4, dtype=torch.float64) - p / torch.diag(p)[None, :]
        w = m * torch.rand(m.shape, generator=torch.Generator().manual_seed(0))
        assert torch.allclose(EaseSolver(m, 3.0).scores(w), (w.double() @ b).float(), atol=1e-5)
    # the weights: half-life in adoptions (latest = 0) or in days before the question's date
    rows = pd.DataFrame({"customerId": ["a", "a", "a"], "productId": ["p", "q", "r"], "firstDate": [0, 10, 20]})
    rows["lastDate"] = [30 * DAY, 10 * DAY, 25 * DAY]
    assert recency_weights(rows, 30 * DAY, "adoptions", 1.0).tolist() == [0.25, 0.5, 1.0]
    assert recency_weights(rows, 30 * DAY, "days since held", 10.0).tolist() == pytest.approx([1.0, 0.25, 0.5**0.5])


def _windows(rule, n_customers=600, n_products=8, windows=4, seed=0, share=None):
    """Questions a month apart, each of fresh holdings (one product a customer, product j twice as
    often as j + 1: popularity keeps its order, as real products' does), in which half the customers
    newly take what ``rule(type, holdings, rng)`` says: the same signal every month."""
    rng = np.random.default_rng(seed)
    types = rng.choice(["X", "Y"], n_customers)
    share = 0.5 ** np.arange(n_products) if share is None else np.asarray(share, dtype=float)
    stages = []
    for w in range(windows):
        held = torch.zeros(n_customers, n_products, dtype=torch.bool)
        first = rng.choice(n_products, n_customers, p=share / share.sum())
        held[torch.arange(n_customers), torch.as_tensor(first)] = True
        taken = torch.zeros_like(held)
        for c in range(n_customers):
            choice = rule(types[c], held[c].nonzero().flatten().tolist(), rng) if rng.random() < 0.5 else None
            if choice is not None and not held[c, choice]:
                taken[c, choice] = True
        stages.append(Stage.from_matrices(held, taken, asof=w * 30 * DAY))
    customers = pd.DataFrame({"customerId": [f"c{i}" for i in range(n_customers)], "customerType": types})
    products = pd.DataFrame({"productId": [f"p{j}" for j in range(n_products)]})
    return stages, Side(customers, products, np.zeros(n_customers, int), 30.0)


def _test_figure(method, stages, side):
    history, (val, test) = stages[:-2], stages[-2:]
    fitted = baselines.fit_all(history, val, test, side, only=[method])[method]
    return ranking_metrics(fitted.scores, test.answers(), test.held(), ks=(1,))["hit@1"]


def test_the_boosted_tree_learns_an_attribute_rule_that_popularity_cannot_see():
    # customers of type X take product 6, those of type Y product 7; what they hold does not matter
    stages, side = _windows(lambda kind, holds, rng: 6 if kind == "X" else 7)
    assert _test_figure("boosted tree", stages, side) > 0.9
    assert _test_figure("popularity", stages, side) < 0.7


def test_the_boosted_tree_learns_a_co_holding_rule():
    # a customer holding product j takes product (j + 1) mod 4 + 4 next: what it holds decides
    # (holdings spread evenly over products 0-3, so what they take next is spread evenly over 4-7)
    rule = lambda kind, holds, rng: (holds[0] + 1) % 4 + 4
    stages, side = _windows(rule, seed=1, share=[1, 1, 1, 1, 0, 0, 0, 0])
    assert _test_figure("boosted tree", stages, side) > 0.9
    assert _test_figure("popularity", stages, side) < 0.5


def test_lightgcn_learns_a_co_holding_rule(monkeypatch):
    # most customers hold a pair (j, j + 4); the ones holding only j are asked for j + 4, in validation and test
    rng = np.random.default_rng(2)
    j = torch.as_tensor(rng.integers(0, 4, 600))
    held = torch.zeros(600, 8, dtype=torch.bool)
    held[torch.arange(600), j] = True
    pairs = torch.arange(600) >= 200
    held[torch.arange(600)[pairs], j[pairs] + 4] = True
    answers = torch.zeros_like(held)
    answers[torch.arange(200), j[:200] + 4] = True
    val, test = (answers & (torch.arange(600) < 100)[:, None]), (answers & (torch.arange(600) >= 100)[:, None])
    stages = [Stage.from_matrices(held, val), Stage.from_matrices(held | val, test)]
    side = Side(
        pd.DataFrame({"customerId": range(600)}), pd.DataFrame({"productId": range(8)}), np.zeros(600, int), 30.0
    )
    monkeypatch.setattr(baselines, "LIGHTGCN_EPOCHS", 100)
    assert _test_figure("LightGCN", stages, side) > 0.9
    assert _test_figure("popularity", stages, side) < 0.5


def test_the_boosted_trees_importances_name_its_features_and_add_up():
    stages, side = _windows(lambda kind, holds, rng: 6 if kind == "X" else 7, n_customers=200)
    *history, val, test = stages
    fitted = baselines.fit_all(history, val, test, side, only=["boosted tree"])["boosted tree"]
    importance = fitted.details["importance"]
    assert next(iter(importance)) in ("customerType", "product")  # the rule's features lead
    assert sum(importance.values()) == pytest.approx(1.0, abs=0.01)
    assert 1 <= fitted.chosen["trees"] <= boosted.MAX_TREES


def test_lightgcns_batch_embeddings_are_pygs_whole_graph_embeddings(monkeypatch):
    from torch_geometric.nn import LightGCN

    from wbgraph.gnn import factors

    x = (torch.rand(30, 7, generator=torch.Generator().manual_seed(4)) < 0.3).float()
    x[0] = 0.0  # a customer without holdings
    c, p = x.nonzero(as_tuple=True)
    edges = torch.stack([torch.cat([c, p + 30]), torch.cat([p + 30, c])])
    torch.manual_seed(0)
    model = LightGCN(37, 8, 3)
    whole = model.get_embedding(edges)
    some = torch.tensor([0, 3, 29, 3])
    for small_side in (factors.SMALL_SIDE, 0):  # from the product side, and over the whole graph
        monkeypatch.setattr(factors, "SMALL_SIDE", small_side)
        customers, products = factors.Propagation(x).embeddings(model, some)
        assert torch.allclose(customers, whole[some], atol=1e-6) and torch.allclose(products, whole[30:], atol=1e-6)
        everyone, _ = factors.Propagation(x).embeddings(model)
        assert torch.allclose(everyone, whole[:30], atol=1e-6)
