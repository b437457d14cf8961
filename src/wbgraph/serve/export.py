"""``wbgraph recommendations export``: every current recommendation into a CSV or Parquet file.

For a CRM or a campaign tool: one row per (customer, product) with rank, score, reasons,
run and segment, read from Neo4j a page of customers at a time in customer order (each page
a retried read) and written a page at a time, so memory does not grow with the number of
recommendations.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import neo4j

from ..config import Settings
from ..db import read
from ..errors import ConfigError, RunNotFound, require_folder_of
from ..progress import SILENT, Progress, Summary
from ..runs import RECOMMENDATION_ROW, recommendation_schema

FORMATS = ("csv", "parquet")
EXTRA = (("segmentName", "string"),)
# the recommendation row every file of them has (wbgraph.runs.RECOMMENDATION_ROW), then its segment's name
COLUMNS = tuple(name for name, _ in (*RECOMMENDATION_ROW, *EXTRA))
PAGE = 2_000  # customers a read: up to 2,000 sets, 14,000 rows at seven products each
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

    ``run``: a run ID or its folder, as ``--run`` is everywhere (the folder names the run); a
    run without current recommendations in the graph is :class:`RunNotFound`, as an unknown
    run is in every command.
    ``fmt``: ``csv`` or ``parquet``; None: from the file's suffix. The file is written
    beside its final name and renamed at the end, so a reader never sees half of it.
    """
    run = Path(run).name if run and Path(run).is_dir() else run
    output = Path(output)
    fmt = fmt or output.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ConfigError(f"Cannot tell the format of {output}: give --format csv or --format parquet.")
    require_folder_of(output, "the recommendations")
    if run and not read(driver, settings, "serve/run_written", runId=run)[0]["written"]:
        raise RunNotFound(
            f"No current recommendations of run {run!r} in database {settings.database!r}: "
            "`wbgraph runs list` names the runs; only those of current sets can be exported."
        )
    partial = output.with_name(output.name + ".partial")
    rows = customers = 0
    after = ""  # every customer ID sorts after the empty one
    with _writer(partial, fmt) as write, progress.task("Exporting", "recommendations") as update:
        while page := read(driver, settings, "serve/export_recommendations", runId=run, after=after, customers=PAGE):
            batch = [
                {"customerId": c["customerId"], **r, "segment": c["segment"], "segmentName": c["segmentName"]}
                for c in page
                for r in c["recommendations"]
            ]
            write(batch)
            rows += len(batch)
            customers += sum(1 for c in page if c["recommendations"])
            after = page[-1]["customerId"]
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
