"""What the commands share: error reporting, connection options, output helpers."""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass

import click

from ..config import Settings, resolve_settings
from ..db import connect
from ..errors import ConnectionFailed, WbgraphError
from ..localserver import LocalServer


class Group(click.Group):
    """A click group that reports any :class:`WbgraphError` as ``Error: <one line>``, exit 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except WbgraphError as e:
            error = click.ClickException(str(e))
            error.exit_code = e.exit_code
            raise error from None


@dataclass
class Obj:
    """The group's options, handed to every command."""

    uri: str | None = None
    user: str | None = None
    database: str | None = None

    def settings(self) -> Settings:
        return resolve_settings(uri=self.uri, user=self.user, database=self.database)

    @contextmanager
    def driver(self):
        """The one driver of this process, connected to the configured server."""
        settings = self.settings()
        if settings.local and not LocalServer().pid():
            raise ConnectionFailed(
                f"The local Neo4j server is not running ({settings.uri}): start it with `wbgraph db start`, "
                "or set NEO4J_URI to use another server."
            )
        with connect(settings) as driver:
            yield driver, settings


pass_obj = click.make_pass_decorator(Obj, ensure=True)

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


def echo_json(value) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


def echo_fields(fields: dict) -> None:
    """Print ``name  value`` lines, names aligned."""
    width = max(len(k) for k in fields)
    for key, value in fields.items():
        click.echo(f"{key:<{width}}  {value}")


def progress(message: str) -> None:
    """Progress messages go to stderr, so stdout stays clean for --json."""
    click.echo(message, err=True)


silent_option = click.option("--silent", is_flag=True, help="No progress bar.")


@contextmanager
def progress_bar(description: str, unit: str = "rows", silent: bool = False):
    """A progress bar on stderr with a rate; yields ``update(done, total)`` for the library.

    The bar appears at the first update, so an error found before any work shows alone.
    """
    if silent:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), console=Console(stderr=True),
    )
    task = None

    def update(done: int, total: int) -> None:
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
