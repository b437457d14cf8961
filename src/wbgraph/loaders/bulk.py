"""``wbgraph ingest --bulk``: a validated CSV into a fresh database by Neo4j's bulk importer.

The rows go through the very validation, rejects file and summary of the online path
(:func:`.ingest.check`); then the graph the online path would build from them is written as
the importer's CSV files (one per label and relationship type, typed headers), the local
server is stopped, ``neo4j-admin database import full`` builds the store, the server is
started again and the online path's constraints and indexes are created. The graph is the
online path's graph: same labels, relationship types, properties and values (a test compares
them), with ``USES`` aggregated here as ``refresh_usage.cypher`` aggregates it there.

Only for an empty database on the managed local server: the importer replaces the store.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from .. import cypher
from ..config import Settings
from ..db import apply_schema, open_driver
from ..errors import ConnectionFailed, ServerError, TargetRefused
from ..graphmodel import CONTEXTS, KEYS, OF_PRODUCT, PERFORMED, USES
from ..localserver import LocalServer, start, stop
from ..progress import SILENT, Phases, Progress
from .columns import owned_by
from .ingest import TRANSACTION_PROPS, IngestSummary, check, latest_rows, product_regulations, usage_table
from .mapping import Mapping
from .read import DEFAULT_ENCODING
from .validate import Validated

IMPORTER_TYPE = {"int": "long", "float": "double", "date": "datetime", "category": "string", "id": "string"}
KIND = {c.prop: c.kind for owner in ("Customer", "Product", "Transaction") for c in owned_by(owner)}

# USES, aggregated from each pair's transactions as refresh_usage.cypher does.
USES_COLUMNS = (
    "transactionCount:long",
    "firstDate:datetime",
    "lastDate:datetime",
    "totalAmount:double",
    "totalValue:double",
    "meanUsage:double",
    "meanEngagement:double",
    "currency:string",
)


@dataclass
class ImportFiles:
    """The importer's input: ``(label or type, file)`` pairs and what they hold."""

    folder: Path
    nodes: list[tuple[str, Path]] = field(default_factory=list)
    relationships: list[tuple[str, Path]] = field(default_factory=list)
    node_count: int = 0
    relationship_count: int = 0
    property_count: int = 0
    multiline: bool = False

    def arguments(self, database: str) -> list[str]:
        """The ``neo4j-admin`` arguments that import these files into ``database``."""
        args = [
            "database",
            "import",
            "full",
            database,
            "--overwrite-destination=true",
            "--id-type=string",
            "--ignore-empty-strings=true",
            "--bad-tolerance=0",
            f"--report-file={self.folder / 'import.report'}",
        ]
        if self.multiline:
            args.append("--multiline-fields=true")
        args += [f"--nodes={label}={path}" for label, path in self.nodes]
        args += [f"--relationships={kind}={path}" for kind, path in self.relationships]
        return args


def write_import_files(checked: Validated, folder: Path) -> ImportFiles:
    """Write the online path's graph of ``checked.rows`` as the importer's CSV files in ``folder``."""
    files = ImportFiles(Path(folder))
    files.folder.mkdir(parents=True, exist_ok=True)
    rows = checked.rows
    latest = {owner: latest_rows(rows, KEYS[owner]) for owner in ("Customer", "Product")}
    for owner, frame in latest.items():
        key = KEYS[owner]
        attrs = [c.prop for c in owned_by(owner) if c.kind != "id"]
        nodes = frame[[key, *attrs]].copy()
        nodes["attributesAsOf"] = frame["date"]
        _nodes(files, owner, nodes, f"{key}:ID({owner})", {"attributesAsOf": "datetime"})
    for context in CONTEXTS:  # a single value from the owner's latest row; a list accumulates over all rows
        if context.many:
            values = product_regulations(rows).explode().dropna()
            links = pd.DataFrame({"owner": values.index, "name": values.to_numpy()})
        else:
            links = latest[context.owner][[KEYS[context.owner], context.prop]].dropna()
        names = pd.DataFrame({"name": links.iloc[:, 1].drop_duplicates()})
        _nodes(files, context.label, names, f"name:ID({context.label})")
        _relationships(files, context.relationship, links, context.owner, context.label)

    transactions = rows.drop_duplicates("transactionKey")
    _nodes(
        files,
        "Transaction",
        transactions[["transactionKey", *TRANSACTION_PROPS, "date"]],
        "transactionKey:ID(Transaction)",
    )
    _relationships(files, PERFORMED[1], transactions[["customerId", "transactionKey"]], PERFORMED[0], PERFORMED[2])
    _relationships(files, OF_PRODUCT[1], transactions[["transactionKey", "productId"]], OF_PRODUCT[0], OF_PRODUCT[2])
    _relationships(files, USES[1], usage_table(transactions), USES[0], USES[2], USES_COLUMNS)
    return files


def _nodes(files: ImportFiles, label: str, frame: pd.DataFrame, id_header: str, types: dict | None = None) -> None:
    headers = [id_header] + [f"{c}:{(types or {}).get(c) or IMPORTER_TYPE[KIND[c]]}" for c in frame.columns[1:]]
    path = files.folder / f"nodes-{label}.csv"
    _write(files, frame, headers, path)
    files.nodes.append((label, path))
    files.node_count += len(frame)


