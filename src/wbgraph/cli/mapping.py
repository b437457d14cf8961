"""``wbgraph mapping``: the mapping that tells ``ingest`` how your extract's columns become the graph."""

from pathlib import Path

import click

from ..loaders.mapping import Mapping, init_mapping, load_mapping
from .common import echo_json, json_option


@click.group()
def mapping() -> None:
    """Write and check mappings: how an extract's columns become graph properties.

    \b
    Example:
        wbgraph mapping init transactions.csv --output mapping.toml
        wbgraph mapping check mapping.toml
    """


@mapping.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Where to write it (default: print)."
)
@click.option("--delimiter", default=",", show_default=True, help="The file's field delimiter.")
def init(file: Path, output: Path | None, delimiter: str) -> None:
    """Write a starting mapping for FILE from its header and a sample of its rows, to edit.

    Columns named like a property (customer/client/user id, product/item id, date,
    amount, currency...) are mapped to it, whole-number dates are taken for epoch seconds or
    milliseconds; every other column is listed as a comment.

    \b
    Example:
        wbgraph mapping init ratings.csv --output movielens.toml
    """
    text = init_mapping(file, delimiter=delimiter)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"Wrote {output}: edit it, then `wbgraph ingest {file} --mapping {output}`")
    else:
        click.echo(text, nl=False)


@mapping.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def check(file: Path, as_json: bool) -> None:
    """Check a mapping file and say what it maps (exit 3 with one line when it is unusable).

    \b
    Example:
        wbgraph mapping check movielens.toml
    """
    loaded = load_mapping(file)
    if as_json:
        echo_json(_described(loaded))
        return
    for prop, source in loaded.columns.items():
        origin = f"column {source.column!r}" if source.column else f"constant {source.constant!r}"
        click.echo(f"{prop:<22} <- {origin}" + (f" ({source.format})" if source.format else ""))
    for prop, (label, source) in loaded.extras.items():
        click.echo(f"{label}.{prop:<{max(1, 21 - len(label))}} <- column {source.column!r} ({source.type}, extra)")
    for side, joined in loaded.sides.items():
        props = [*joined.columns, *(f"{prop} (extra)" for prop in joined.extras)]
        click.echo(f"[{side}] from {joined.file} joined on {joined.key!r}: {', '.join(props)}")
    if loaded.reporting:
        rates = ", ".join(f"{c} {r:g}" for c, r in loaded.rates.items() if c != loaded.reporting)
        click.echo(f"Money also in {loaded.reporting} (amountReporting, valueReporting), per unit: {rates}")
    if "regulation" in loaded.columns:
        how = "its latest row's" if loaded.regulations == "latest" else "every one it has been traded under"
        click.echo(f"A product's regulations: {how} (regulations = {loaded.regulations!r})")
    click.echo(f"Required in every row: {', '.join(sorted(loaded.required))}")


def _described(loaded: Mapping) -> dict:
    """What ``mapping check --json`` prints: each property's source, the extras, the joined
    side files, the reporting currency, how regulations accumulate, what every row needs."""
    source = lambda s: {"column": s.column, "constant": s.constant, "format": s.format}
    return {
        "columns": {prop: source(s) for prop, s in loaded.columns.items()},
        "extras": {
            f"{label}.{prop}": {"column": s.column, "type": s.type} for prop, (label, s) in loaded.extras.items()
        },
        "sides": {
            side: {"file": str(j.file), "key": j.key, "properties": [*j.columns, *j.extras]}
            for side, j in loaded.sides.items()
        },
        "reporting": loaded.reporting,
        "rates": dict(loaded.rates) if loaded.reporting else {},
        "regulations": loaded.regulations,
        "modelFeatures": list(loaded.model_features),
        "required": sorted(loaded.required),
    }
