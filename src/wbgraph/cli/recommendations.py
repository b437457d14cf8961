"""``wbgraph recommendations``: the current recommendations, handed on."""

import click

from .common import bars, echo_json, json_option, pass_obj, silent_option


@click.group()
def recommendations() -> None:
    """Hand the current recommendations on to other systems.

    \b
    Example:
        wbgraph recommendations export --output recommendations.parquet
    """


@recommendations.command()
@click.option(
    "--output", "-o", required=True, type=click.Path(dir_okay=False), help="The file to write (.csv or .parquet)."
)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "parquet"]), help="The file format (default: from the suffix)."
)
@click.option("--run", help="Run ID or folder: only the sets of this run (default: every current set).")
@silent_option
@json_option
@pass_obj
def export(obj, output: str, fmt: str | None, run: str | None, silent: bool, as_json: bool) -> None:
    """Export every current recommendation for a CRM or a campaign tool.

    One row per recommendation: customerId, productId, rank, score, probability, reasons, runId,
    segment, trainedAt (when its run was trained), segmentName; customers in ID order, each set by rank. Read
    from Neo4j a page of customers at a time and written a page at a time; the file appears only once complete. In CSV
    the reasons are joined with " | "; Parquet keeps them as a list.

    \b
    Example:
        wbgraph recommendations export --output crm/recommendations.csv
        wbgraph recommendations export -o recs.parquet --run 20261126-020409-s0
    """
    from ..serve.export import export as library

    with obj.connect() as (driver, settings):
        summary = library(driver, settings, output, fmt, run=run, progress=bars(silent or as_json))
    if as_json:
        echo_json(summary)
    else:
        click.echo(f"Wrote {summary.rows:,} recommendations of {summary.customers:,} customers to {summary.output}")
