"""The CLI reference (``docs/cli.md``), generated from the commands' own ``--help``.

Regenerate after changing a command: ``.venv/bin/python -m wbgraph.cli.reference > docs/cli.md``
(a test fails while the file and the code disagree).
"""

import click


def markdown() -> str:
    """Every command's ``--help``, as one markdown page."""
    from . import cli

    parts = [
        "# wbgraph command reference",
        "",
        "Generated from `--help` by `python -m wbgraph.cli.reference`; `tests/test_cli_help.py` checks it matches.",
        "",
    ]
    for path, command, ctx in _walk(cli, ("wbgraph",), None):
        parts += [f"## {' '.join(path)}", "", "```text", command.get_help(ctx).rstrip(), "```", ""]
    return "\n".join(parts)


def _walk(command: click.Command, path: tuple, parent):
    ctx = click.Context(command, info_name=path[-1], parent=parent, terminal_width=100, max_content_width=100)
    yield path, command, ctx
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            yield from _walk(command.commands[name], path + (name,), ctx)


if __name__ == "__main__":
    print(markdown(), end="")
