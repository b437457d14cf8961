"""Every error is one line ``Error: ...`` with a documented exit status, never a traceback (no server)."""

import json

import pytest
import torch
from click.testing import CliRunner

from wbgraph.cli import cli as wbgraph
from wbgraph.config import TrainConfig
from wbgraph.errors import FileAccessError, Interrupted, RunNotFound
from wbgraph.gnn.data import prepare_tables
from wbgraph.gnn.restore import load_model
from wbgraph.gnn.train import fit
from wbgraph.runs import Run


def run(*args):
    result = CliRunner().invoke(wbgraph, list(args))
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, lines[0]


def test_a_missing_output_folder_is_one_line_before_any_work(tmp_path):
    status, line = run("generate", "--rows", "50", "--output", str(tmp_path / "no" / "data.csv"))
    assert status == FileAccessError.exit_code == 12
    assert (
        line
        == f"Error: cannot write the data to {tmp_path / 'no' / 'data.csv'}: the folder {tmp_path / 'no'} does not exist."
    )


def test_any_operating_system_error_is_one_line_naming_the_file(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "data.csv"))

    monkeypatch.setattr("wbgraph.loaders.generate.write", refuse)
    status, line = run("generate", "--rows", "50", "--output", str(tmp_path / "data.csv"))
    assert (status, line) == (12, f"Error: cannot use {tmp_path / 'data.csv'}: Permission denied.")


def test_ctrl_c_exits_130_with_one_line(tmp_path, monkeypatch):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("wbgraph.loaders.generate.generate", interrupt)
    status, line = run("generate", "--rows", "50", "--output", str(tmp_path / "data.csv"))
    assert (status, line) == (Interrupted.exit_code, "Error: interrupted (Ctrl-C).") and status == 130


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_a_config_nested_too_deeply_is_one_line_naming_the_file(tmp_path, suffix):
    path = tmp_path / f"deep{suffix}"
    path.write_text(("x = " if suffix == ".toml" else "") + "[" * 50_000 + "]" * 50_000)
    with pytest.raises(Exception, match="not a valid config file") as raised:
        TrainConfig.load(path)
    assert str(path) in str(raised.value)


def test_a_mapping_nested_too_deeply_is_one_line(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text("x = " + "[" * 50_000 + "]" * 50_000)
    status, line = run("mapping", "check", str(path))
    assert (status, line) == (3, f"Error: {path}: cannot read the mapping (nested too deeply).")


@pytest.fixture(scope="module")
def saved(generated, tmp_path_factory):
    data = prepare_tables(generated["tables"])
    config = TrainConfig(epochs=2, hidden=8)
    fitted = fit(data, config)
    run_ = Run.create(tmp_path_factory.mktemp("runs"), "r", fitted.model, data.encoders, config, {"history": []})
    return run_, data, config


def test_weights_of_the_wrong_shape_or_garbage_are_one_line_naming_the_file(saved):
    run_, data, config = saved
    assert load_model(run_, data, config) is not None  # as saved: loads
    good = run_.folder.joinpath("model.pt").read_bytes()
    try:
        state = torch.load(run_.folder / "model.pt", weights_only=True)
        name = next(iter(state))
        state[name] = torch.zeros(3, 3, 3)
        torch.save(state, run_.folder / "model.pt")
        with pytest.raises(RunNotFound, match=r"model\.pt cannot be loaded \(RuntimeError: .*size mismatch"):
            load_model(run_, data, config)
        (run_.folder / "model.pt").write_bytes(b"not a model")
        with pytest.raises(RunNotFound, match=r"model\.pt cannot be loaded"):
            load_model(run_, data, config)
    finally:
        (run_.folder / "model.pt").write_bytes(good)


def test_a_tampered_config_is_one_line_naming_the_file(saved):
    run_, _, _ = saved
    good = (run_.folder / "config.json").read_text()
    try:
        for text in ("[1, 2]", json.dumps({"hidden": "wide"}), json.dumps({"colour": "red"}), "{"):
            (run_.folder / "config.json").write_text(text)
            with pytest.raises(RunNotFound, match=r"config\.json"):
                run_.config()
    finally:
        (run_.folder / "config.json").write_text(good)


def test_a_reader_that_goes_away_is_not_an_error_worth_a_line(tmp_path, monkeypatch):
    def closed(*args, **kwargs):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("wbgraph.loaders.generate.write", closed)
    result = CliRunner().invoke(wbgraph, ["generate", "--rows", "50", "--output", str(tmp_path / "data.csv")])
    assert (result.exit_code, result.output) == (141, "")  # as `| head` leaves the shell's own commands


def test_the_readme_exit_status_table_is_the_error_classes_one_meaning_each():
    from pathlib import Path

    from wbgraph.errors import exit_status_table, exit_statuses

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert exit_status_table() in readme, "README's exit table is stale: paste wbgraph.errors.exit_status_table()"
    statuses = exit_statuses()  # raises if two classes claimed one status
    assert {1, 9, 10, 14, 15, 16, 17, 18, 19} <= set(statuses)
    assert len(set(statuses.values())) == len(statuses)
