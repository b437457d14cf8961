"""The run folder has one owner, ``Run``: it saves, finds, checks and reads every artefact."""

import json
import shutil
from pathlib import Path

import pytest
import torch

from wbgraph.config import TrainConfig
from wbgraph.errors import GateFailed, RunNotFound
from wbgraph.gnn.data import Encoders, co_neighbours, prepare_tables
from wbgraph.gnn.restore import encoders_of, load_model
from wbgraph.gnn.train import fit
from wbgraph.runs import FORMAT, TEST_CUSTOMERS, Run


@pytest.fixture(scope="module")
def saved(generated, tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    data = prepare_tables(generated["tables"])
    config = TrainConfig(epochs=3, hidden=8)
    fitted = fit(data, config)
    metrics = {"history": fitted.history, "bestEpoch": fitted.best_epoch, "trainedAt": "2026-11-25T00:00:00+00:00"}
    metrics["test"] = {"gat": fitted.test}
    kept = {TEST_CUSTOMERS: fitted.per_customer}
    run = Run.create(runs, "20261125-000000-s0", fitted.model, data.encoders, config, metrics, artefacts=kept)
    return runs, run, fitted, data


def test_a_saved_run_is_found_by_id_by_folder_and_as_the_latest(saved):
    runs, run, fitted, data = saved
    assert Run.latest(runs).folder == Run.open("20261125-000000-s0", runs).folder == Run.open(str(run.folder)).folder
    assert run.config() == TrainConfig(epochs=3, hidden=8)
    assert run.metrics()["bestEpoch"] == fitted.best_epoch
    assert encoders_of(run) == Encoders.from_json(data.encoders.to_json())
    assert all(torch.equal(run.weights()[k], v) for k, v in fitted.model.state_dict().items())
    assert (run.folder / "curve.png").read_bytes()[:4] == b"\x89PNG"
    assert run.evaluation() is None and run.writeback() is None and run.projection() is None


def test_a_run_folder_of_an_older_format_is_refused_in_one_line_naming_the_formats(saved, tmp_path):
    runs, run, _, _ = saved
    old = tmp_path / "20250101-000000-s0"
    old.mkdir()
    for name in ("model.pt", "encoders.json", "config.json", "metrics.json"):
        (old / name).write_bytes((run.folder / name).read_bytes())  # a folder as wbgraph wrote it before run.json
    with pytest.raises(RunNotFound, match=f"format 1 by an older wbgraph; this wbgraph reads format {FORMAT}"):
        Run.open(str(old))
    (old / "run.json").write_text(json.dumps({"format": 99}))
    with pytest.raises(RunNotFound, match=f"format 99; this wbgraph reads format {FORMAT}"):
        Run.open(str(old))


def test_missing_incomplete_and_tampered_runs_are_one_line_errors(saved, tmp_path):
    runs, run, _, _ = saved
    with pytest.raises(RunNotFound, match="No trained run in"):
        Run.latest(tmp_path)
    with pytest.raises(RunNotFound, match="No run 'nope'"):
        Run.open("nope", runs)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "run.json").write_text(json.dumps({"format": FORMAT}))
    with pytest.raises(RunNotFound, match="incomplete: missing model.pt, encoders.json, config.json, metrics.json"):
        Run.open(str(broken))
    for name in ("model.pt", "encoders.json", "metrics.json"):
        (broken / name).write_bytes((run.folder / name).read_bytes())
    (broken / "config.json").write_text(json.dumps({"epochs": "many"}))
    with pytest.raises(RunNotFound, match="damaged config.json"):
        Run.open(str(broken)).config()


def test_two_runs_saved_in_the_same_second_get_their_own_folders(saved):
    runs, run, fitted, data = saved
    again = Run.create(runs, run.id, fitted.model, data.encoders, TrainConfig(epochs=3, hidden=8), run.metrics())
    assert again.id == f"{run.id}-2" and Run.latest(runs).id == again.id and run.folder.is_dir()


# where runs live, and which run a command uses


def test_the_runs_location_is_the_option_then_wbgraph_runs_then_the_project_file_then_runs(tmp_path, monkeypatch):
    from wbgraph.config import runs_location

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WBGRAPH_RUNS", raising=False)
    assert runs_location() == Path("runs")
    (tmp_path / "wbgraph.toml").write_text('[runs]\ndir = "shared/runs"\n')
    assert runs_location() == tmp_path / "shared" / "runs"  # relative to the project file's folder
    monkeypatch.setenv("WBGRAPH_RUNS", str(tmp_path / "env-runs"))
    assert runs_location() == tmp_path / "env-runs"
    assert runs_location("given") == Path("given")


