"""``wbgraph ingest --bulk``: a validated CSV into a fresh database by Neo4j's bulk importer.

The rows go through the very validation, rejects file and summary of the online path
(:func:`.ingest.check`); then the graph the online path would build from them is written as
the importer's CSV files (one per label and relationship type, typed headers), the local
server is stopped, ``neo4j-admin database import full`` builds the store, the server is
started again and the online path's constraints and indexes are created. The graph is the
online path's graph: same labels, relationship types, properties and values (a test compares
them), with ``USES`` aggregated here as ``refresh_usage.cypher`` aggregates it there.

Only for an empty database on the managed local server: the importer replaces the store.
Emptiness is checked first and again just before the server stops; the database's writer
lock is held throughout (put back on the new store as soon as the server runs again).
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from ..config import Settings
from ..db import apply_schema, open_driver, read, release_lock, take_lock, write
from ..errors import ConnectionFailed, ServerError, TargetRefused, WbgraphError
from ..graphmodel import CONTEXTS, KEYS, OF_PRODUCT, PERFORMED, USES, contexts_of
from ..localserver import LocalServer, start, stop
from ..progress import SILENT, Phases, Progress
from .ingest import IngestSummary, check, file_fingerprint
from .mapping import Mapping
from .read import CHUNK_ROWS, DEFAULT_ENCODING
from .usage import finish_usage, merge_usage, usage_parts
from .validate import Scan

IMPORTER_TYPE = {"int": "long", "float": "double", "date": "datetime", "category": "string", "id": "string"}

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
    "totalAmountReporting:double",
    "totalValueReporting:double",
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


def write_import_files(scan: Scan, folder: Path) -> ImportFiles:
    """Write the online path's graph of a checked file as the importer's CSV files in ``folder``.

    The file is read again a chunk at a time and each chunk appended to the files: a
    customer's or product's node (and its context links) where its latest row is, the
    transactions at the first of their identical rows. Kept until the end, all small: the
    context names, each product's regulations, and ``USES`` as per-pair sums.
    """
    files = ImportFiles(Path(folder))
    files.folder.mkdir(parents=True, exist_ok=True)
    names: dict[str, set] = {context.label: set() for context in CONTEXTS}
    regulations: set[tuple[str, str]] = set()
    usage: list[pd.DataFrame] = []
    pending = merged = 0  # rows of USES parts held; rows after the last merge (the pairs so far)
    with _Appender(files, scan.kinds) as out:
        for rows in scan.rows(at_least=BULK_ROWS):
            for owner in ("Customer", "Product"):
                key = KEYS[owner]
                latest = rows[scan.latest(rows, owner)]
                nodes = latest[[key, *scan.attributes(owner)]].copy()
                nodes["attributesAsOf"] = latest["date"]
                out.nodes(owner, nodes, f"{key}:ID({owner})", {"attributesAsOf": "datetime"})
                for context in contexts_of(owner):
                    if context.many:  # every regulation a product was traded under, or its latest row's
                        part = (latest if scan.mapping.regulations == "latest" else rows)[[key, "regulation"]].dropna()
                        regulations.update(zip(part[key], part["regulation"]))
                        continue
                    links = latest[[key, context.prop]].dropna()
                    names[context.label].update(links[context.prop])
                    out.relationships(context.relationship, links, context.owner, context.label)
            transactions = rows[rows["first"].to_numpy()]
            out.nodes(
                "Transaction",
                transactions[["transactionKey", *scan.transaction_props, "date"]],
                "transactionKey:ID(Transaction)",
            )
            for (start, kind, end), columns in (
                (PERFORMED, ["customerId", "transactionKey"]),
                (OF_PRODUCT, ["transactionKey", "productId"]),
            ):
                out.relationships(kind, transactions[columns], start, end)
            usage.append(usage_parts(_coded(scan, transactions), ["pair"]))
            pending += len(usage[-1])
            if pending > max(USAGE_PARTS_LIMIT, 2 * merged):  # at most twice the pairs, however long the file
                usage = [merge_usage(usage, ["pair"])]
                pending = merged = len(usage[0])
        for context in CONTEXTS:
            if context.many:
                links = pd.DataFrame(sorted(regulations), columns=[KEYS[context.owner], "name"])
                names[context.label] = set(links["name"])
                out.relationships(context.relationship, links, context.owner, context.label)
            out.nodes(context.label, pd.DataFrame({"name": sorted(names[context.label])}), f"name:ID({context.label})")
        if usage:
            uses = finish_usage(merge_usage(usage, ["pair"]), ["pair"])
            del usage
            customers = np.asarray(scan.entities["Customer"].ids, dtype=object)
            products = np.asarray(scan.entities["Product"].ids, dtype=object)
            for start in range(0, len(uses), USES_SLICE):
                part = uses.iloc[start : start + USES_SLICE]
                pair = part.pop("pair").to_numpy()
                part.insert(0, "productId", products[pair & 0xFFFFFFFF])
                part.insert(0, "customerId", customers[pair >> 32])
                out.relationships(USES[1], part, USES[0], USES[2], USES_COLUMNS)
    return files


BULK_ROWS = 100_000  # rows per frame written to the importer's files
# rows of per-chunk USES parts before they are merged, or twice the last merge's: with a fixed limit,
# once the pairs outnumber it every chunk re-aggregates them all (1.45M pairs at 10M rows)
USAGE_PARTS_LIMIT = 500_000
USES_SLICE = 200_000


def _coded(scan: Scan, transactions: pd.DataFrame) -> pd.DataFrame:
    """The transactions with their customer-product pair as one integer (8 bytes, not two ids)."""
    customer = scan.entities["Customer"]
    product = scan.entities["Product"]
    pair = (customer.lookup(transactions["customerId"]) << 32) | product.lookup(transactions["productId"])
    return transactions.drop(columns=["customerId", "productId"]).assign(pair=pair)


class _Appender:
    """The importer's CSV files, each opened at its first chunk and appended to: one per label or type."""

    def __init__(self, files: ImportFiles, kinds: dict[str, str]):
        self.files = files
        self.kinds = kinds
        self.writers: dict[Path, pa_csv.CSVWriter] = {}

    def __enter__(self) -> _Appender:
        return self

    def __exit__(self, *exc) -> None:
        for writer in self.writers.values():
            writer.close()

    def nodes(self, label: str, frame: pd.DataFrame, id_header: str, types: dict | None = None) -> None:
        headers = [id_header] + [
            f"{c}:{(types or {}).get(c) or IMPORTER_TYPE[self.kinds[c]]}" for c in frame.columns[1:]
        ]
        path = self.files.folder / f"nodes-{label}.csv"
        if self._write(frame, headers, path):
            self.files.nodes.append((label, path))
        self.files.node_count += len(frame)

    def relationships(self, kind: str, frame: pd.DataFrame, start: str, end: str, props: tuple[str, ...] = ()) -> None:
        headers = [f":START_ID({start})", f":END_ID({end})", *props]
        path = self.files.folder / f"relationships-{kind}.csv"
        if self._write(frame, headers, path):
            self.files.relationships.append((kind, path))
        self.files.relationship_count += len(frame)

    def _write(self, frame: pd.DataFrame, headers: list[str], path: Path) -> bool:
        """Append rows (dates in the online path's format, whole numbers without a decimal point);
        return whether the file is new."""
        columns = {}
        for column, header in zip(frame.columns, headers):
            values = frame[column]
            if header.endswith(":datetime"):
                text = np.datetime_as_string(
                    values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[us]"), unit="us"
                )
                columns[header] = pa.array(np.char.add(text, "Z"), mask=values.isna().to_numpy(), type=pa.string())
            elif header.endswith(":long"):
                columns[header] = pa.array(values.astype("Int64"), type=pa.int64())
            elif header.endswith(":double"):
                columns[header] = pa.array(values.astype("float64"), type=pa.float64())
            else:
                strings = pa.array(values.astype(object).where(values.notna(), None), type=pa.string())
                self.files.multiline = self.files.multiline or bool(
                    pc.any(pc.match_substring_regex(strings, "[\r\n]")).as_py()
                )
                columns[header] = strings
        table = pa.table(columns)
        self.files.property_count += sum(len(table) - table[h].null_count for h in headers if not h.startswith(":"))
        new = path not in self.writers
        if new:
            self.writers[path] = pa_csv.CSVWriter(path, table.schema)
        self.writers[path].write_table(table)
        return new


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
    chunk_rows: int = CHUNK_ROWS,
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
    _require_empty(settings)  # fail fast; checked again just before the server stops
    checking = dict(rejects=rejects, max_rejects=max_rejects, strict=strict, encoding=encoding, mapping=mapping)
    checking.update(delimiter=delimiter, chunk_rows=chunk_rows)
    with _BulkLock(settings, progress) as lock:
        return _bulk(server, settings, path, lock, phases, progress, checking)


