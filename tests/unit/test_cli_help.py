"""Every command explains itself: --help with an example, and a section in the README."""

from pathlib import Path

import click
import pytest

from wbgraph.cli import cli as group

README = (Path(__file__).parents[2] / "README.md").read_text()


def commands(command=group, path=()):
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from commands(sub, path + (name,))


ALL = list(commands())


@pytest.mark.parametrize("path,command", ALL, ids=[" ".join(p) or "wbgraph" for p, _ in ALL])
def test_help_has_an_example(cli, path, command):
    result = cli(*path, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.output
    assert "wbgraph " + " ".join(path) in result.output.split("Example:")[1]


@pytest.mark.parametrize("path", [p for p, c in ALL if p and not isinstance(c, click.Group)], ids=" ".join)
def test_readme_shows_every_command_run_in_an_example(path):
    """Not just named in a sentence: a README code block has a line that runs it."""
    import re

    name = f"wbgraph {' '.join(path)}"
    blocks = README.split("```")[1::2]
    assert any(re.search(rf"^(\$ )?{re.escape(name)}(\s|$)", block, re.M) for block in blocks), name


def test_readme_starts_with_the_two_commands():
    first_block = README.split("```")[1].splitlines()[1:]  # drop the language tag
    commands = [line.split("#")[0].strip() for line in first_block if line.split("#")[0].strip()]
    assert commands == ["make demo", "make test"]


def test_the_cli_reference_in_docs_matches_the_code():
    from pathlib import Path

    from wbgraph.cli.reference import markdown

    reference = Path(__file__).parents[2] / "docs" / "cli.md"
    assert reference.read_text() == markdown(), "docs/cli.md is stale: python -m wbgraph.cli.reference > docs/cli.md"


def library_defaults() -> dict:
    """Each command's library function (or settings class): where its options' real defaults live."""
    import dataclasses
    import inspect

    import wbgraph
    from wbgraph import db, localserver, pipeline
    from wbgraph.loaders.mapping import init_mapping
    from wbgraph.localserver import ServerConfig

    def of(function):
        return {
            k: v.default
            for k, v in inspect.signature(function).parameters.items()
            if v.default is not inspect.Parameter.empty
        }

    def fields(cls):
        return {f.name: f.default for f in dataclasses.fields(cls)}

    return {
        ("generate",): of(wbgraph.generate),
        ("ingest",): of(wbgraph.ingest),
        ("train",): fields(wbgraph.TrainConfig),
        ("evaluate",): of(wbgraph.evaluate),
        ("writeback",): of(wbgraph.writeback),
        ("recommend",): of(wbgraph.recommend),
        ("demo",): of(wbgraph.demo),
        ("run",): fields(wbgraph.TrainConfig) | of(pipeline.run),
        ("db", "start"): of(localserver.start) | fields(ServerConfig),
        ("mapping", "init"): of(init_mapping),
        ("db", "reset"): of(db.reset),
    }


@pytest.mark.parametrize("path", sorted(library_defaults()), ids=" ".join)
def test_help_states_the_real_defaults(path):
    """An option's default, shown by click or written in its help, is the library's own default."""
    import re

    defaults = library_defaults()[path]
    command, checked = group, 0
    for name in path:
        command = command.commands[name]
    for option in command.params:
        if not isinstance(option, click.Option) or option.name not in defaults or option.is_flag:
            continue
        real = defaults[option.name]
        if isinstance(option.default, (int, float, str)):  # click's "no default" is a sentinel
            shown = option.default
            if isinstance(real, (tuple, list)) and isinstance(shown, str):  # a list, written comma-separated
                shown, real = tuple(n.strip() for n in shown.split(",") if n.strip()), tuple(real)
            assert shown == real, (
                f"--{option.name}: the command defaults to {option.default!r}, the library to {real!r}"
            )
            checked += 1
        stated = re.search(r"\(default ([^;:)]+)[;)]", option.help or "")
        if stated:
            assert stated.group(1) == str(real), (
                f"--{option.name}: help says default {stated.group(1)}, the library uses {real}"
            )
            checked += 1
    assert checked, "no option of this command states a default"


LEAVES = [(p, c) for p, c in ALL if p and not isinstance(c, click.Group)]
NO_JSON = {("db", "admin"), ("mapping", "init")}  # neo4j-admin's own output; a TOML file to edit


def options(command: click.Command) -> set[str]:
    return {o for p in command.params for o in getattr(p, "opts", [])}


@pytest.mark.parametrize("path,command", LEAVES, ids=[" ".join(p) for p, _ in LEAVES])
def test_every_command_speaks_json_and_every_command_with_progress_can_be_silent(path, command):
    import inspect

    if path not in NO_JSON:
        assert "--json" in options(command), f"wbgraph {' '.join(path)} has no --json"
    shows_progress = "bars(" in inspect.getsource(command.callback)
    assert not shows_progress or "--silent" in options(command), f"wbgraph {' '.join(path)} shows progress, no --silent"


USER_KEYS = {("query",)}  # its keys are the user's own column names, as the statement spells them
TESTS = Path(__file__).parents[1]


def json_runs(source: str) -> set[tuple[str, ...]]:
    """The commands a test file runs with ``--json``: every call whose string arguments (a list
    of them included) hold a command's path followed, somewhere after it, by ``--json``."""
    import ast

    runs = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        words = [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
        if "--json" not in words:
            continue
        for path, _ in LEAVES:
            starts = [i for i in range(len(words)) if tuple(words[i : i + len(path)]) == path]
            if any("--json" in words[i + len(path) :] for i in starts):
                runs.add(path)
    return runs


def test_every_command_with_json_is_run_with_json_by_a_test_that_checks_its_keys():
    # the tests' `cli` fixture (tests/conftest.py) checks that every --json output it sees is
    # camelCase at every depth; this makes sure each command's output is seen at least once
    ran = set().union(*(json_runs(p.read_text()) for p in TESTS.rglob("test_*.py")))
    ran |= json_runs((TESTS / "conftest.py").read_text())  # the demo fixture checks its own
    speaking = {path for path, command in LEAVES if "--json" in options(command)}
    assert speaking - USER_KEYS - ran == set()


def test_the_json_run_scan_sees_a_command_path_and_its_flag():
    assert json_runs('cli("runs", "show", "r1", "--json")\ncli("db", "status")\n') == {("runs", "show")}
    assert json_runs('invoke(group, ["demo", "--rows", "10", "--json"])\n') == {("demo",)}
