"""``wbgraph report``: a static HTML report of a run, with plots."""

import click

from .common import echo_json, json_option, pass_obj, run_option, runs_option


@click.command()
@run_option
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False),
    required=True,
    help="Folder to write index.html and the PNGs into.",
)
@runs_option
@json_option
@pass_obj
def report(obj, run: str | None, output: str, runs_dir: str, as_json: bool) -> None:
    """Write a static HTML report of a run (index.html, no server) with its plots as PNGs.

    Training curve, metrics against the baselines and the oracle (from `wbgraph
    evaluate`), segment sizes and profiles with a 2-D projection of the customer
    embeddings, exclusions per rule (from `wbgraph writeback`), and recommendation
    coverage by product category (from the graph).

    \b
    Example:
        wbgraph report --output report/ && open report/index.html
    """
    from ..serve.report import report as library

    with obj.connect() as (driver, settings):
        result = library(driver, settings, output, run=run, runs_dir=runs_dir)
    if as_json:
        echo_json(result)
        return
    click.echo(f"Wrote {result.index} with {len(result.images)} plots")
    for step in result.missing:
        click.echo(f"Note: this run has no `wbgraph {step}` results yet: run `wbgraph {step}` to fill its section.")
