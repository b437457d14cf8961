"""What the commands share: error reporting, connection options, output, the progress bars."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ..config import Settings, resolve_settings
from ..db import connect
from ..errors import ConfigError, Declined, Interrupted, WbgraphError, file_access_error
from ..progress import SILENT, Progress, Summary


class Group(click.Group):
    """A click group that reports every error as ``Error: <one line>`` with its exit status.

    :class:`WbgraphError` as it is; an operating-system error (a missing folder, a refused
    permission, a full disk) as :class:`FileAccessError` (12); input nested too deeply for
    Python (``RecursionError``) as a :class:`ConfigError` (1); a declined confirmation as
    :class:`Declined` (19); Ctrl-C as :class:`Interrupted` (130); a closed
    pipe on stdout (``| head``) silently, as 141 like the shell's SIGPIPE.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except WbgraphError as e:
            raise _one_line(e) from None
        except BrokenPipeError:  # the reader went away (`wbgraph query ... | head`): nothing to say
            try:  # so that Python's own flush at exit does not complain about the closed pipe
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            except (OSError, ValueError):
                pass
            raise click.exceptions.Exit(141) from None
        except OSError as e:
            raise _one_line(file_access_error(e)) from None
        except RecursionError:
            raise _one_line(ConfigError("the input is nested too deeply to read.")) from None
        except click.exceptions.Abort:  # a confirmation declined, or its prompt closed
            raise _one_line(Declined("Aborted: nothing done (answer the confirmation, or give --yes).")) from None
        except KeyboardInterrupt:
            raise _one_line(Interrupted("interrupted (Ctrl-C).")) from None


def _one_line(e: WbgraphError) -> click.ClickException:
    error = click.ClickException(str(e))
    error.exit_code = e.exit_code
    return error


@dataclass
class Obj:
    """The group's options, handed to every command."""

    uri: str | None = None
    user: str | None = None
    database: str | None = None
    password_file: str | None = None
    trusted_ca: str | None = None
    impersonate: str | None = None

    def settings(self) -> Settings:
        return resolve_settings(uri=self.uri, user=self.user, database=self.database, **self._options())

    def connect(self) -> Any:
        """The one connection of this process: ``with obj.connect() as (driver, settings)``."""
        return connect(self.uri, self.user, self.database, **self._options())

    def _options(self) -> dict:
        return {
            "password_file": self.password_file,
            "trusted_ca": self.trusted_ca,
            "impersonate": self.impersonate,
            "prompt": prompt_password if sys.stdin.isatty() and sys.stderr.isatty() else None,
        }


def confirm(question: str, yes: bool, as_json: bool) -> None:
    """Ask ``question`` before a command deletes or replaces data, unless ``--yes`` answered it.

    With ``--json`` nothing is asked (a script cannot answer, and a question would spoil its
    JSON): without ``--yes`` the command is declined, exit 19, and nothing is done.
    """
    if yes:
        return
    if as_json:
        raise Declined(f"{question} Nothing done: --json does not answer for you, give --yes.")
    click.confirm(question, abort=True)


def prompt_password(text: str) -> str:
    """Ask for the password on the terminal, without echo (nothing else set it)."""
    import getpass

    return getpass.getpass(text, stream=sys.stderr)


pass_obj = click.make_pass_decorator(Obj, ensure=True)

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")

k_option = click.option(
    "--k",
    "k",
    type=click.IntRange(1, 50),
    default=10,
    show_default=True,
    help="The evaluation's ranking cut-off, read beside 5, 10 and 20 (MAP@k leads the comparison), e.g. 7 "
    "for a month of the Santander data.",
)
silent_option = click.option("--silent", is_flag=True, help="No progress bar.")
runs_option = click.option(
    "--runs-dir",
    type=click.Path(file_okay=False),
    help="Folder holding the run folders. Default: WBGRAPH_RUNS, else [runs] dir in ./wbgraph.toml, else ./runs.",
)
encoding_option = click.option(
    "--encoding",
    default="utf-8-sig",
    show_default=True,
    help="The file's text encoding (utf-8-sig: UTF-8, with or without BOM).",
)
mapping_option = click.option(
    "--mapping",
    type=click.Path(dir_okay=False, path_type=Path),
    help="How the file's columns become graph properties (TOML; default: the seed notebook's columns).",
)
max_rejects_option = click.option(
    "--max-rejects", type=click.IntRange(min=0), help="Load nothing (exit 4) if more rows than this are rejected."
)
run_option = click.option(
    "--run", help="Run ID or folder. Default: the promoted run, else the latest that did not fail its gate."
)


def comma_list(ctx: click.Context, param: click.Parameter, value: str | None) -> list[str]:
    """An option's comma-separated names as a list: ``'EASE, item kNN'`` -> ``['EASE', 'item kNN']``."""
    return [n.strip() for n in value.split(",") if n.strip()] if value else []


def segments_count(ctx: click.Context, param: click.Parameter, value: str) -> int | str:
    """``--segments``: a number of segments (2 or more) or ``auto``."""
    if value == "auto":
        return "auto"
    try:
        k = int(value)
    except ValueError:
        raise click.BadParameter("a number of segments (2 or more) or 'auto'") from None
    if k < 2:
        raise click.BadParameter("a number of segments (2 or more) or 'auto'")
    return k


def echo_json(value: Any) -> None:
    """Print a summary (its :meth:`~wbgraph.progress.Summary.to_json`) or plain data as JSON."""
    click.echo(json.dumps(value.to_json() if isinstance(value, Summary) else value, indent=2, default=str))


def echo_fields(fields: dict) -> None:
    """Print ``name  value`` lines, names aligned."""
    width = max(len(k) for k in fields)
    for key, value in fields.items():
        click.echo(f"{key:<{width}}  {value}")


class Bars:
    """The CLI's :class:`~wbgraph.progress.Progress`: messages and rich progress bars on stderr.

    stdout stays clean for ``--json``. A bar appears at its first update, so an error found
    before any work shows alone.
    """

    def say(self, message: str) -> None:
        click.echo(message, err=True)

    @contextmanager
    def task(self, description: str, unit: str = "rows") -> Iterator[Any]:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        bar = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        )
        task = None

        def update(done: int, total: int | None = None) -> None:
            nonlocal task
            if task is None:
                bar.start()
                task = bar.add_task(description, total=total, rate="")
            elapsed = bar.tasks[0].elapsed or 0
            rate = f"{done / elapsed:,.0f} {unit}/s" if elapsed else ""
            bar.update(task, completed=done, total=total, rate=rate)

        try:
            yield update
        finally:
            if task is not None:
                bar.stop()


def bars(silent: bool) -> Progress:
    """Rich bars, or nothing with ``--silent``/``--json``."""
    return SILENT if silent else Bars()
