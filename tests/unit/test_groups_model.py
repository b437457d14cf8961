"""Corporate groups reach the model and the baselines: a member hears what the rest of its group holds."""

import pandas as pd
import pytest
import torch

from wbgraph.config import TrainConfig
from wbgraph.gnn.baselines import fit_all
from wbgraph.gnn.data import Encoders, group_edges, group_popularity, prepare_tables
from wbgraph.gnn.export import tables_from_rows
from wbgraph.gnn.train import fit
from wbgraph.graphmodel import GROUP_KEY, GROUP_USES_EDGE
from wbgraph.loaders.generate import generate, write
from wbgraph.loaders.hierarchy import check_hierarchy
from wbgraph.loaders.validate import validate


@pytest.fixture(scope="module")
def grouped_tables(tmp_path_factory):
    folder = tmp_path_factory.mktemp("groups")
    generated = generate(4000, seed=3, customers=200, products=20, truth=False, groups=True)
    write(generated, folder / "rows.csv", hierarchy=folder / "groups.csv")
    stakes = check_hierarchy(folder / "groups.csv")
    return tables_from_rows(validate(folder / "rows.csv").rows, hierarchy=stakes.rows)


def test_a_member_is_linked_to_every_product_the_rest_of_its_group_holds():
    enc = Encoders(["A", "B", "C", "D"], ["p1", "p2", "p3"])
    customers = pd.DataFrame({"customerId": ["A", "B", "C", "D"], GROUP_KEY: ["G", "G", "G", None]})
    held = [("A", "p1"), ("B", "p2"), ("C", "p1"), ("D", "p3")]
    customer = enc.customer_index([c for c, _ in held])
    product = enc.product_index([p for _, p in held])
    edges, share = group_edges(customers, enc, customer, product)
    named = {(enc.customer_ids[c], enc.product_ids[p]): s for (c, p), s in zip(edges.T.tolist(), share[:, 0].tolist())}
    # A holds p1 itself, and C does too: the edge says what the others hold, whatever A holds
    assert named == {("A", "p1"): 0.5, ("A", "p2"): 0.5, ("B", "p1"): 1.0, ("C", "p1"): 0.5, ("C", "p2"): 0.5}


def test_group_popularity_is_the_share_of_the_rest_of_the_group_that_holds_a_product():
    held = torch.tensor([[1.0, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1]])
    shares = group_popularity(held, [0, 0, 0, -1])
    assert shares.tolist() == [[0.5, 0.5, 0.0], [1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 0.0]]


def test_the_groups_reach_the_graph_as_known_at_each_question_unless_ignored(grouped_tables):
    data = prepare_tables(grouped_tables)
    assert data.encoders.groups and GROUP_USES_EDGE in data.train_graph.edge_types
    assert ("product", "rev_group_uses", "customer") in data.train_graph.edge_types
    test = data.test
    expected, share = group_edges(grouped_tables.customers, data.encoders, test.customer, test.product)
    assert torch.equal(data.test_graph[GROUP_USES_EDGE].edge_index, expected)  # from what the test question knows
    assert torch.equal(data.test_graph[GROUP_USES_EDGE].edge_attr, share)
    val = data.val
    at_val, _ = group_edges(grouped_tables.customers, data.encoders, val.customer, val.product)
    assert at_val.shape[1] < expected.shape[1]  # the group holds less at the earlier question
    without = prepare_tables(grouped_tables, ignore=(GROUP_KEY,))
    assert not without.encoders.groups and GROUP_USES_EDGE not in without.train_graph.edge_types
    assert any("ultimateParentId: left out of the model on request" in n for n in without.encoders.notes())


