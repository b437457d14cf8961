"""``wbgraph ingest``: a CSV file into the graph, validated, online or with the bulk importer."""

from pathlib import Path

import click

from ..db import describe_interrupted
from ..loaders.bulk import bulk_ingest
from ..loaders.ingest import IngestSummary, hierarchy_source
from ..loaders.ingest import ingest as library
from ..localserver import LocalServer
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


@click.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--hierarchy",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A file of who owns whom (Customer ID, Parent ID, Share[, Since, Parent Name]): corporate groups.",
)
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=10_000, show_default=True, help="Rows per write transaction."
)
@click.option(
    "--chunk-rows",
    type=click.IntRange(min=1),
    default=20_000,
    show_default=True,
    help="Rows read and validated at a time: memory grows with this, not with the file.",
)
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where rejected rows go (FILE.rejects.csv beside each FILE unless given; one file only).",
)
@max_rejects_option
@click.option(
    "--strict",
    is_flag=True,
    help="Reject rows with soft problems too (values outside the vocabulary, conflicting attributes).",
)
@encoding_option
@click.option("--delimiter", help="The field delimiter, e.g. ';' (default: the mapping's, else a comma).")
@mapping_option
@click.option(
    "--bulk",
    is_flag=True,
    help="Load an empty database of the local server with Neo4j's bulk importer (restarts the server).",
)
@silent_option
@json_option
@pass_obj
def ingest(
    obj,
    files: tuple[Path, ...],
    hierarchy: Path | None,
    batch_size: int,
    chunk_rows: int,
    rejects: Path | None,
    max_rejects: int | None,
    strict: bool,
    encoding: str,
    delimiter: str | None,
    mapping: Path | None,
    bulk: bool,
    silent: bool,
    as_json: bool,
) -> None:
    """Validate CSV (.csv, .csv.gz) or Parquet files, or a folder of them, and load them into Neo4j.

    Safe to run again. Several files (or a folder) give one summary; all are validated
    before anything is written. Files are read a chunk at a time (--chunk-rows), twice:
    once to validate, once to write, so memory does not grow with the file.

    Every row is either loaded or written to the rejects file with its line number and
    reason. Exit status: 0 loaded (bad rows quarantined), 3 file unusable (nothing
    loaded), 4 more rejects than --max-rejects (nothing loaded), 5/6 Neo4j unreachable
    or credentials refused, 9 --bulk refused (not the local server, or a database that
    is not empty: nothing changed).

    --bulk builds the same graph with neo4j-admin's importer, much faster on large files;
    the local server is stopped while it runs.

    --hierarchy loads a file of stakes (who owns whom, what share, since when) after the
    files, or alone: OWNED_BY and SUBSIDIARY_OF relationships, each customer's
    ultimateParentId and groupSize; owners that are not clients are Customer nodes with
    client = false, never recommended to. A consolidation cycle refuses the file (exit 3).
    A mapping's [hierarchy] table names such a file in the bank's own headers: it loads
    after the files, or alone when no file is given.

    \b
    Example:
        wbgraph ingest data.csv --batch-size 10000 --rejects bad-rows.csv
        wbgraph ingest ratings.csv --mapping movielens.toml
        wbgraph ingest extracts/2025-*.csv.gz
        wbgraph ingest data.csv --hierarchy groups.csv
        wbgraph ingest --mapping bank.toml          # only the mapping's [hierarchy]
        wbgraph db reset --yes && wbgraph ingest big.csv --bulk
    """
    options = dict(
        rejects=rejects,
        max_rejects=max_rejects,
        strict=strict,
        encoding=encoding,
        mapping=mapping,
        delimiter=delimiter,
        chunk_rows=chunk_rows,
        progress=bars(silent or as_json),
    )
    mapped_hierarchy = mapping is not None and hierarchy_source(mapping) is not None
    if not files and hierarchy is None and not mapped_hierarchy:
        raise click.UsageError("Give the files to load, --hierarchy FILE, or a --mapping with a [hierarchy].")
    if bulk:
        if len(files) != 1:
            raise click.UsageError("--bulk loads one file.")
        if hierarchy is not None:
            raise click.UsageError("--hierarchy loads online: `wbgraph ingest --hierarchy FILE` after the bulk load.")
        if mapped_hierarchy:
            raise click.UsageError(
                f"{mapping} has a [hierarchy], which loads online: bulk-load with a mapping without it, "
                f"then `wbgraph ingest --mapping {mapping}` (no files) loads the hierarchy."
            )
        summary = bulk_ingest(LocalServer(), obj.settings(), files[0], **options)
    else:
        with obj.connect() as (driver, settings):
            summary = library(driver, settings, list(files), hierarchy=hierarchy, batch_size=batch_size, **options)
    if as_json:
        echo_json(summary)
    else:
        echo_summary(summary)


def echo_summary(summary: IngestSummary) -> None:
    if summary.file:
        _echo_rows(summary)
    if summary.hierarchy:
        h = summary.hierarchy
        echo_fields(
            {
                "Hierarchy": h.file,
                "Stakes read": f"{h.read:,}",
                "Loaded": f"{h.loaded:,} ({h.entities:,} entities, {h.not_clients_created:,} new ones not clients)",
                "Rejected": f"{h.rejected:,}" + (f" -> {h.rejects_file}" if h.rejects_file else ""),
                "Groups": f"{h.groups:,} (the largest {h.largest_group:,} entities; {h.subsidiaries:,} subsidiaries)",
            }
        )
    if summary.interrupted:
        click.echo(f"Warning: {describe_interrupted(summary.interrupted)}")


def _echo_rows(summary: IngestSummary) -> None:
    echo_fields(
        {
            "File": summary.file,
            "Rows read": f"{summary.read:,}",
            "Loaded": f"{summary.loaded:,} ({summary.created:,} new, {summary.duplicates:,} duplicate rows, "
            f"{summary.already_in_graph:,} already in the graph)",
            "Rejected": f"{summary.rejected:,}" + (f" -> {summary.rejects_file}" if summary.rejects_file else ""),
            "Nodes created": f"{summary.nodes_created:,}",
            "Relationships created": f"{summary.relationships_created:,}",
            "Time": f"{summary.seconds:.1f}s ({summary.rows_per_second:,.0f} rows/s)",
        }
    )
    for warning in summary.warnings:
        click.echo(f"Warning: {warning}")
