"""``wbgraph outcomes``: what relationship managers did with the offers."""

from pathlib import Path

import click

from .common import (
    bars,
    echo_fields,
    echo_json,
    encoding_option,
    json_option,
    mapping_option,
    max_rejects_option,
    pass_obj,
    silent_option,
)


@click.group()
def outcomes() -> None:
    """Offers made to customers and their outcomes (accepted, declined, no answer).

    \b
    Example:
        wbgraph outcomes ingest offers-2026-11.csv
    """


@outcomes.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where rejected rows go (default: FILE.rejects.csv beside FILE).",
)
@max_rejects_option
@click.option(
    "--conversion-days",
    type=click.IntRange(min=0),
    default=90,
    show_default=True,
    help="An offer converted when the customer's first transaction with the product follows within this many days.",
)
@encoding_option
@mapping_option
@silent_option
@json_option
@pass_obj
def ingest(
    obj,
    file: Path,
    rejects: Path | None,
    max_rejects: int | None,
    conversion_days: int,
    encoding: str,
    mapping: Path | None,
    silent: bool,
    as_json: bool,
) -> None:
    """Load an outcomes file (CSV, .csv.gz or Parquet): one row per offer made to a customer.

    Columns: customerId, productId, offeredAt (YYYY-MM-DD), outcome (accepted, declined or
    no-response), and optionally decidedAt, channel, rm, runId and rank. Each offer becomes
    (:Customer)-[:RECEIVED]->(:Offer)-[:FOR]->(:Product), linked to its (:Run) when known and
    CONVERTED_TO the customer's first transaction with the product when that follows within
    --conversion-days. Every row is loaded or written to the rejects file with its line and
    reason (unknown customers or products, outcomes outside the vocabulary, dates in the
    future, an offer given twice, ...). Safe to run again. A mapping's [outcomes] table
    names the file's own headers and date formats. Exit status: 3 file unusable, 4 more
    rejects than --max-rejects (nothing loaded).

    \b
    Example:
        wbgraph outcomes ingest offers-2026-11.csv --max-rejects 100 --json
        wbgraph outcomes ingest crm-export.csv --mapping bank.toml
    """
    from ..outcomes.ingest import ingest as library

    with obj.connect() as (driver, settings):
        summary = library(
            driver,
            settings,
            file,
            rejects=rejects,
            max_rejects=max_rejects,
            conversion_days=conversion_days,
            encoding=encoding,
            mapping=mapping,
            progress=bars(silent or as_json),
        )
    if as_json:
        echo_json(summary)
        return
    echo_fields(
        {
            "File": summary.file,
            "Rows read": f"{summary.read:,}",
            "Loaded": f"{summary.loaded:,}",
            "Rejected": f"{summary.rejected:,}" + (f" -> {summary.rejects_file}" if summary.rejects_file else ""),
            "Offers in the graph": f"{summary.offers:,} ({summary.accepted:,} accepted, {summary.declined:,} "
            f"declined, {summary.no_response:,} no response; {summary.converted:,} converted)",
            "Time": f"{summary.seconds:.1f}s",
        }
    )