class _BulkLock:
    """The writer lock across the store's replacement: taken on the running server, put back
    (same holder) as soon as the server runs again on the new store, given back at the end."""

    def __init__(self, settings: Settings, progress: Progress):
        self.settings, self.progress = settings, progress
        self.holder = {
            "command": "ingest --bulk",
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "token": uuid.uuid4().hex,
        }

    def __enter__(self) -> _BulkLock:
        self.retake()
        return self

    def retake(self) -> None:
        with open_driver(self.settings) as driver:
            take_lock(driver, self.settings, self.holder, self.progress)

    def __exit__(self, *exc) -> None:
        try:
            with open_driver(self.settings) as driver:
                release_lock(driver, self.settings, self.holder["token"])
        except WbgraphError:
            if exc[0] is None:
                raise


def _bulk(
    server: LocalServer,
    settings: Settings,
    path: str | Path,
    lock: _BulkLock,
    phases: Phases,
    progress: Progress,
    checking: dict,
) -> IngestSummary:
    """:func:`bulk_ingest` under its lock: validate (``checking``: :func:`check`'s options), import, schema."""
    progress.say("Validating")
    with phases("validate"):
        checked, summary = check(path, **checking)
    if not checked.valid:  # every row rejected: nothing for the importer, the schema all the same
        with open_driver(settings) as driver:
            apply_schema(driver, settings)
    else:
        files = _import(server, settings, checked, phases, progress, lock)
        progress.say("Creating constraints and indexes")
        with phases("schema"), open_driver(settings) as driver:
            apply_schema(driver, settings)
            write(driver, settings, "db/await_indexes")  # on the writer, where they were just created
            fingerprint = file_fingerprint(path)  # the store holds the whole file: its ingest is finished
            write(
                driver,
                settings,
                "loaders/ingest_started",
                fingerprint=fingerprint,
                file=str(Path(path).resolve()),
                rows=summary.read,
                rejectsFile=str(Path(summary.rejects_file).resolve()) if summary.rejects_file else None,
                modelFeatures=checked.mapping.model_features or None,
            )
            write(driver, settings, "loaders/ingest_finished", fingerprint=fingerprint)
        summary.loaded = checked.valid
        summary.created = checked.unique
        summary.nodes_created = files.node_count
        summary.relationships_created = files.relationship_count
        summary.properties_set = files.property_count
    summary.seconds = phases.total
    summary.phase_seconds = phases.seconds()
    return summary


def _import(
    server: LocalServer, settings: Settings, checked: Scan, phases: Phases, progress: Progress, lock: _BulkLock
) -> ImportFiles:
    """Importer files written, emptiness checked again, server stopped, store imported, server
    started again (also on failure) and the lock put back on the new store."""
    with tempfile.TemporaryDirectory(prefix="bulk-", dir=server.home) as tmp:
        progress.say("Writing the importer's files")
        with phases("convert"):
            files = write_import_files(checked, Path(tmp))
            checked.close()
        _require_empty(settings)  # the last moment anything could have been written: the store goes next
        progress.say("Stopping Neo4j")
        with phases("stop"):
            stop(server)
        progress.say(f"Importing {files.node_count:,} nodes and {files.relationship_count:,} relationships")
        with phases("import"):
            done = run_import(server, files, settings.database)
        progress.say("Starting Neo4j")
        with phases("start"):
            start(server)
        with phases("schema"):  # taking the lock creates the constraints: their indexes are built from the data
            lock.retake()  # the new store has no lock node: ours again before anyone else writes
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
        nodes = read(driver, settings, "db/graph_counts")[0]["nodes"]
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