@pytest.mark.parametrize(
    "text, message",
    [
        ("[runs]\nfolder = 'x'\n", "unknown setting runs.folder"),
        ("[neo4j]\npassword = 'x'\n", r"unknown table \[neo4j\]"),
        ("[runs]\ndir = ''\n", "runs.dir must be non-empty text"),
        ("[runs\n", "not a valid project file"),
    ],
)
def test_a_wrong_project_file_is_a_one_line_error_naming_it(tmp_path, monkeypatch, text, message):
    from wbgraph.config import runs_location
    from wbgraph.errors import ConfigError

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WBGRAPH_RUNS", raising=False)
    (tmp_path / "wbgraph.toml").write_text(text)
    with pytest.raises(ConfigError, match=f"wbgraph.toml: .*{message}"):
        runs_location()


@pytest.fixture
def three_runs(saved, tmp_path):
    """Runs a (oldest, gate passed), b (not evaluated), c (newest, gate failed) in a fresh folder."""
    _, run, fitted, data = saved
    made = {}
    for name, when, gate in (("a", "01", True), ("b", "02", None), ("c", "03", False)):
        metrics = run.metrics() | {"trainedAt": f"2026-11-{when}T00:00:00+00:00"}
        made[name] = Run.create(
            tmp_path, name, fitted.model, data.encoders, run.config(), metrics, {"fingerprint": name}
        )
        if gate is not None:
            made[name].save_evaluation({"metrics": {"gat": {"recall@10": 0.5}}, "gate": {"passed": gate}})
    return tmp_path, made


def test_the_serving_run_is_the_promoted_one_else_the_latest_that_did_not_fail_its_gate(three_runs):
    from wbgraph.runs import promote

    runs, made = three_runs
    assert Run.latest(runs).id == "c" and Run.open(None, runs, default="latest").id == "c"
    assert Run.serving(runs).id == "b" == Run.open(None, runs).id  # c failed its gate; b was never gated
    promote("a", runs)
    assert Run.serving(runs).id == "a" and Run.latest(runs).id == "c"
    with pytest.raises(GateFailed, match="failed its evaluation gate: promote it anyway with --force"):
        promote("c", runs)
    promote("c", runs, force=True)
    assert Run.serving(runs).id == "c"


def test_when_every_run_failed_its_gate_none_serves_and_the_error_says_what_to_do(three_runs):
    runs, made = three_runs
    for run in made.values():
        run.save_evaluation({"metrics": {}, "gate": {"passed": False}})
    with pytest.raises(GateFailed, match="Every run in .* failed its evaluation gate"):
        Run.serving(runs)


def test_runs_are_listed_oldest_first_with_their_figures_verdicts_and_roles(three_runs):
    from wbgraph.runs import list_runs, promote, show

    runs, made = three_runs
    promote("a", runs)
    listed = list_runs(runs)
    assert [r["runId"] for r in listed] == ["a", "b", "c"]
    assert [r["gate"] for r in listed] == ["passed", "not evaluated", "failed"]
    assert [(r["serving"], r["promoted"], r["latest"]) for r in listed] == [
        (True, True, False),
        (False, False, False),
        (False, False, True),
    ]
    assert listed[0]["recall@10"] == 0.5 and listed[0]["figuresFrom"] == "test (evaluate)"
    assert listed[1]["figuresFrom"] == "test (train)" and listed[0]["fingerprint"] == "a"
    shown = show("b", runs)
    assert shown["record"]["fingerprint"] == "b" and shown["config"]["hidden"] == 8 and shown["evaluation"] is None


def test_deleting_the_promoted_and_latest_run_moves_the_pointers(three_runs, cli):
    from wbgraph.runs import delete, promote

    runs, made = three_runs
    promote("c", runs, force=True)
    changed = delete("c", runs)
    assert changed == {"deleted": "c", "folder": str(made["c"].folder), "unpromoted": True, "latest": "b"}
    assert not made["c"].folder.exists() and Run.latest(runs).id == "b" and Run.promoted(runs) is None
    assert delete("a", runs) == {"deleted": "a", "folder": str(made["a"].folder), "unpromoted": False}
    unasked = cli("runs", "delete", "b", "--runs-dir", str(runs), "--json")  # --json never answers for you
    assert unasked.exit_code == 19 and made["b"].folder.exists()
    deleted = cli("runs", "delete", "b", "--runs-dir", str(runs), "--json", "--yes")
    assert json.loads(deleted.output) == {
        "deleted": "b",
        "folder": str(made["b"].folder),
        "unpromoted": False,
        "latest": None,
    }
    with pytest.raises(RunNotFound, match="No trained run in"):
        Run.serving(runs)


def test_a_run_records_what_it_was_made_with(saved):
    from wbgraph.runs import environment

    made = environment()
    assert {"wbgraph", "torch", "torch-geometric", "neo4j", "python"} <= set(made["versions"])
    assert made["versions"]["torch"] and made["versions"]["neo4j"]
    assert made["gitCommit"] is None or len(made["gitCommit"].removesuffix("-dirty")) == 40


