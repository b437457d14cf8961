"""``wbgraph forget``: erase customers from the graph and from every artefact wbgraph keeps."""

import click

from .common import bars, confirm, echo_json, json_option, pass_obj, runs_option, silent_option


@click.command()
@click.argument("customer_ids", nargs=-1, required=True, metavar="CUSTOMER_ID...")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@runs_option
@silent_option
@json_option
@pass_obj
def forget(obj, customer_ids: tuple[str, ...], yes: bool, runs_dir: str | None, silent: bool, as_json: bool) -> None:
    """Erase customers: from the graph, the run folders and the rejects files wbgraph wrote.

    Deletes each customer with its transactions, offers and relationships, removes it from every
    run folder in the runs location (encoders, segment projection, audit files of past
    writebacks) and from the rejects files of the files ingested into this database, then
    lists what it cannot reach (the input files, Neo4j's transaction logs, dumps, exports).

    \b
    Example:
        wbgraph forget CUS-0042 CUS-0107 --yes
    """
    from ..forget import forget as library

    confirm(f"Erase {len(customer_ids)} customer(s) from the graph and every run folder?", yes, as_json)
    with obj.connect() as (driver, settings):
        summary = library(driver, settings, list(customer_ids), runs_dir=runs_dir, progress=bars(silent or as_json))
    if as_json:
        echo_json(summary)
        return
    missing = sorted(set(summary.asked) - set(summary.found))
    click.echo(
        f"Erased {len(summary.found)} customer(s), {summary.transactions:,} transactions and "
        f"{summary.offers:,} offers from the graph" + (f" ({', '.join(missing)} not in it)" if missing else "")
    )
    for path in summary.files:
        click.echo(f"  removed from {path}")
    click.echo("Not reachable from here (erase these yourself):")
    for place in summary.unreachable:
        click.echo(f"  - {place}")