def test_the_model_trains_with_groups_whole_and_in_customer_batches_and_group_popularity_is_a_baseline(
    grouped_tables,
):
    data = prepare_tables(grouped_tables)
    for config in (
        TrainConfig(epochs=3, hidden=8, patience=3, refit=False, gat_task="mask"),
        TrainConfig(epochs=2, hidden=8, refit=False, gat_task="temporal", batch_customers=50),
    ):
        trained = fit(data, config)
        assert torch.isfinite(trained.model.score_all(data.test_graph)[0]).all()
    fitted = fit_all(data.history, data.val, data.test, data.side(0), only=["group popularity", "popularity"])
    assert set(fitted) == {"group popularity", "popularity"}
    plain = prepare_tables(grouped_tables, ignore=(GROUP_KEY,))
    assert "group popularity" not in fit_all(
        plain.history, plain.val, plain.test, plain.side(0), only=["group popularity"]
    )


def test_the_boosted_tree_reads_the_share_of_the_group_holding_each_candidate(grouped_tables):
    import numpy as np

    from wbgraph.gnn import boosted

    data = prepare_tables(grouped_tables)
    features, _, _ = boosted.pair_features(data.test, data.side(0), 10.0, np.unique(data.test.customer))
    assert "groupShare" in features and 0 < features["groupShare"].max() <= 1
    plain = prepare_tables(grouped_tables, ignore=(GROUP_KEY,))
    without, _, _ = boosted.pair_features(plain.test, plain.side(0), 10.0, np.unique(plain.test.customer))
    assert "groupShare" not in without


def test_the_group_part_adds_the_groups_holdings_in_spreads_at_the_weight_validation_chose(grouped_tables):
    from wbgraph.gnn.model import mixed, with_group
    from wbgraph.gnn.scoring import GROUP_WEIGHTS

    scores = torch.tensor([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]])
    group = torch.tensor([[1.0, 0.0, 0.0], [0.5, 0.0, 0.0]])
    out = with_group(scores, group, 2.0)
    assert out[0].tolist() == [3.0, 2.0, 3.0]  # + 2 spreads (a standard deviation of 1) x all of the group
    assert out[1].tolist() == [5.0, 5.0, 5.0]  # no spread, nothing added: the weight is relative to the scores
    assert with_group(scores, None, 2.0) is scores and with_group(scores, group, 0.0) is scores
    data = prepare_tables(grouped_tables)
    trained = fit(data, TrainConfig(epochs=2, hidden=8, refit=False, gat_task="mask"))
    weight, tried = float(trained.model.group_weight), trained.val["groupWeights"]
    assert sorted(map(float, tried)) == list(GROUP_WEIGHTS) and tried[str(weight)] == max(tried.values())
    gat, channel, _ = trained.model.parts(data.test_graph)
    served = with_group(mixed(gat, channel, trained.model.mix), trained.model.group_of(data.test_graph), weight)
    assert torch.allclose(trained.model.score_all(data.test_graph)[0], served)


def test_a_newcomer_that_holds_nothing_inherits_what_its_group_holds(grouped_tables, tmp_path):
    import dataclasses

    from wbgraph.gnn.restore import Restored
    from wbgraph.runs import Run
    from wbgraph.writeback.plan import Newcomers, plan_restored

    customers = grouped_tables.customers
    group = customers[GROUP_KEY].value_counts().index[0]  # the largest group
    members = set(customers.loc[customers[GROUP_KEY] == group, "customerId"])
    newcomer = customers[customers["customerId"].isin(members)].head(1).assign(customerId="NEW-1")
    tables = dataclasses.replace(grouped_tables, customers=pd.concat([customers, newcomer], ignore_index=True))
    data = prepare_tables(tables)
    config = TrainConfig(epochs=1, hidden=8, refit=False, gat_task="mask")
    fitted = fit(data, config)
    run = Run.create(tmp_path, "20261205-000000-s0", fitted.model, data.encoders, config, {"history": []})
    planned = plan_restored(Restored(run, config, data, fitted.model), top_k=3, newcomers=Newcomers({"NEW-1"}, {}))
    (row,) = planned.rows
    holders = tables.interactions[tables.interactions["customerId"].isin(members)]
    counts = holders.groupby("productId")["customerId"].nunique().sort_values(ascending=False)
    assert row["source"] == "group popularity"
    picks = [r["productId"] for r in row["recommendations"]]
    assert [counts[p] for p in picks] == counts.iloc[:3].tolist()  # the products most of its group holds