def _relationships(files: ImportFiles, kind: str, frame: pd.DataFrame, start: str, end: str, props=()) -> None:
    headers = [f":START_ID({start})", f":END_ID({end})", *props]
    path = files.folder / f"relationships-{kind}.csv"
    _write(files, frame, headers, path)
    files.relationships.append((kind, path))
    files.relationship_count += len(frame)


def _write(files: ImportFiles, frame: pd.DataFrame, headers: list[str], path: Path) -> None:
    """One importer CSV: dates in the online path's format, whole numbers without a decimal point."""
    columns = {}
    for column, header in zip(frame.columns, headers):
        values = frame[column]
        if header.endswith(":datetime"):
            text = np.datetime_as_string(
                values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[us]"), unit="us"
            )
            columns[header] = pa.array(np.char.add(text, "Z"), mask=values.isna().to_numpy())
        elif header.endswith(":long"):
            columns[header] = pa.array(values.astype("Int64"))
        elif header.endswith(":double"):
            columns[header] = pa.array(values.astype("float64"))
        else:
            strings = pa.array(values.astype(object).where(values.notna(), None), type=pa.string())
            files.multiline = files.multiline or bool(pc.any(pc.match_substring_regex(strings, "[\r\n]")).as_py())
            columns[header] = strings
    table = pa.table(columns)
    files.property_count += sum(len(table) - table[h].null_count for h in headers if not h.startswith(":"))
    pa_csv.write_csv(table, path)


def bulk_ingest(
    server: LocalServer,
    settings: Settings,
    path: str | Path,
    *,
    rejects: str | Path | None = None,
    max_rejects: int | None = None,
    strict: bool = False,
    encoding: str = DEFAULT_ENCODING,
    mapping: str | Path | Mapping | None = None,
    delimiter: str | None = None,
    progress: Progress = SILENT,
) -> IngestSummary:
    """Load one CSV file into the empty database of the local server with the bulk importer.

    ``progress.say`` is told each step (the server is down between "Stopping" and "Starting").
    """
    phases = Phases()
    if not server.pid():
        raise ConnectionFailed(
            f"The local Neo4j server is not running ({settings.uri}): start it with `wbgraph db start`."
        )
    _require_empty(settings)
    progress.say("Validating")
    with phases("validate"):
        checked, summary = check(
            path,
            rejects=rejects,
            max_rejects=max_rejects,
            strict=strict,
            encoding=encoding,
            mapping=mapping,
            delimiter=delimiter,
        )
    if checked.rows.empty:  # every row rejected: nothing for the importer, the schema all the same
        with open_driver(settings) as driver, driver.session(database=settings.database) as session:
            apply_schema(session)
    else:
        files = _import(server, settings, checked, phases, progress)
        progress.say("Creating constraints and indexes")
        with phases("schema"), open_driver(settings) as driver, driver.session(database=settings.database) as session:
            apply_schema(session)
            session.run(cypher.load("db/await_indexes")).consume()
        summary.loaded = len(checked.rows)
        summary.created = int(checked.rows["transactionKey"].nunique())
        summary.nodes_created = files.node_count
        summary.relationships_created = files.relationship_count
        summary.properties_set = files.property_count
    summary.seconds = phases.total
    summary.phase_seconds = phases.seconds()
    return summary


def _import(
    server: LocalServer, settings: Settings, checked: Validated, phases: Phases, progress: Progress
) -> ImportFiles:
    """Importer files written, server stopped, store imported, server started again (also on failure)."""
    with tempfile.TemporaryDirectory(prefix="bulk-", dir=server.home) as tmp:
        progress.say("Writing the importer's files")
        with phases("convert"):
            files = write_import_files(checked, Path(tmp))
        progress.say("Stopping Neo4j")
        with phases("stop"):
            stop(server)
        progress.say(f"Importing {files.node_count:,} nodes and {files.relationship_count:,} relationships")
        with phases("import"):
            done = run_import(server, files, settings.database)
        progress.say("Starting Neo4j")
        with phases("start"):
            start(server)
        if done.returncode != 0:
            raise ServerError(f"The bulk importer failed, nothing loaded: {_reason(done, files)}")
    return files


def run_import(server: LocalServer, files: ImportFiles, database: str) -> subprocess.CompletedProcess:
    """Run ``neo4j-admin database import full`` on ``files`` (the server must be stopped)."""
    return server.admin(*files.arguments(database), capture_output=True, text=True)


def _require_empty(settings: Settings) -> None:
    if not settings.local:
        raise TargetRefused(
            f"--bulk loads only into the managed local server, not {settings.uri}: "
            "ingest without --bulk, or unset NEO4J_URI."
        )
    with open_driver(settings) as driver:
        nodes = driver.execute_query(cypher.load("db/graph_counts"), database_=settings.database).records[0]["nodes"]
    if nodes:
        raise TargetRefused(
            f"Database {settings.database} holds {nodes:,} nodes; --bulk replaces the whole store, so it loads "
            "only into an empty database: run `wbgraph db reset` first, or ingest without --bulk."
        )


def _reason(done, files: ImportFiles) -> str:
    report = files.folder / "import.report"
    text = (report.read_text(errors="replace") if report.exists() else "") or done.stderr or done.stdout or ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else f"exit status {done.returncode}"
