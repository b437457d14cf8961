"""``wbgraph demo``: generate -> ingest -> train -> evaluate -> writeback -> recommendations."""

import click

from ..config import uses_local_server
from ..localserver import LocalServer
from .common import bars, echo_json, json_option, pass_obj, runs_option, silent_option
from .evaluate import echo_evaluation
from .recommend import echo_recommendations


@click.command()
@click.option(
    "--rows", type=click.IntRange(min=1_000), default=50_000, show_default=True, help="Transactions to generate."
)
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed of the generated data.")
@click.option(
    "--folder",
    type=click.Path(file_okay=False),
    default="demo-data",
    show_default=True,
    help="Where the generated data and the truth file go.",
)
@click.option("--epochs", type=click.IntRange(min=1), help="Most training epochs (default: the training default).")
@click.option("--reset", is_flag=True, help="Empty the database first (its whole content, not only the demo's).")
@runs_option
@silent_option
@json_option
@pass_obj
def demo(
    obj,
    rows: int,
    seed: int,
    folder: str,
    epochs: int | None,
    reset: bool,
    runs_dir: str | None,
    silent: bool,
    as_json: bool,
) -> None:
    """Run the whole pipeline on generated data and show what it found.

    Starts the local Neo4j server unless NEO4J_URI (or --uri) names another, generates
    --rows transactions with planted structure, ingests them, trains the GAT, evaluates it
    against the baselines and the oracle, writes the recommendations back and shows three
    customers' recommendations with their reasons, the Neo4j Browser address and a query
    to paste there. Safe to run again: the same rows are recognised, nothing doubles. A
    database holding other customers is refused (exit 9) unless --reset empties it.

    \b
    Example:
        wbgraph demo --rows 50000 --seed 1
    """
    from ..pipeline import demo as library

    settings = None if uses_local_server(obj.uri) else obj.settings()
    result = library(
        settings,
        rows=rows,
        seed=seed,
        folder=folder,
        epochs=epochs,
        reset=reset,
        runs_dir=runs_dir,
        progress=bars(silent or as_json),
    )
    if as_json:
        echo_json(result)
        return
    i, w = result.ingest, result.writeback
    click.echo(f"\nIngested {i.loaded:,} of {i.read:,} rows ({i.rejected:,} rejected) into {result.uri}")
    click.echo(
        f"Trained run {result.training.run_id}: {result.training.epochs} epochs, best {result.training.best_epoch}\n"
    )
    echo_evaluation(result.evaluation, with_truth=True)
    click.echo(f"\nWrote {w.edges:,} RECOMMENDED edges for {w.covered:,} customers in {w.segments} segments\n")
    for customer in result.customers:
        echo_recommendations(customer, explain=True)
        click.echo()
    if result.browser_url:
        click.echo(f"Neo4j Browser: {result.browser_url}  (user neo4j, password in {LocalServer().password_file})")
    click.echo("Paste into Neo4j Browser:")
    if result.browser_params:
        click.echo(f"  {result.browser_params}")
    for line in result.browser_query.strip().splitlines():
        click.echo(f"  {line}")
    steps = ", ".join(f"{k} {v:.0f}s" for k, v in result.seconds.items())
    click.echo(f"\nDone in {result.total:.0f}s ({steps}).")
