"""Graph learning: exporter, split, metrics, model and the train/evaluate commands."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from wbgraph.gnn.evaluate import score_all, verdict
from wbgraph.gnn.metrics import ranking_metrics
from wbgraph.gnn.split import temporal_split


def test_metrics_match_hand_computed_examples():
    scores = torch.tensor([[0.9, 0.8, 0.7, 0.1], [0.1, 0.2, 0.3, 0.4], [1.0, 0.0, 0.0, 0.0]])
    relevant = torch.tensor([[False, True, False, False], [True, False, True, False], [False, False, False, False]])
    exclude = torch.tensor([[True, False, False, False], [False, False, False, False], [False, False, False, False]])
    m = ranking_metrics(scores, relevant, exclude, ks=(1, 2))
    # customer 0: item 0 excluded, so item 1 ranks first. customer 1: ranking 3,2,1,0; relevant 0 and 2.
    # customer 2 has nothing held out and is not counted.
    assert m["customers"] == 2
    assert m["recall@1"] == pytest.approx((1 + 0) / 2)
    assert m["recall@2"] == pytest.approx((1 + 0.5) / 2)
    assert m["precision@2"] == pytest.approx((0.5 + 0.5) / 2)
    assert m["hit@2"] == pytest.approx(1.0)
    ndcg_1 = (1 / np.log2(3)) / (1 + 1 / np.log2(3))  # hit at rank 2 of an ideal 2
    assert m["ndcg@2"] == pytest.approx((1 + ndcg_1) / 2, rel=1e-5)
    assert m["map@2"] == pytest.approx((1 + 0.5 / 2) / 2)
    assert m["coverage@1"] == pytest.approx(2 / 4)


def test_split_holds_out_each_customers_latest_adoptions():
    frame = pd.DataFrame({
        "customerId": ["a"] * 4 + ["b"] * 2,
        "productId": ["p1", "p2", "p3", "p4", "p1", "p2"],
        "firstDate": [4, 1, 3, 2, 1, 2],
    })
    split = temporal_split(frame)
    assert frame.productId[split.test].tolist() == ["p1"]  # a's latest
    assert frame.productId[split.val].tolist() == ["p3"]  # a's second latest
    assert split.train.tolist() == [False, True, False, True, True, True]  # b is too short to hold out


def test_verdict_says_plainly_when_the_model_does_not_win():
    assert verdict({"gat": {"ndcg@10": 0.20}, "popularity": {"ndcg@10": 0.21}}).startswith("The GAT does not beat popularity")
    assert verdict({"gat": {"ndcg@10": 0.30}, "popularity": {"ndcg@10": 0.21}}).startswith("The GAT beats every baseline")


def test_export_round_trip(backend, small_graph):
    from wbgraph.db import connect
    from wbgraph.gnn.export import Encoders, build_graph, fetch

    frame = pd.read_csv(small_graph / "g.csv")
    with connect(backend.settings) as driver:
        tables = fetch(driver, backend.settings, page_size=40, edge_page_size=15, workers=3)  # several pages, read in parallel
        assert fetch(driver, backend.settings).interactions.equals(tables.interactions)  # paging changes nothing
    assert len(tables.customers) == frame["Customer ID"].nunique()
    assert len(tables.products) == frame["Product ID"].nunique()
    pairs = frame.groupby(["Customer ID", "Product ID"]).size()
    assert len(tables.interactions) == len(pairs)
    exported = tables.interactions.set_index(["customerId", "productId"])["transactionCount"].sort_index()
    assert exported.tolist() == pairs.sort_index().tolist()

    encoders = Encoders.fit(tables)
    assert encoders.customer_ids == sorted(frame["Customer ID"].unique())
    graph = build_graph(tables, encoders, tables.interactions)
    assert graph["customer"].x.shape == (len(tables.customers), 3 + 5 + 6 + 5 + 3 + 4)
    assert graph["customer", "uses", "product"].edge_index.shape[1] == len(pairs)
    assert torch.equal(graph["product", "rev_uses", "customer"].edge_index, graph["customer", "uses", "product"].edge_index.flip(0))
    assert graph["customer", "in_industry", "industry"].edge_index.shape[1] == len(tables.customers)
    assert abs(float(graph["customer", "uses", "product"].edge_attr.mean())) < 0.5  # standardised

    again = Encoders.from_json(encoders.to_json())
    rebuilt = build_graph(tables, again, tables.interactions)
    for node_type in ("customer", "product"):
        assert torch.equal(rebuilt[node_type].x, graph[node_type].x)
    assert torch.equal(rebuilt["customer", "uses", "product"].edge_attr, graph["customer", "uses", "product"].edge_attr)


def test_date_window_limits_interactions(backend, small_graph):
    from wbgraph.db import connect
    from wbgraph.gnn.export import fetch

    frame = pd.read_csv(small_graph / "g.csv", parse_dates=["Transaction Date"])
    early = frame[frame["Transaction Date"] < "2025-04-01"]
    with connect(backend.settings) as driver:
        tables = fetch(driver, backend.settings, until="2025-04-01T00:00:00Z", location="London")
    expected = early[early["Location"] == "London"].groupby(["Customer ID", "Product ID"]).size()
    assert len(tables.interactions) == len(expected)
    assert set(tables.customers["location"]) == {"London"}


def test_model_overfits_a_tiny_graph(backend, small_graph):
    from wbgraph.db import connect
    from wbgraph.gnn.export import Encoders, build_graph, fetch
    from wbgraph.gnn.model import HeteroGATRecommender

    torch.manual_seed(0)
    with connect(backend.settings) as driver:
        tables = fetch(driver, backend.settings)
    encoders = Encoders.fit(tables)
    graph = build_graph(tables, encoders, tables.interactions)
    model = HeteroGATRecommender(graph.metadata(), {t: graph[t].num_nodes for t in graph.node_types},
                                 {t: graph[t].x.shape[1] for t in ("customer", "product")},
                                 {et: 5 for et in graph.edge_types if "edge_attr" in graph[et]}, hidden=32, dropout=0.0)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    c, p = graph["customer", "uses", "product"].edge_index
    for _ in range(150):
        h = model.encode(graph.x_dict, graph.edge_index_dict, graph.edge_attr_dict)
        negative = torch.randint(0, graph["product"].num_nodes, (len(c),))
        loss = -torch.nn.functional.logsigmoid(model.pair_score(h["customer"][c], h["product"][p], p)
                                               - model.pair_score(h["customer"][c], h["product"][negative], negative)).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    scores = score_all(model, graph)
    held = torch.zeros_like(scores, dtype=torch.bool)
    held[c, p] = True
    m = ranking_metrics(scores, held, torch.zeros_like(held), ks=(20,))
    assert m["recall@20"] > 0.95  # it can memorise what it was shown


def test_train_saves_a_run_and_evaluate_reproduces_its_test_scores(cli, backend, small_graph, tmp_path):
    runs = tmp_path / "runs"
    result = cli("train", "--epochs", "8", "--hidden", "16", "--runs-dir", str(runs), "--json")
    assert result.exit_code == 0, result.output
    trained = json.loads(result.output)
    run_dir = runs / trained["run_id"]
    assert (runs / "latest").read_text().strip() == trained["run_id"]
    for name in ("model.pt", "encoders.json", "config.json", "metrics.json"):
        assert (run_dir / name).is_file()
    assert (run_dir / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    state = torch.load(run_dir / "model.pt", weights_only=True)
    assert "product_bias" in state

    evaluated = cli("evaluate", "--runs-dir", str(runs), "--truth", str(small_graph / "t.json"), "--json")
    assert evaluated.exit_code == 0, evaluated.output
    report = json.loads(evaluated.output)
    assert set(report["metrics"]) == {"gat", "popularity", "segment popularity", "item kNN", "matrix factorisation",
                                      "oracle", "oracle, attributes only", "oracle, from history"}
    assert report["metrics"]["gat"]["ndcg@10"] == pytest.approx(trained["test"]["ndcg@10"], abs=1e-6)  # reloaded model, same scores
    assert report["metrics"]["oracle"]["shareOfOracleRecall@10"] == pytest.approx(1.0)
    assert report["metrics"]["oracle, from history"]["shareOfHistoryOracleRecall@10"] == pytest.approx(1.0)
    table = cli("evaluate", "--runs-dir", str(runs))
    assert table.exit_code == 0 and "matrix factorisation" in table.output and "GAT" in table.output


def test_damaged_run_is_a_clear_error(cli, backend, small_graph, tmp_path):
    runs = tmp_path / "runs"
    assert cli("evaluate", "--runs-dir", str(runs)).output.strip() == f"Error: No trained run in {runs}: run `wbgraph train` first."
    assert cli("train", "--epochs", "1", "--hidden", "8", "--runs-dir", str(runs), "--silent").exit_code == 0
    run_dir = runs / (runs / "latest").read_text().strip()
    (run_dir / "model.pt").write_bytes((run_dir / "model.pt").read_bytes()[:100])
    result = cli("evaluate", "--runs-dir", str(runs))
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: Run {run_dir} cannot be loaded")

    marker = tmp_path / "pwned"
    torch.save({"weights": Tampered(str(marker))}, run_dir / "model.pt")  # a pickle that would run code
    result = cli("evaluate", "--runs-dir", str(runs))
    assert result.exit_code == 1 and result.output.startswith(f"Error: Run {run_dir} cannot be loaded"), result.output
    assert not marker.exists()  # weights_only=True refused to run it


class Tampered:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.path}",))
