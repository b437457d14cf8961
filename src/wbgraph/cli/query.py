"""``wbgraph query``: one Cypher statement, rows printed as a table, JSON or CSV."""

import csv
import json
import sys
from pathlib import Path

import click

from ..serve import query as library
from .common import echo_json, pass_obj


@click.command()
@click.argument("statement", required=False)
@click.option("--name", "name", metavar="QUERY", help="Run a shipped analyst query, e.g. recommendations_for_customer.")
@click.option(
    "--file", "file", type=click.Path(exists=True, dir_okay=False), help="Run the statement in this .cypher file."
)
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help='A query parameter; VALUE is parsed as JSON when it can be (5, true, [1,2], "text").',
)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--write", is_flag=True, help="Route to a writer (needed for statements that write).")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON (the same as --format json).")
@pass_obj
def query(
    obj,
    statement: str | None,
    name: str | None,
    file: str | None,
    params: tuple[str, ...],
    fmt: str,
    write: bool,
    as_json: bool,
) -> None:
    """Run one Cypher statement with parameters and print the rows.

    The statement is given as text, as a file (--file), or by the name of one of the
    analysts' queries shipped in cypher/queries/ (--name; a wrong name lists them).
    Statements are routed as reads unless --write is given. JSON output is a list of
    objects keyed by column.

    \b
    Example:
        wbgraph query "MATCH (c:Customer {customerId: \\$id}) RETURN c" -p id=CUS-001 --format json
        wbgraph query --name recommendations_for_customer -p customerId=CUS-0001
        wbgraph query --file my-question.cypher --format csv > answer.csv
    """
    if sum(x is not None for x in (statement, name, file)) != 1:
        raise click.UsageError("Give exactly one of STATEMENT, --name and --file.")
    if name:
        statement = library.shipped(name)
    elif file:
        statement = Path(file).read_text(encoding="utf-8")
    parsed = library.parse_params(params)
    with obj.connect() as (driver, settings):
        result = library.query(driver, settings, statement, parsed, write=write)
    if fmt == "json" or as_json:
        echo_json(result.rows)
    elif fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=result.keys, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: _cell(v) for k, v in row.items()} for row in result.rows)
    else:
        _print_table(result.keys, result.rows)


def _cell(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _print_table(keys, rows):
    if not keys:
        click.echo("(no columns)")
        return
    cells = [[_cell(row[k]) for k in keys] for row in rows]
    widths = [max([len(k)] + [len(r[i]) for r in cells]) for i, k in enumerate(keys)]
    click.echo("  ".join(k.ljust(w) for k, w in zip(keys, widths)).rstrip())
    click.echo("  ".join("-" * w for w in widths))
    for r in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    click.echo(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
