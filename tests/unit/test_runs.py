"""The run folder has one owner, ``Run``: it saves, finds, checks and reads every artefact."""

import json

import pytest
import torch

from wbgraph.config import TrainConfig
from wbgraph.errors import RunNotFound
from wbgraph.gnn.data import Encoders, prepare_tables
from wbgraph.gnn.train import fit
from wbgraph.runs import FORMAT, Run


@pytest.fixture(scope="module")
def saved(generated, tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    data = prepare_tables(generated["tables"])
    config = TrainConfig(epochs=3, hidden=8)
    fitted = fit(data, config)
    metrics = {"history": fitted.history, "bestEpoch": fitted.best_epoch, "trainedAt": "2026-11-25T00:00:00+00:00"}
    run = Run.create(runs, "20261125-000000-s0", fitted.model, data.encoders, config, metrics)
    return runs, run, fitted, data


def test_a_saved_run_is_found_by_id_by_folder_and_as_the_latest(saved):
    runs, run, fitted, data = saved
    assert Run.latest(runs).folder == Run.open("20261125-000000-s0", runs).folder == Run.open(str(run.folder)).folder
    assert run.config() == TrainConfig(epochs=3, hidden=8)
    assert run.metrics()["bestEpoch"] == fitted.best_epoch
    assert run.encoders() == Encoders.from_json(data.encoders.to_json())
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
