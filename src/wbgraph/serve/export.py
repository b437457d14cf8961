"""``wbgraph recommendations export``: every current recommendation into a CSV or Parquet file.

For a CRM or a campaign tool: one row per (customer, product) with rank, score, reasons,
run and segment, streamed from Neo4j in customer order and written a batch at a time, so
memory does not grow with the number of recommendations.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import neo4j

from .. import cypher
from ..config import Settings
from ..errors import ConfigError, require_folder_of
from ..progress import SILENT, Progress, Summary
from ..runs import RECOMMENDATION_ROW, recommendation_schema

FORMATS = ("csv", "parquet")
EXTRA = (("segmentName", "string"),)
# the recommendation row every file of them has (wbgraph.runs.RECOMMENDATION_ROW), then its segment's name
COLUMNS = tuple(name for name, _ in (*RECOMMENDATION_ROW, *EXTRA))
BATCH = 10_000
REASON_SEPARATOR = " | "  # CSV cells hold the reasons joined; Parquet keeps them as a list


@dataclass
class ExportSummary(Summary):
    output: str
    format: str
    rows: int
    customers: int
    run_id: str | None = None


def export(
    driver: neo4j.Driver,
    settings: Settings,
    output: str | Path,
    fmt: str | None = None,
    run: str | None = None,
    progress: Progress = SILENT,
) -> ExportSummary:
    """Write every current recommendation (only run ``run``'s with it) to ``output``.

    ``run``: a run ID or its folder, as ``--run`` is everywhere (the folder names the run).
    ``fmt``: ``csv`` or ``parquet``; None: from the file's suffix. The file is written
    beside its final name and renamed at the end, so a reader never sees half of it.
    """
    run = Path(run).name if run and Path(run).is_dir() else run
    output = Path(output)
    fmt = fmt or output.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ConfigError(f"Cannot tell the format of {output}: give --format csv or --format parquet.")
    require_folder_of(output, "the recommendations")
    partial = output.with_name(output.name + ".partial")
    rows = customers = 0
    last = None
    with (
        driver.session(database=settings.database, default_access_mode=neo4j.READ_ACCESS) as session,
        _writer(partial, fmt) as write,
        progress.task("Exporting", "recommendations") as update,
    ):
        batch: list[dict] = []
        for record in session.run(cypher.load("serve/export_recommendations"), runId=run):
            row = record.data()
            batch.append(row)
            customers += row["customerId"] != last
            last = row["customerId"]
            if len(batch) >= BATCH:
                write(batch)
                rows += len(batch)
                update(rows)
                batch = []
        write(batch)
        rows += len(batch)
        update(rows)
    partial.replace(output)
    return ExportSummary(str(output), fmt, rows, customers, run)


class _writer:
    """``with _writer(path, fmt) as write: write(rows)``: CSV or Parquet, a batch at a time."""

    def __init__(self, path: Path, fmt: str):
        self.path, self.fmt = path, fmt

    def __enter__(self):
        if self.fmt == "csv":
            self._file = self.path.open("w", newline="", encoding="utf-8")
            self._csv = csv.DictWriter(self._file, fieldnames=COLUMNS, lineterminator="\n")
            self._csv.writeheader()
            return self._write_csv
        import pyarrow.parquet as pq

        self._schema = recommendation_schema(EXTRA)
        self._parquet = pq.ParquetWriter(self.path, self._schema, compression="zstd")
        return self._write_parquet

    def _write_csv(self, rows: list[dict]) -> None:
        self._csv.writerows(r | {"reasons": REASON_SEPARATOR.join(r["reasons"] or [])} for r in rows)

    def _write_parquet(self, rows: list[dict]) -> None:
        import pyarrow as pa

        if rows:
            self._parquet.write_table(pa.Table.from_pylist(rows, schema=self._schema))

    def __exit__(self, kind, error, tb) -> None:
        if self.fmt == "csv":
            self._file.close()
        else:
            self._parquet.close()
        if kind is not None:
            self.path.unlink(missing_ok=True)
