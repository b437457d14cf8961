"""Graph learning without a server: metrics, split, encoders, model, training, baselines, config."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch
from torch_geometric.nn import GATv2Conv

from wbgraph.config import TrainConfig
from wbgraph.errors import ConfigError, NotEnoughData
from wbgraph.gnn import baselines, loop, losses, memory, race, scoring
from wbgraph.gnn.data import Encoders, Side, Stage, build_graph, prepare_tables
from wbgraph.gnn.ease import ease, ease_neighbours
from wbgraph.gnn.evaluate import check_gate, gate, verdict
from wbgraph.gnn.export import GraphTables, tables_from_rows
from wbgraph.gnn.factors import lightgcn, matrix_factorisation
from wbgraph.gnn.loop import patience_at
from wbgraph.gnn.memory import batch_subgraph, default_budget
from wbgraph.gnn.metrics import bootstrap_difference, per_customer, ranking_metrics, ranking_metrics_by_chunks
from wbgraph.gnn.model import CO_ADOPTED, HeteroGATRecommender, bpr_loss
from wbgraph.gnn.neighbours import item_knn, rp3beta
from wbgraph.gnn.scoring import MIXES, validate
from wbgraph.gnn.split import supervision_split, temporal_split
from wbgraph.gnn.train import fit
from wbgraph.graphmodel import CONTEXTS, REV_USES_EDGE, USES_EDGE


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
    frame = pd.DataFrame(
        {
            "customerId": ["a"] * 4 + ["b"] * 2,
            "productId": ["p1", "p2", "p3", "p4", "p1", "p2"],
            "firstDate": [4, 1, 3, 2, 1, 2],
        }
    )
    split = temporal_split(frame)
    assert frame.productId[split.test].tolist() == ["p1"]  # a's latest
    assert frame.productId[split.val].tolist() == ["p3"]  # a's second latest
    assert split.train.tolist() == [False, True, False, True, True, True]  # b is too short to hold out


def test_split_holds_out_the_latest_share_of_each_customers_history_and_of_the_rest_for_validation():
    # a: 12 interactions -> test floor(0.2*12)=2, validation floor(0.2*10)=2; b: 3 -> 1 and 1; c: 2 -> trains only.
    # b's two products on one date are ordered by product ID.
    frame = pd.DataFrame(
        {
            "customerId": ["a"] * 12 + ["b"] * 3 + ["c"] * 2,
            "productId": [f"p{i:02d}" for i in range(12)] + ["x", "z", "y"] + ["p1", "p2"],
            "firstDate": list(range(12, 0, -1)) + [1, 5, 5] + [1, 2],
        }
    )
    split = temporal_split(frame, holdout_share=0.2)
    assert frame.productId[split.test].tolist() == ["p00", "p01", "z"]
    assert frame.productId[split.val].tolist() == ["p02", "p03", "y"]
    assert split.sizes() == {"train": 8 + 1 + 2, "val": 3, "test": 3}
    half = temporal_split(frame, holdout_share=0.5)
    assert frame.productId[half.test & (frame.customerId == "a")].tolist() == [f"p{i:02d}" for i in range(6)]
    assert frame.productId[half.val & (frame.customerId == "a")].tolist() == ["p06", "p07", "p08"]


def test_verdict_says_plainly_when_the_model_does_not_win():
    assert verdict({"gat": {"ndcg@10": 0.20}, "popularity": {"ndcg@10": 0.21}}).startswith(
        "The GAT does not beat popularity"
    )
    assert verdict({"gat": {"ndcg@10": 0.30}, "popularity": {"ndcg@10": 0.21}}).startswith(
        "The GAT beats the best baseline on validation, popularity"
    )


def test_encoders_map_the_same_way_after_a_round_trip_through_json(generated):
    tables = generated["tables"]
    encoders = Encoders.fit(tables)
    assert encoders.customer_ids == sorted(generated["rows"]["customerId"].unique())
    graph = build_graph(tables, encoders, tables.interactions)
    assert graph["customer"].x.shape == (len(tables.customers), 3 + 5 + 6 + 5 + 3 + 4)
    assert graph["customer", "uses", "product"].edge_index.shape[1] == len(tables.interactions)
    assert torch.equal(
        graph["product", "rev_uses", "customer"].edge_index, graph["customer", "uses", "product"].edge_index.flip(0)
    )
    assert graph["customer", "in_industry", "industry"].edge_index.shape[1] == len(tables.customers)
    assert abs(float(graph["customer", "uses", "product"].edge_attr.mean())) < 0.5  # standardised
    again = Encoders.from_json(encoders.to_json())
    rebuilt = build_graph(tables, again, tables.interactions)
    for node_type in ("customer", "product"):
        assert torch.equal(rebuilt[node_type].x, graph[node_type].x)
    assert torch.equal(rebuilt["customer", "uses", "product"].edge_attr, graph["customer", "uses", "product"].edge_attr)


def test_the_graph_has_a_node_and_edge_type_per_context_of_the_graph_model(generated):
    tables = generated["tables"]
    graph = build_graph(tables, Encoders.fit(tables), tables.interactions)
    for context in CONTEXTS:
        assert context.node_type in graph.node_types
        assert context.edge_type in graph.edge_types
        src, rel, dst = context.edge_type
        assert (dst, "rev_" + rel, src) in graph.edge_types


@pytest.mark.parametrize("layers", [1, 2])
def test_the_last_attention_round_passes_only_the_messages_a_score_reads(generated, layers):
    tables = generated["tables"]
    graph = build_graph(tables, Encoders.fit(tables), tables.interactions)
    torch.manual_seed(0)
    model = HeteroGATRecommender.for_graph(graph, TrainConfig(hidden=16, layers=layers)).eval()
    h = model.initial(graph.x_dict)  # every round over every edge type, as before the shortcut
    for conv, norms in zip(model.convs, model.norms):
        out = conv(h, graph.edge_index_dict, edge_attr_dict=graph.edge_attr_dict)
        h = {t: norms[t](h[t] + torch.nn.functional.elu(out[t])) if t in out else h[t] for t in h}
    assert any(dst not in ("customer", "product") for _, _, dst in graph.edge_types)
    fast = model.encode_graph(graph)
    for node_type in ("customer", "product"):
        assert torch.allclose(fast[node_type], h[node_type], atol=1e-6), node_type


def test_model_overfits_a_tiny_graph(generated):
    torch.manual_seed(0)
    tables = generated["tables"]
    graph = build_graph(tables, Encoders.fit(tables), tables.interactions)
    model = HeteroGATRecommender.for_graph(graph, TrainConfig(hidden=32))
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    c, p = graph["customer", "uses", "product"].edge_index
    for _ in range(150):
        h = model.encode_graph(graph)
        negative = torch.randint(0, graph["product"].num_nodes, (len(c),))
        loss = bpr_loss(
            model.pair_score(h["customer"][c], h["product"][p], p),
            model.pair_score(h["customer"][c], h["product"][negative], negative),
        )
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    scores, _ = model.score_all(graph)
    held = torch.zeros_like(scores, dtype=torch.bool)
    held[c, p] = True
    m = ranking_metrics(scores, held, torch.zeros_like(held), ks=(20,))
    assert m["recall@20"] > 0.95  # it can memorise what it was shown


@pytest.mark.parametrize("loss", ["softmax", "bpr"])
def test_training_beats_popularity_on_validation_and_is_deterministic(generated, loss):
    data = prepare_tables(generated["tables"])
    config = TrainConfig(
        epochs=60, hidden=16, loss=loss, patience=60, refit=False, gat_task="mask"
    )  # refit, tasks: own tests
    first = fit(data, config)
    short = dataclasses.replace(config, epochs=8, patience=8)
    assert fit(data, short).history == fit(data, short).history  # same seed, same tables: the same run
    seen = data.val.held()
    popular = ranking_metrics(baselines.popularity(seen.float()), data.val.answers(), seen)
    assert first.val["ndcg@10"] > popular["ndcg@10"]
    assert 1 <= first.best_epoch <= 60 and len(first.history) <= 60


def test_the_saved_model_learns_the_chosen_epochs_again_from_training_and_validation(generated, monkeypatch):
    data = prepare_tables(generated["tables"])
    config = TrainConfig(epochs=12, hidden=16, patience=12, gat_task="mask")
    chosen, refit = fit(data, dataclasses.replace(config, refit=False)), fit(data, config)
    # validation made every choice before the refit: the same curve, best epoch, validation figures and mix
    assert refit.history == chosen.history and refit.best_epoch == chosen.best_epoch and refit.val == chosen.val
    assert refit.model.mix.tolist() == chosen.model.mix.tolist()
    used = [e for part, e in chosen.part_epochs.items() if chosen.model.mix[scoring.PARTS.index(part)] != 0]
    assert (refit.refit_epochs, chosen.refit_epochs) == (max(used), 0)  # the parts that score, to their epochs
    weights = zip(refit.model.state_dict().values(), chosen.model.state_dict().values(), strict=True)
    assert not all(torch.equal(a, b) for a, b in weights)  # the saved model is the refit one
    # what each epoch learns from: the training part, then (the refit) training and validation
    learned_from = []
    monkeypatch.setattr(
        loop, "_epoch", lambda lessons, *args, **kwargs: learned_from.append(len(lessons.customer)) or 0.0
    )
    flat = fit(data, config)  # nothing learns, so the first epoch is the best: one epoch refit
    train, val = int(data.split.train.sum()), int(data.split.val.sum())
    assert flat.best_epoch == 1 and learned_from == [train] * len(flat.history) + [train + val]


def test_a_part_the_mix_leaves_out_is_not_refitted_but_kept_as_chosen(generated, monkeypatch):
    monkeypatch.setattr(scoring, "MIXES", ((0.0, 1.0),))  # validation can only choose the channel alone
    data = prepare_tables(generated["tables"])
    config = TrainConfig(epochs=6, hidden=16, patience=6, gat_task="mask")
    chosen = loop.choose(data, config)
    gat, channel = chosen.model.part_state("gat"), chosen.model.part_state("channel")
    final = loop.finish(data, config, chosen)
    assert final.refit_epochs == chosen.part_epochs["channel"]  # only the part that scores is trained again
    assert all(torch.equal(v, final.model.part_state("gat")[k]) for k, v in gat.items())
    assert not all(torch.equal(v, final.model.part_state("channel")[k]) for k, v in channel.items())


def test_early_stopping_waits_longer_the_longer_training_has_run():
    # patience early on; a quarter of the epochs so far once that is more (plateaus lengthen)
    assert [patience_at(epoch, 20) for epoch in (1, 30, 80, 81, 84, 400)] == [20, 20, 20, 20, 21, 100]


def test_baselines_rank_what_customers_hold_together():
    # customers 0-2 hold products 0 and 1; customer 3 holds only 0: the item-item and embedding models propose 1.
    train = torch.tensor([[1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 0, 1], [1, 0, 0, 0]], dtype=torch.float32)
    held = train.bool()
    for scores in (
        item_knn(train),
        item_knn(train, neighbours=1, shrink=10.0),
        rp3beta(train, 1.0, 0.5),
        ease(train, 1.0),
        matrix_factorisation(train, epochs=300, seed=1)[0],
        lightgcn(train, dim=8, epochs=100, seed=1, batch_size=4)[0],
    ):
        masked = scores.masked_fill(held, float("-inf"))
        assert int(masked[3].argmax()) == 1
    popular = baselines.popularity(train)
    assert popular[0].tolist() == [4, 3, 0, 1]
    by_segment = baselines.segment_popularity(train, np.array([0, 0, 1, 1]))
    assert int(by_segment[3].masked_fill(held[3], float("-inf")).argmax()) == 1


def test_ease_gives_the_same_scores_from_the_customer_side_and_the_product_side():
    generator = torch.Generator().manual_seed(0)
    wide = (torch.rand(6, 15, generator=generator) < 0.4).float()  # fewer customers than products: Woodbury
    tall = wide.T.contiguous()  # more customers than products: the item-item inverse
    for x in (wide, tall):
        g = x.double().T @ x.double() + 5.0 * torch.eye(x.shape[1], dtype=torch.float64)
        p = torch.linalg.inv(g)
        b = torch.eye(x.shape[1], dtype=torch.float64) - p / torch.diag(p)[None, :]  # Steck's closed form
        assert torch.allclose(ease(x, 5.0), (x.double() @ b).float(), atol=1e-5)
        assert torch.allclose(torch.diag(b), torch.zeros(x.shape[1], dtype=torch.float64), atol=1e-9)


def test_every_baseline_chooses_on_validation_and_is_fitted_on_training_and_validation(monkeypatch):
    # products 0/1 and 2/3 are pairs. Validation shows that pairs matter; the test-time model
    # must also know customer 3's validation interaction (product 2) to propose product 3.
    train = torch.tensor([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 1, 0, 0]], dtype=torch.float32)
    val = torch.tensor([[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [1, 0, 1, 0]], dtype=torch.bool)
    known = train.bool() | val
    history = [Stage.from_matrices(torch.tensor([[1, 0, 0, 0]] * 4).bool(), train.bool() & ~torch.eye(4).bool())]
    stages = Stage.from_matrices(train.bool(), val), Stage.from_matrices(known, torch.zeros_like(known))
    side = Side(
        pd.DataFrame({"customerId": list("abcd")}), pd.DataFrame({"productId": list("pqrs")}), np.zeros(4, int), None
    )
    monkeypatch.setattr(baselines, "LIGHTGCN_EPOCHS", 20)
    fitted = baselines.fit_all(history, *stages, side)
    assert set(fitted) == set(baselines.BASELINES) - {"group popularity"}  # no corporate groups here
    assert fitted["EASE"].chosen["lambda"] in baselines.EASE_LAMBDAS
    assert fitted["EASE-recency"].chosen["lambda"] == fitted["EASE"].chosen["lambda"]  # EASE's choice, then the decay
    assert 1 <= fitted["matrix factorisation"].chosen["epochs"] <= 300
    assert 1 <= fitted["LightGCN"].chosen["epochs"] <= 20
    assert fitted["item kNN"].chosen.keys() == {"neighbours", "shrink"}
    assert fitted["popularity"].chosen["of"] in baselines.POPULARITY_OF
    assert all(f.validation["customers"] == 1 and "ndcg@10" in f.validation for f in fitted.values())
    for name in ("item kNN", "EASE", "RP3beta"):
        row = fitted[name].scores[3].masked_fill(known[3], float("-inf"))
        assert int(row.argmax()) == 3, name
    some = baselines.fit_all(history, *stages, side, only=["popularity", "EASE"])
    assert set(some) == {"popularity", "EASE"}  # evaluate --baselines: the slow ones left out on request


def test_the_bootstrap_interval_is_above_zero_only_for_a_consistent_win():
    rng = np.random.default_rng(0)
    baseline = rng.uniform(0, 1, 400)
    better = baseline + 0.05 + rng.normal(0, 0.02, 400)
    noisy = baseline + rng.normal(0, 0.3, 400)
    win = bootstrap_difference(better, baseline)
    assert win["low"] > 0 and win["high"] > win["low"] and win["ratio"] > 1
    assert win["difference"] == pytest.approx(float((better - baseline).mean()))
    tie = bootstrap_difference(noisy, baseline)
    assert tie["low"] < 0 < tie["high"]
    same = bootstrap_difference(baseline, baseline)
    assert same["low"] == same["high"] == 0.0


def test_per_customer_figures_average_to_the_reported_metrics():
    generator = torch.Generator().manual_seed(1)
    scores = torch.rand(30, 12, generator=generator)
    relevant = torch.rand(30, 12, generator=generator) < 0.2
    exclude = (torch.rand(30, 12, generator=generator) < 0.2) & ~relevant
    means = ranking_metrics(scores, relevant, exclude, ks=(10,))
    rows = per_customer(scores, relevant, exclude)
    assert len(rows["recall@10"]) == means["customers"]
    assert float(rows["recall@10"].mean()) == pytest.approx(means["recall@10"], rel=1e-6)
    assert float(rows["ndcg@10"].mean()) == pytest.approx(means["ndcg@10"], rel=1e-6)


def test_the_gate_needs_the_margin_over_every_named_baseline_with_evidence():
    rng = np.random.default_rng(0)
    popularity = rng.uniform(0, 0.4, 500)
    figures = {"gat": popularity + 0.1 + rng.normal(0, 0.05, 500), "popularity": popularity}
    figures["EASE"] = figures["gat"] - 0.01 + rng.normal(0, 0.05, 500)  # level with the model
    assert gate(figures, ["popularity"], "recall@10", 0.02)["passed"]
    failed = gate(figures, ["popularity", "EASE"], "recall@10", 0.05)
    assert not failed["passed"] and [s["baseline"] for s in failed["shortfalls"]] == ["EASE"]
    shortfall = failed["shortfalls"][0]
    assert shortfall["needed"] == pytest.approx(1.05 * figures["EASE"].mean())
    assert shortfall["low"] < 0  # the interval of model - 1.05 x EASE reaches below zero
    # a point estimate ahead is not evidence: a model that beats popularity by luck does not pass
    noise = {"gat": rng.uniform(0, 1, 80), "popularity": rng.uniform(0, 1, 80)}
    noise["gat"] = noise["gat"] - noise["gat"].mean() + noise["popularity"].mean() + 0.01
    assert noise["gat"].mean() > noise["popularity"].mean() and not gate(noise, ["popularity"], "map@7", 0.0)["passed"]
    with pytest.raises(ConfigError, match="no baseline named 'ease'"):
        check_gate(["ease"], "recall@10", 0.0)
    with pytest.raises(ConfigError, match="--metric"):
        check_gate(["EASE"], "recall@11", 0.0)
    check_gate(["EASE"], "map@7", 0.0, k=7)  # MAP at --k
    with pytest.raises(ConfigError, match="--metric"):
        check_gate(["EASE"], "map@7", 0.0)
    with pytest.raises(ConfigError, match="--baselines: no baseline named 'knn'"):
        check_gate([], "recall@10", 0.0, ["knn"])
    with pytest.raises(ConfigError, match="names 'EASE', which --baselines leaves out"):
        check_gate(["EASE"], "recall@10", 0.0, ["popularity"])


def test_too_little_history_is_a_one_line_error():
    interactions = pd.DataFrame(
        {
            "customerId": ["a", "a"],
            "productId": ["p", "q"],
            "firstDate": [1, 2],
            "lastDate": [1, 2],
            "transactionCount": [1, 1],
            "totalValue": [1.0, 1.0],
            "totalAmount": [1.0, 1.0],
            "meanUsage": [1.0, 1.0],
            "meanEngagement": [1.0, 1.0],
        }
    )
    with pytest.raises(NotEnoughData, match="3 or more"):
        prepare_tables(GraphTables(pd.DataFrame(), pd.DataFrame(), interactions))


@pytest.mark.parametrize(
    "settings,message",
    [
        ({"loss": "hinge"}, "loss must be one of softmax, bpr"),
        ({"epochs": "ten"}, "epochs must be a whole number"),
        ({"hidden": 30, "heads": 4}, "divisible by heads"),
        ({"device": "tpu"}, "device must be"),
        ({"memory_budget": "lots"}, "memory_budget must be a size such as 6GB"),
        ({"fanout": 0}, "fanout must be 1 or more"),
        ({"temporal_dropout": 1.0}, r"temporal_dropout must be in \[0, 1\)"),
        ({"customer_embeddings": True}, "unknown settings: customer_embeddings"),
    ],
)
def test_a_wrong_training_setting_is_an_error_not_ignored(settings, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig.load(None, **settings)


def test_the_model_defaults_are_the_training_defaults():
    import inspect

    defaults = {
        k: v.default
        for k, v in inspect.signature(HeteroGATRecommender).parameters.items()
        if v.default is not inspect.Parameter.empty
    }
    config = TrainConfig()
    assert defaults == {name: getattr(config, name) for name in defaults}


def test_a_feature_without_any_value_is_left_out_with_a_note_and_training_still_works(generated):
    from wbgraph.loaders.columns import COLUMNS

    rows = generated["rows"].copy()
    optional = [c.prop for c in COLUMNS if not c.required and c.kind != "id"]
    rows[optional] = None
    from wbgraph.gnn.export import tables_from_rows

    tables = tables_from_rows(rows)
    data = prepare_tables(tables)
    notes = data.encoders.notes()
    assert "industry: no value in the data, left out of the model" in notes
    assert "meanUsage: no value in the data, left out of the model" in notes
    graph = data.train_graph
    assert not {c.node_type for c in CONTEXTS} & set(graph.node_types)  # no empty context node types
    assert graph["customer"].x.shape[1] == 1 and "x" not in graph["product"]  # a constant; IDs alone
    fitted = fit(data, TrainConfig(epochs=3, hidden=8))
    assert np.isfinite(fitted.val["ndcg@10"])


def test_the_item_channel_gives_the_same_scores_dense_and_gathered(generated, monkeypatch):
    from wbgraph.gnn import data as data_module
    from wbgraph.gnn import model as model_module

    data = prepare_tables(generated["tables"])
    graph = data.train_graph
    assert CO_ADOPTED in graph.edge_types  # EASE's neighbours, fitted on the graph's own interactions
    model = HeteroGATRecommender.for_graph(graph, TrainConfig(hidden=8))
    dense = model.parts(graph)[1]
    monkeypatch.setattr(model_module, "DENSE_CHANNEL_PRODUCTS", 0)
    gathered = model.parts(graph)[1]
    assert torch.allclose(dense, gathered, atol=1e-5)
    monkeypatch.setattr(data_module, "DENSE_CHANNEL_PRODUCTS", 0)  # a graph that keeps its gathering plan
    kept = prepare_tables(generated["tables"]).train_graph
    assert "gather_target" in kept[CO_ADOPTED] and torch.equal(model.parts(kept)[1], gathered)


def test_the_channel_of_some_customers_is_their_rows_of_the_whole_channel(generated, monkeypatch):
    from wbgraph.gnn import model as model_module

    data = prepare_tables(generated["tables"])
    model = HeteroGATRecommender.for_graph(data.train_graph, TrainConfig(hidden=8))
    some = torch.tensor([7, 3, 120, 0])
    with torch.no_grad():
        whole = model.channel_of(data.train_graph)
        assert torch.allclose(model.channel_of(data.train_graph, some), whole[some], atol=1e-6)
        monkeypatch.setattr(model_module, "DENSE_CHANNEL_PRODUCTS", 0)  # the gathered path, without the kept plan
        assert torch.allclose(model.channel_of(data.train_graph, some), whole[some], atol=1e-5)


def test_scores_ranked_a_block_of_rows_at_a_time_give_the_figures_of_the_whole_matrix():
    generator = torch.Generator().manual_seed(0)
    scores = torch.rand(50, 30, generator=generator)
    relevant = torch.rand(50, 30, generator=generator) < 0.1
    exclude = (torch.rand(50, 30, generator=generator) < 0.2) & ~relevant
    blocks = [(scores[i : i + 7], relevant[i : i + 7], exclude[i : i + 7]) for i in range(0, 50, 7)]
    assert ranking_metrics_by_chunks(blocks, 30) == ranking_metrics(scores, relevant, exclude)


def test_a_step_of_customer_batches_passes_messages_into_its_customers_and_a_sample_into_products(generated):
    data = prepare_tables(generated["tables"])
    graph = data.train_graph
    uses = graph[USES_EDGE].edge_index
    hidden = torch.zeros(uses.shape[1], dtype=torch.bool)
    hidden[::3] = True
    batch = torch.arange(40, 0, -1)  # customers 40 .. 1, in this order
    in_batch = torch.zeros(graph["customer"].num_nodes, dtype=torch.bool)
    in_batch[batch] = True
    x, edges, attrs = batch_subgraph(graph, hidden, batch, 1000, torch.Generator().manual_seed(0))
    assert torch.equal(x["customer"][:40], graph["customer"].x[batch])  # the batch first, in its order
    into_customers = edges[REV_USES_EDGE]
    assert (into_customers[1] < 40).all()  # only the batch's customers hear their products ...
    assert into_customers.shape[1] == int((~hidden & in_batch[uses[0]]).sum())  # ... all they visibly hold
    assert edges[USES_EDGE].shape[1] == int((~hidden).sum())  # a fanout above every degree: every visible edge
    assert attrs[USES_EDGE].shape[0] == edges[USES_EDGE].shape[1]
    assert x["customer"].shape[0] == int(torch.unique(uses[0][~hidden | in_batch[uses[0]]]).numel())
    _, few, _ = batch_subgraph(graph, hidden, batch, 5, torch.Generator().manual_seed(0))
    heard = torch.bincount(few[USES_EDGE][1], minlength=graph["product"].num_nodes).float()
    assert heard.mean() < 10 < torch.bincount(edges[USES_EDGE][1]).float().mean()  # about fanout each, drawn


def test_a_graph_over_the_memory_budget_trains_in_customer_batches_and_still_learns(generated):
    data = prepare_tables(generated["tables"])
    one = {"hidden": 16, "gat_task": "mask", "refit": False}  # one task, no refit: the batching is what is tested
    trained = fit(data, TrainConfig(epochs=20, patience=20, memory_budget="100KB", **one))
    assert not trained.batches["fullBatch"] and trained.batches["customersPerStep"] < data.n_customers
    seen = data.val.held()
    popular = ranking_metrics(baselines.popularity(seen.float()), data.val.answers(), seen)
    assert trained.val["ndcg@10"] > popular["ndcg@10"]
    short = TrainConfig(epochs=2, memory_budget="100KB", **one)
    assert fit(data, short).history == fit(data, short).history  # batches and samples are drawn from the seed
    assert fit(data, TrainConfig(epochs=1, **one)).batches["fullBatch"]
    bpr = fit(data, TrainConfig(epochs=2, loss="bpr", memory_budget="100KB", **one))
    assert np.isfinite(bpr.history[-1]["loss"])


def test_the_item_channels_gathering_plans_count_against_the_memory_budget(generated, monkeypatch):
    from wbgraph.gnn import data as data_module

    monkeypatch.setattr(data_module, "DENSE_CHANNEL_PRODUCTS", 0)  # graphs that keep a gathering plan
    data = prepare_tables(generated["tables"])
    mask = TrainConfig(gat_task="mask")  # its one question (the channel's) is a graph of its own
    plans = memory.plan_bytes(data.train_graph) * 2 + memory.plan_bytes(data.test_graph)
    assert plans > 0 and memory.channel_plans(data, mask) == plans
    assert memory.channel_plans(data, dataclasses.replace(mask, channel=False)) == 0
    estimate = memory.plan_batches(data, mask).estimate
    fits = memory.plan_batches(data, dataclasses.replace(mask, memory_budget=str(estimate + plans)))
    assert fits.full and fits.describe()["channelPlans"] == plans
    short = memory.plan_batches(data, dataclasses.replace(mask, memory_budget=str(estimate + plans // 2)))
    assert not short.full and "item channel's plans" in short.reason  # the scores alone would have fitted
    assert "no batch makes them smaller" not in short.reason
    under = memory.plan_batches(data, dataclasses.replace(mask, memory_budget=str(plans // 2)))
    assert under.customers == memory.MIN_BATCH and "no batch makes them smaller" in under.reason


def test_batch_customers_makes_an_epoch_several_steps_even_when_the_graph_fits(generated, monkeypatch):
    data = prepare_tables(generated["tables"])
    steps = []
    real_step = torch.optim.Adam.step
    monkeypatch.setattr(torch.optim.Adam, "step", lambda self, *a, **k: steps.append(1) or real_step(self, *a, **k))
    whole = fit(data, TrainConfig(epochs=1, hidden=16, refit=False, gat_task="mask"))
    assert whole.batches["fullBatch"] and len(steps) == 1  # the graph fits: one step an epoch
    steps.clear()
    batched = fit(data, TrainConfig(epochs=1, hidden=16, refit=False, batch_customers=40, gat_task="mask"))
    assert not batched.batches["fullBatch"] and batched.batches["customersPerStep"] == 40
    assert 2 <= len(steps) <= -(-data.n_customers // 40)  # a step per 40 customers with something to predict
    with pytest.raises(ConfigError, match="batch_customers"):
        TrainConfig(batch_customers=-1)


def test_tune_races_every_setting_on_validation_and_only_the_winner_is_tested(generated):
    data = prepare_tables(generated["tables"])
    grid = {"hidden": (8, 16), "lr": (0.01, 0.003)}
    config = TrainConfig(epochs=4, patience=2, refit=False, gat_task="mask")
    chosen, config, tried = race.tune(data, config, grid)
    assert [(t["hidden"], t["lr"]) for t in tried] == [(8, 0.01), (8, 0.003), (16, 0.01), (16, 0.003)]
    assert sum("leftAt" in t for t in tried) == 2  # the worse half at the first rung (the patience: 2 epochs)
    best = max((t for t in tried if "leftAt" not in t), key=lambda t: t["val"]["ndcg@10"])
    assert (config.hidden, config.lr) == (best["hidden"], best["lr"])  # the best on validation, its settings kept
    assert chosen.val["ndcg@10"] == best["val"]["ndcg@10"] and chosen.test == {}  # no test figure while tuning
    assert chosen.model.hidden == config.hidden
    final = loop.finish(data, config, chosen)
    assert "ndcg@10" in final.test


def test_tune_races_the_settings_as_given_and_keeps_them_when_none_does_better(generated, monkeypatch):
    data = prepare_tables(generated["tables"])
    config = TrainConfig(epochs=12, patience=2, refit=False, hidden=16, gat_task="mask", channel=False)
    given = loop.choose(data, config)
    trained = []
    monkeypatch.setattr(loop.Training, "advance", _counting(loop.Training.advance, trained))
    chosen, kept, tried = race.tune(data, config, {"lr": (1e-9, 0.01, 1e-8)}, given=given)
    assert [t["lr"] for t in tried] == [0.01, 1e-9, 1e-8] and tried[0]["given"]  # first; 0.01 not raced twice
    assert tried[0]["val"]["ndcg@10"] == given.val["ndcg@10"] and tried[0]["epochs"] == len(given.history)
    assert chosen is given and kept == config  # no setting that cannot learn beats it
    assert {lr for lr, _ in trained} == {1e-9, 1e-8}  # the given settings were not trained again


def _counting(advance, calls: list):
    def counted(self, until, *args, **kwargs):
        calls.append((self.config.lr, until))
        return advance(self, until, *args, **kwargs)

    return counted


def test_a_training_paused_while_another_trains_goes_on_exactly_as_straight_through(generated):
    data = prepare_tables(generated["tables"])
    config = TrainConfig(epochs=6, patience=50, refit=False, hidden=16, dropout=0.3, gat_task="mask")
    straight = loop.choose(data, config)
    paused = loop.Training(data, config)
    paused.advance(3)
    loop.Training(data, dataclasses.replace(config, seed=7)).advance(4)  # draws on the same global random state
    paused.advance(6)
    resumed = paused.result()
    assert [h["loss"] for h in paused.history] == [h["loss"] for h in straight.history]  # dropout drew the same
    assert resumed.val == straight.val and resumed.part_epochs == straight.part_epochs


def test_a_race_keeps_the_better_half_at_each_rung_and_its_winner_trains_as_if_alone(generated):
    data = prepare_tables(generated["tables"])
    grid = {"lr": (0.01, 1e-9, 0.003, 1e-8)}  # two settings that cannot learn
    config = TrainConfig(epochs=12, patience=2, refit=False, hidden=16, gat_task="mask", channel=False)
    chosen, config, tried = race.tune(data, config, grid)  # rungs at 2 epochs (the patience), then 4
    assert [t.get("leftAt") for t in tried][1::2] == [2, 2]  # behind at the first rung: the half left there
    behind = [t for t in tried[0::2] if "leftAt" in t]
    assert [t["leftAt"] for t in behind] == [4]  # of the two that learn, one left at the second rung
    alone = loop.choose(data, config)  # the winner trained by itself, no race around it
    assert [h["loss"] for h in chosen.history] == [h["loss"] for h in alone.history] and chosen.val == alone.val
    assert behind[0]["val"]["ndcg@10"] <= max(h["valNdcg@10"] for h in chosen.history[:4])  # it was behind


def test_settings_too_close_to_tell_apart_at_a_rung_all_go_on(generated, monkeypatch):
    data = prepare_tables(generated["tables"])
    grid = {"lr": (0.01, 0.005, 0.003, 1e-8)}
    config = TrainConfig(epochs=12, patience=2, refit=False, hidden=16, gat_task="mask", channel=False)
    first = [(0.50, 0.5), (0.49, 0.5), (0.48, 0.49), (0.10, 0.1)]  # (best mix, GAT part alone) at epoch 2
    standings = iter(first + [(0.5, 0.5), (0.47, 0.5), (0.49, 0.5)] + [(0.5, 0.5), (0.4, 0.4)])
    monkeypatch.setattr(race, "standing", lambda history: next(standings))  # as if these were the curves
    _, _, tried = race.tune(data, config, grid, margin=0.05)
    # three within 5% of the leader on both figures at the first rung: more than half go on; then 0.47
    # trails 0.5 by 6% (left at 4), and 0.4 by 20% (left at 8)
    assert [t.get("leftAt") for t in tried] == [None, 4, 8, 2]
    standings = iter(first + [(0.5, 0.5), (0.47, 0.5)])
    _, _, tried = race.tune(data, config, grid, margin=0.0)  # without a margin: the better half, as ever
    assert [t.get("leftAt") for t in tried] == [None, 4, 2, 2]


def test_a_rung_judges_only_settings_on_their_last_task_the_others_go_on_unjudged():
    def run(figure, judgeable=True):
        return type("Run", (), {"judgeable": judgeable, "history": [{"valNdcg@10": figure, "alone": {"gat": figure}}]})

    runs = [run(0.5), run(0.4), run(0.3), run(0.1, judgeable=False)]  # the last still on the hidden links
    ahead, standings = race._ahead(runs, [0, 1, 2, 3], margin=0.0)
    assert ahead == [0, 1, 3] and set(standings) == {0, 1, 2}  # the better half of three, and the last unjudged
    assert race._ahead(runs, [2, 3], margin=0.0)[0] == [2, 3]  # one judged: it is its own better half
    waiting = [run(0.5, judgeable=False), run(0.1, judgeable=False)]
    assert race._ahead(waiting, [0, 1], margin=0.0) == ([0, 1], {})  # none judgeable: all go on


def test_an_auto_training_is_judgeable_only_after_the_patience_on_the_earlier_questions(generated):
    data = prepare_tables(generated["tables"])
    config = TrainConfig(epochs=60, patience=2, refit=False, hidden=16, channel=False)
    training = loop.Training(data, config)
    seen = []  # (task, epochs on it, judgeable) after each epoch
    while not training.finished:
        training.advance(training.epoch + 1)
        seen.append((training.lessons.task, training.epoch - training.lessons.since, training.judgeable))
    on_links = [judged for task, _, judged in seen if task == "mask"]
    assert on_links and not any(on_links[:-1])  # never on the hidden links (the last: finished there, or switched)
    questions = [(on, judged) for task, on, judged in seen[:-1] if task == "temporal"]
    assert questions, "the generated data's GAT part goes on to the earlier questions"
    assert all(judged == (on >= config.patience) for on, judged in questions)
    assert seen[-1][2]  # finished: judgeable
    masked = loop.Training(data, dataclasses.replace(config, gat_task="mask"))
    masked.advance(1)
    assert not masked.judgeable
    masked.advance(2)
    assert masked.judgeable  # one task: judgeable from the patience on, as ever
    mixed = loop.Training(data, dataclasses.replace(config, channel=True))
    mixed.advance(2)
    assert mixed.lessons.task == "mask"  # the hidden links stop after two epochs without gain at the earliest
    for epoch in mixed.history:
        epoch["mix"] = [0.0, 1.0]  # as if the item channel alone had been the best mix so far
    assert mixed.judgeable  # the GAT part's task does not move the figure judged: the patience is enough
    for epoch in mixed.history:
        epoch["mix"] = [1.0, 0.5]
    assert not mixed.judgeable


@pytest.mark.parametrize(("gat", "goes_on"), [(0.30, False), (0.45, True)])  # below / above 3/4 of the channel's 0.5
def test_auto_keeps_a_gat_part_out_of_the_item_channels_reach_on_the_hidden_links(generated, monkeypatch, gat, goes_on):
    data = prepare_tables(generated["tables"])
    config = TrainConfig(epochs=40, patience=2, refit=False, hidden=16)

    def channel_decides(*args):  # every epoch: the item channel alone the best mix, each part alone as given
        return {"ndcg@10": 0.5}, (0.0, 1.0), {"gat": gat, "channel": 0.5}

    monkeypatch.setattr(loop, "validate", channel_decides)
    training = loop.Training(data, config)
    training.advance(config.epochs)
    tasks = {h["gatTask"] for h in training.history}
    assert training.finished and training.links_only == (not goes_on)
    assert tasks == ({"mask", "temporal"} if goes_on else {"mask"})
    assert training.epoch == (3 + config.patience if goes_on else 1 + config.patience)  # each task's patience
    assert training.judgeable and training.gat_phases() == {"mask": 1, "temporal": 0}


@pytest.mark.parametrize("batch_customers", [0, 40])  # full batch, and customer batches
def test_auto_trains_the_gat_part_on_the_hidden_links_then_on_the_earlier_questions_from_their_best(
    generated, monkeypatch, batch_customers
):
    data = prepare_tables(generated["tables"])
    config = TrainConfig(epochs=40, patience=2, refit=False, hidden=16, channel=False, batch_customers=batch_customers)
    started = []  # the GAT part's weights when it went on to the earlier questions, and its best on the hidden links
    go_on = loop.Training._go_on_temporal

    def watched(training, epoch):
        before = training.model.dropout
        go_on(training, epoch)
        started.append((training.model.part_state("gat"), training.stopping.state["gat"], epoch))
        convs = [module for conv in training.model.convs for module in conv.convs.values()]
        assert before == config.dropout  # the hidden links without dropout, the earlier questions with it
        assert training.model.dropout == config.temporal_dropout == 0.1
        assert {module.dropout for module in convs} == {0.1}  # the attention's too

    monkeypatch.setattr(loop.Training, "_go_on_temporal", watched)
    fitted = loop.choose(data, config)
    tasks = [h["gatTask"] for h in fitted.history]
    ((weights, best_on_links, switched),) = started  # once, after the hidden links' own patience ran out
    assert tasks == ["mask"] * switched + ["temporal"] * (len(tasks) - switched)
    assert all(torch.equal(weights[k], best_on_links[k]) for k in best_on_links)  # from their best weights
    gat = [h["alone"]["gat"] for h in fitted.history]
    on_links = max(range(switched), key=lambda e: (gat[e], -e)) + 1  # the hidden links' best epoch
    assert switched - on_links >= config.patience and len(tasks) > switched  # stopped there, then went on
    best = fitted.part_epochs["gat"]  # the better epoch of either task on validation is kept
    assert gat[best - 1] == max(gat)
    assert fitted.gat_phases == (
        {"mask": on_links, "temporal": best - switched} if best > switched else {"mask": best, "temporal": 0}
    )
    assert loop.choose(data, dataclasses.replace(config, gat_task="mask")).history[-1]["gatTask"] == "mask"


def test_the_refit_repeats_the_gat_parts_epochs_on_each_task(generated, monkeypatch):
    data = prepare_tables(generated["tables"])
    config = TrainConfig(epochs=40, patience=2, hidden=16, channel=False)
    chosen = loop.choose(data, dataclasses.replace(config, refit=False))
    chosen = dataclasses.replace(chosen, gat_phases={"mask": 3, "temporal": 2})  # as if the questions' 2nd was best
    tasks = []
    step = loop._epoch
    monkeypatch.setattr(
        loop, "_epoch", lambda lessons, *a: (tasks.append((lessons.task, lessons.model.dropout)), step(lessons, *a))[1]
    )
    fitted = loop.finish(data, config, chosen)
    assert tasks == [("mask", 0.0)] * 3 + [("temporal", 0.1)] * 2 and fitted.refit_epochs == 5


def test_without_a_budget_training_may_use_half_the_memory_free_where_it_trains(monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda: 10_000_000)
    assert default_budget(torch.device("cpu")) == 5_000_000  # the machine's, on the CPU
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (3_000_000, 80_000_000))
    assert default_budget(torch.device("cuda")) == 1_500_000  # the GPU's free memory, not the machine's, on CUDA


def test_the_channel_reads_ease_through_attention_over_what_the_customer_holds():
    train = torch.tensor([[1, 1, 0, 0, 1], [1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [1, 0, 0, 1, 1]], dtype=torch.float32)
    index, weight = ease_neighbours(train, 2.0, k=10)
    b = torch.zeros(5, 5)
    b[index[0], index[1]] = weight
    assert torch.allclose(train @ b, ease(train, 2.0), atol=1e-5)  # all neighbours kept: EASE itself
    assert (index[0][1:] >= index[0][:-1]).all()  # sources ascending, as the gathered channel needs
    strongest, _ = ease_neighbours(train, 2.0, k=2)
    assert torch.bincount(strongest[0]).max() == 2


def test_a_product_nobody_holds_is_nobodys_neighbour_and_the_others_keep_their_weights():
    held = torch.tensor([[1, 1, 0, 0, 1], [1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [1, 0, 0, 1, 1]], dtype=torch.float32)
    train = torch.cat([held[:, :2], torch.zeros(4, 1), held[:, 2:]], dim=1)  # product 2: nobody holds it
    index, weight = ease_neighbours(train, 2.0, k=10)
    assert not (index == 2).any()
    b = torch.zeros(6, 6)
    b[index[0], index[1]] = weight
    assert torch.allclose(train @ b, ease(train, 2.0), atol=1e-5)  # EASE over all six, computed among five
    alone, alone_weight = ease_neighbours(held, 2.0, k=10)
    assert torch.equal(weight, alone_weight)  # the five's weights, to the last digit
    assert torch.equal(index, alone + (alone >= 2).long())


def test_each_part_keeps_its_own_best_epoch_and_validation_then_chooses_their_mix(generated):
    data = prepare_tables(generated["tables"])
    fitted = fit(data, TrainConfig(epochs=30, hidden=16, patience=30, refit=False))
    assert all(tuple(h["mix"]) in MIXES for h in fitted.history)
    for part in ("gat", "channel"):  # each part's weights are those of its own best epoch
        curve = [h["alone"][part] for h in fitted.history]
        assert fitted.part_epochs[part] == 1 + int(np.argmax(curve))
    assert fitted.best_epoch == max(fitted.part_epochs.values())
    held, relevant = data.val.held(), data.val.answers()
    figures, mix, alone = validate(fitted.model, data.train_graph, relevant, held, data.n_customers)
    for part, figure in alone.items():  # the kept weights score each part's best, together
        assert figure == pytest.approx(max(h["alone"][part] for h in fitted.history), abs=1e-6)
    assert fitted.model.mix.tolist() == list(mix)  # the best mix of the kept parts
    assert fitted.val["ndcg@10"] == pytest.approx(figures["ndcg@10"], abs=1e-6)
    parts = fitted.test["parts"]
    assert set(parts) == {"mix", "gatAlone", "channelAlone", "channelShare", "groupWeight"}
    assert 0 <= parts["channelShare"] <= 1 and parts["groupWeight"] == 0.0  # no corporate groups here
    without = fit(data, TrainConfig(epochs=5, hidden=16, channel=False))
    assert "parts" not in without.test and not without.model.channel


def test_the_refit_trains_each_part_that_scores_for_its_own_epochs_and_no_longer(generated, monkeypatch):
    data = prepare_tables(generated["tables"])
    chosen, config, _ = race.select(data, TrainConfig(epochs=40, hidden=16, patience=5, gat_task="mask"))
    calls = {"gat": 0, "channel": 0}
    masked, question = loop.masked_links_loss, losses.Question.loss
    monkeypatch.setattr(
        loop, "masked_links_loss", lambda *a, **k: calls.__setitem__("gat", calls["gat"] + 1) or masked(*a, **k)
    )
    monkeypatch.setattr(
        losses.Question,
        "loss",
        lambda *a, **k: calls.__setitem__("channel", calls["channel"] + 1) or question(*a, **k),
    )
    loop.finish(data, config, chosen)
    mix = dict(zip(scoring.PARTS, chosen.model.mix.tolist()))
    assert calls == {part: chosen.part_epochs[part] if mix[part] else 0 for part in scoring.PARTS}


def test_training_predicts_each_customers_latest_training_interactions_from_its_earlier_ones():
    frame = pd.DataFrame(
        {
            "customerId": ["a"] * 6 + ["b"] * 2 + ["c"],
            "productId": ["p1", "p2", "p3", "p4", "p5", "p6", "p1", "p2", "p1"],
            "firstDate": [1, 2, 3, 4, 5, 6, 1, 2, 1],
        }
    )
    train = np.array([True, True, True, True, True, False, True, True, True])  # a's latest is not training
    target = supervision_split(frame, train, share=0.2)
    # a: 5 training rows -> its latest one (p5); b: 2 -> its latest (p2); c: 1 row -> input only
    assert frame.productId[target].tolist() == ["p5", "p2"]
    assert not (target & ~train).any()


def test_the_exact_sub_graph_of_some_customers_gives_them_the_representations_of_the_whole_graph(generated):
    data = prepare_tables(generated["tables"])
    graph = data.train_graph
    model = HeteroGATRecommender.for_graph(graph, TrainConfig(hidden=8)).eval()
    some = torch.tensor([9, 2, 77])
    with torch.no_grad():
        whole = model.encode_graph(graph)
        part = model.encode(*batch_subgraph(graph, None, some, None))
    assert torch.allclose(part["customer"][:3], whole["customer"][some], atol=1e-5)
    assert torch.allclose(part["product"], whole["product"], atol=1e-5)


def _evidence_conv(heads: int = 1, width: int = 4):
    from wbgraph.gnn.model import EvidenceGATv2Conv

    torch.manual_seed(0)
    conv = EvidenceGATv2Conv((width, width), width // heads, heads=heads, add_self_loops=False, edge_dim=1)
    plain = GATv2Conv((width, width), width // heads, heads=heads, add_self_loops=False, edge_dim=1)
    plain.load_state_dict({k: v for k, v in conv.state_dict().items() if not k.startswith("evidence_")})
    return conv, plain


def test_evidence_is_added_to_gatv2_attention_and_is_nothing_when_its_weights_are_zero():
    conv, plain = _evidence_conv(heads=2)
    products, customers = torch.randn(3, 4), torch.randn(2, 4)
    edges, attributes = torch.tensor([[0, 1, 2, 0], [0, 0, 1, 1]]), torch.randn(4, 1)
    assert not torch.allclose(
        conv((products, customers), edges, attributes), plain((products, customers), edges, attributes)
    )
    torch.nn.init.zeros_(conv.evidence_value.weight)
    assert torch.allclose(
        conv((products, customers), edges, attributes), plain((products, customers), edges, attributes)
    )


def test_evidence_is_signed_and_averaged_over_the_holdings_with_one_more_in_the_count():
    # an interaction that reads below what the two ends expect argues against its product:
    # attention alone (a convex combination) cannot say that
    conv, plain = _evidence_conv()
    for module in (conv.evidence_query, conv.evidence_key):
        torch.nn.init.zeros_(module.weight)  # nothing expected: the evidence is the attributes' score
    torch.nn.init.ones_(conv.evidence_edge.weight)
    torch.nn.init.zeros_(conv.evidence_edge.bias)
    products, customers = torch.randn(1, 4), torch.randn(3, 4)
    edges = torch.tensor([[0, 0, 0, 0], [0, 1, 2, 2]])  # customer 2 holds the product twice (two edges)
    attributes = torch.tensor([[1.0], [-1.0], [1.0], [1.0]])
    evidence = conv((products, customers), edges, attributes) - plain((products, customers), edges, attributes)
    value = conv.evidence_value(products)[0]
    assert torch.allclose(evidence[0], value / 2, atol=1e-6)  # one holding: 1 / (1 + 1)
    assert torch.allclose(evidence[1], -value / 2, atol=1e-6)  # read below expectation: against it
    assert torch.allclose(evidence[2], 2 * value / 3, atol=1e-6)  # two: 2 / (2 + 1)


def test_interaction_edges_carry_evidence_unless_switched_off(generated):
    from wbgraph.gnn.model import EvidenceGATv2Conv

    graph = build_graph(generated["tables"], Encoders.fit(generated["tables"]), generated["tables"].interactions)
    convs = HeteroGATRecommender.for_graph(graph, TrainConfig(hidden=8)).convs[0].convs
    assert {et for et, conv in convs.items() if isinstance(conv, EvidenceGATv2Conv)} == {USES_EDGE, REV_USES_EDGE}
    plain = HeteroGATRecommender.for_graph(graph, TrainConfig(hidden=8, evidence=False)).convs[0].convs
    assert not any(isinstance(conv, EvidenceGATv2Conv) for conv in plain.values())


def test_the_refit_question_is_asked_on_the_training_graph_itself_which_it_would_have_built_again(generated):
    data = prepare_tables(generated["tables"])
    assert data.graph_of(data.refit) is data.train_graph  # not built again: its EASE neighbours are most of a build
    again = data.refit.graph(data.tables, data.encoders)
    for edge_type in again.edge_types:
        assert torch.equal(again[edge_type].edge_index, data.train_graph[edge_type].edge_index)
    earlier = data.graph_of(data.history[-1])  # the earlier question knows less: its own graph
    uses = ("customer", "uses", "product")
    assert earlier[uses].edge_index.shape[1] < data.train_graph[uses].edge_index.shape[1]


def test_the_temporal_task_learns_the_latest_windows_one_an_epoch_in_turn_and_the_refit_one_window_later(
    generated, monkeypatch
):
    data = prepare_tables(tables_from_rows(generated["rows"], cutoff="2025-09-01", horizon="1m"))
    assert len(data.history) >= 3  # monthly windows before the validation month
    asked, channel = [], []
    gat_loss, loss = losses.Question.gat_loss, losses.Question.loss
    monkeypatch.setattr(
        losses.Question, "gat_loss", lambda self, *a, **k: asked.append(self.asof) or gat_loss(self, *a, **k)
    )
    monkeypatch.setattr(losses.Question, "loss", lambda self, *a, **k: channel.append(self.asof) or loss(self, *a, **k))
    config = TrainConfig(epochs=4, patience=4, hidden=8, gat_task="temporal", windows=2, cutoff="2025-09-01")
    chosen = fit(data, dataclasses.replace(config, refit=False))
    older, latest = data.history[-2].asof, data.history[-1].asof
    assert asked == [older, latest, older, latest]  # oldest first, one a step
    assert channel == [latest] * 4  # the item channel learns the latest alone
    asked.clear()
    loop.finish(data, config, chosen)  # the refit: as many windows, one later
    assert asked[:2] == [latest, data.refit.asof]
    one = fit(data, dataclasses.replace(config, windows=1, refit=False))
    assert one.history != chosen.history  # learning one window is another training
