"""``wbgraph generate`` and ``wbgraph ingest``: data into the graph."""

from pathlib import Path

import click

from .. import generate as generator
from ..loaders import bulk as bulk_loader
from ..loaders import ingest as loader
from ..localserver import LocalServer
from .common import echo_fields, echo_json, json_option, pass_obj, progress, progress_bar, silent_option


@click.command()
@click.option("--rows", type=click.IntRange(min=1), default=10_000, show_default=True, help="Transactions to generate.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed: the same seed gives the same file.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), required=True, help="CSV file to write.")
@click.option("--customers", type=click.IntRange(min=1), help="Number of customers (default: rows/20, 20 to 50,000).")
@click.option("--products", type=click.IntRange(min=1), help="Number of products (default 60).")
@click.option("--truth", type=click.Path(dir_okay=False, writable=True), help="Also write each customer's products ranked by true affinity (JSON).")
@json_option
def generate(rows, seed, output, customers, products, truth, as_json):
    """Generate synthetic transactions with planted structure, in the seed notebook's 28 columns.

    \b
    Example:
        wbgraph generate --rows 100000 --seed 7 --output data.csv --truth truth.json
    """
    data = generator.generate(rows, seed=seed, customers=customers, products=products, truth=bool(truth))
    generator.write(data, output, truth)
    facts = {
        "output": output, "rows": len(data.rows), "customers": int(data.rows["Customer ID"].nunique()),
        "products": int(data.rows["Product ID"].nunique()), "truth": truth,
    }
    if as_json:
        echo_json(facts)
    else:
        click.echo(f"Wrote {facts['rows']:,} rows ({facts['customers']:,} customers, {facts['products']:,} products) to {output}")


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--batch-size", type=click.IntRange(min=1), default=10_000, show_default=True, help="Rows per write transaction.")
@click.option("--rejects", type=click.Path(dir_okay=False, path_type=Path), help="Where rejected rows go (default FILE.rejects.csv beside FILE).")
@click.option("--max-rejects", type=click.IntRange(min=0), help="Load nothing (exit 4) if more rows than this are rejected.")
@click.option("--strict", is_flag=True, help="Reject rows with soft problems too (values outside the vocabulary, conflicting attributes).")
@click.option("--encoding", help="The file's text encoding (default UTF-8, with or without BOM).")
@click.option("--bulk", is_flag=True, help="Load an empty database of the local server with Neo4j's bulk importer (restarts the server).")
@silent_option
@json_option
@pass_obj
def ingest(obj, file, batch_size, rejects, max_rejects, strict, encoding, bulk, silent, as_json):
    """Validate a CSV file and load it into Neo4j; safe to run again.

    Every row is either loaded or written to the rejects file with its line number and
    reason. Exit status: 0 loaded (bad rows quarantined), 3 file unusable (nothing
    loaded), 4 more rejects than --max-rejects (nothing loaded), 5/6 Neo4j unreachable
    or credentials refused, 9 --bulk refused (not the local server, or a database that
    is not empty: nothing changed).

    --bulk builds the same graph with neo4j-admin's importer, much faster on large files;
    the local server is stopped while it runs.

    \b
    Example:
        wbgraph ingest data.csv --batch-size 10000 --rejects bad-rows.csv
        wbgraph db reset --yes && wbgraph ingest big.csv --bulk
    """
    if bulk:
        say = None if silent or as_json else progress
        summary = bulk_loader.bulk_ingest(
            LocalServer(), obj.settings(), file, rejects=rejects, max_rejects=max_rejects,
            strict=strict, encoding=encoding, progress=say,
        )
        _report(summary, as_json)
        return
    with obj.driver() as (driver, settings), progress_bar("Ingesting", silent=silent or as_json) as update:
        summary = loader.ingest(
            driver, settings, file, batch_size=batch_size, rejects=rejects, max_rejects=max_rejects,
            strict=strict, encoding=encoding, progress=update,
        )
    _report(summary, as_json)


def _report(summary, as_json: bool) -> None:
    if as_json:
        echo_json(summary.as_dict())
        return
    echo_fields({
        "File": summary.file,
        "Rows read": f"{summary.read:,}",
        "Loaded": f"{summary.loaded:,} ({summary.created:,} new, {summary.duplicates:,} duplicate rows, {summary.alreadyInGraph:,} already in the graph)",
        "Rejected": f"{summary.rejected:,}" + (f" -> {summary.rejectsFile}" if summary.rejectsFile else ""),
        "Nodes created": f"{summary.nodesCreated:,}",
        "Relationships created": f"{summary.relationshipsCreated:,}",
        "Time": f"{summary.seconds:.1f}s ({summary.rows_per_second:,.0f} rows/s)",
    })
    for warning, count in summary.warnings.items():
        click.echo(f"Warning: {count:,} x {warning}")
