"""Every command explains itself: --help with an example, and a section in the README."""

from pathlib import Path

import click
import pytest

from wbgraph.cli import cli as group

README = (Path(__file__).parent.parent / "README.md").read_text()


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
def test_readme_documents_the_command(path):
    assert f"wbgraph {' '.join(path)}" in README


def test_readme_starts_with_the_two_commands():
    first_block = README.split("```")[1].splitlines()[1:]  # drop the language tag
    commands = [line.split("#")[0].strip() for line in first_block if line.split("#")[0].strip()]
    assert commands == ["make demo", "make test"]


def test_the_cli_reference_in_docs_matches_the_code():
    from pathlib import Path

    from wbgraph.cli.reference import markdown

    reference = Path(__file__).parent.parent / "docs" / "cli.md"
    assert reference.read_text() == markdown(), "docs/cli.md is stale: python -m wbgraph.cli.reference > docs/cli.md"


def test_train_help_states_the_real_defaults(cli):
    import re

    from wbgraph.gnn.train import TrainConfig

    text = " ".join(cli("train", "--help").output.split())
    for option in ("epochs", "hidden", "heads", "layers", "lr", "seed", "device"):
        stated = re.search(rf"--{option} [A-Z]+ [^(]*\(.*?default ([^)]+)\)", text).group(1)
        assert stated == str(getattr(TrainConfig(), option)), option