def test_a_run_trained_before_the_evidence_term_loads_as_plain_gatv2(saved, tmp_path):
    runs, run, fitted, data = saved
    old = Run(shutil.copytree(run.folder, tmp_path / run.id))
    state = {k: v for k, v in fitted.model.state_dict().items() if ".evidence_" not in k}
    assert len(state) < len(fitted.model.state_dict())  # the saved model has the term
    torch.save(state, old.folder / "model.pt")
    model = load_model(old, data)
    assert not model.evidence
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())


def test_a_run_trained_before_the_scaled_decoder_scores_as_it_was_trained(saved, tmp_path):
    runs, run, fitted, data = saved
    old = Run(shutil.copytree(run.folder, tmp_path / run.id))
    state = {k: v for k, v in fitted.model.state_dict().items() if k != "score_scale"}
    assert float(fitted.model.score_scale) == pytest.approx(fitted.model.hidden**-0.5)  # a new run's: scaled
    torch.save(state, old.folder / "model.pt")
    model = load_model(old, data)
    assert float(model.score_scale) == 1.0
    h = model.eval().encode_graph(data.train_graph)
    unscaled = h["customer"] @ h["product"].T + model.product_bias
    assert torch.allclose(model.score(h["customer"], h["product"]), unscaled)


def test_a_run_saved_before_the_channel_kept_250_neighbours_builds_its_graphs_with_100(saved):
    runs, run, fitted, data = saved
    assert data.encoders.co_neighbours == 250  # a new run's (the generator's 60 products: all of them)
    kept = json.loads(data.encoders.to_json())
    del kept["co_neighbours"]
    assert Encoders.from_json(json.dumps(kept)).co_neighbours == 100


def test_a_large_gathered_channel_keeps_fewer_neighbours_but_never_fewer_than_before():
    assert co_neighbours(100_836, 9_724) == 250  # ml-latest-small: its plan has room
    assert co_neighbours(200_000, 9_724) == 150  # 30 million plan entries a graph
    assert co_neighbours(10_000_000, 9_724) == 100
    assert co_neighbours(10_000_000, 60) == 250  # a dense channel has no plan


def test_overlap_at_k_and_rank_correlation_per_customer():
    import pandas as pd

    from wbgraph.runs.compare import overlaps

    def sets(rows):
        return pd.DataFrame(rows, columns=["customerId", "productId", "rank"])

    before = sets([("A", "p1", 1), ("A", "p2", 2), ("A", "p3", 3), ("B", "p1", 1), ("B", "p2", 2), ("C", "p9", 1)])
    after = sets([("A", "p3", 1), ("A", "p2", 2), ("A", "p1", 3), ("B", "p4", 1), ("B", "p5", 2), ("D", "p1", 1)])
    per = overlaps(before, after, k=3).set_index("customerId")
    assert list(per.index) == ["A", "B"]  # customers in both
    assert per.loc["A", "overlap"] == 1.0 and per.loc["A", "correlation"] == -1.0  # the same three, reversed
    assert per.loc["B", "overlap"] == 0.0 and per.loc["B", "correlation"] != per.loc["B", "correlation"]  # NaN
    assert per.loc["B", "dropped"] == ["p1", "p2"] and per.loc["B", "added"] == ["p4", "p5"]
    assert overlaps(before, after, k=1).set_index("customerId").loc["A", "overlap"] == 0.0  # p1 first, then p3


def test_two_runs_asking_the_same_test_question_are_paired_customer_by_customer(saved, tmp_path):
    """The change in each per-customer figure with a paired interval; none across different questions."""
    from wbgraph.runs.compare import paired_figures

    _, run, _, _ = saved
    first = Run(shutil.copytree(run.folder, tmp_path / "a"))
    second = Run(shutil.copytree(run.folder, tmp_path / "b"))
    tested = first.test_customers()
    assert list(tested.columns) == ["customerId", "recall@10", "ndcg@10", "map@10"] and len(tested) > 100
    assert tested["recall@10"].mean() == pytest.approx(first.metrics()["test"]["gat"]["recall@10"], abs=1e-6)
    better = tested.assign(**{"recall@10": (tested["recall@10"] + 0.1).clip(upper=1.0)})
    better.to_parquet(second.folder / TEST_CUSTOMERS, index=False)
    paired = paired_figures(first, second)
    assert paired["customers"] == len(tested) and paired["ndcg@10"]["difference"] == 0.0
    gain = (better["recall@10"] - tested["recall@10"]).mean()
    assert paired["recall@10"]["difference"] == pytest.approx(gain) and paired["recall@10"]["low"] > 0
    manifest = json.loads((second.folder / "run.json").read_text()) | {"fingerprint": "other data"}
    (second.folder / "run.json").write_text(json.dumps(manifest))
    assert "different test questions" in paired_figures(first, second)["reason"]
    (first.folder / TEST_CUSTOMERS).unlink()
    assert "before per-customer test figures" in paired_figures(first, second)["reason"]
