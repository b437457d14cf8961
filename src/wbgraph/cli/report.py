"""``wbgraph report``: a static HTML report of a run, with plots."""

import click

from .common import echo_json, json_option, pass_obj
from .learn import runs_option


@click.command()
@click.option("--run", help="Run ID or folder (default: the latest run).")
@click.option("--output", "-o", type=click.Path(file_okay=False), required=True, help="Folder to write index.html and the PNGs into.")
@runs_option
@json_option
@pass_obj
def report(obj, run, output, runs_dir, as_json):
    """Write a static HTML report of a run (index.html, no server) with its plots as PNGs.

    Training curve, metrics against the baselines and the oracle (from `wbgraph
    evaluate`), segment sizes and profiles with a 2-D projection of the customer
    embeddings, exclusions per rule (from `wbgraph writeback`), and recommendation
    coverage by product category (from the graph).

    \b
    Example:
        wbgraph report --output report/ && open report/index.html
    """
    from .. import report as library

    with obj.driver() as (driver, settings):
        result = library.report(driver, settings, output, runs_dir=runs_dir, run=run)
    if as_json:
        echo_json({"index": str(result.index), "images": [str(p) for p in result.images], "missing": result.missing})
        return
    click.echo(f"Wrote {result.index} with {len(result.images)} plots")
    for step in result.missing:
        click.echo(f"Note: this run has no `wbgraph {step}` results yet: run `wbgraph {step}` to fill its section.")
