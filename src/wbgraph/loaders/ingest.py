"""``wbgraph ingest``: a validated CSV into the graph, in batches, safe to run again.

Order of work: validate the whole file, a chunk at a time (nothing is written when the
file itself is unusable or rejects exceed ``max_rejects``), writing the rejects file as it
goes; create the schema; then read the file again, chunk by chunk, and in managed write
transactions upsert the chunk's customers and products (each one's attributes are written
from its latest row in the file, wherever that row is) and create the transactions the
graph does not hold yet (a batch re-checks which rows exist inside its own transaction, so
a retried or repeated batch never doubles anything); last, recompute the aggregated
``USES`` relationship of every customer-product pair in the file from its transactions, so
it is right however many files, re-runs or interrupted runs came before. Memory is bounded
by the chunk and the number of customers and products, not by the file (:mod:`.validate`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import resource
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import neo4j
import pandas as pd

from ..config import Settings
from ..db import apply_schema, describe_interrupted, interrupted_ingests, read, write, writer_lock
from ..errors import ConfigError, InputFileError, require_folder_of
from ..progress import SILENT, Phases, Progress, Summary, pause_point
from .hierarchy import HierarchySummary, check_hierarchy, load_hierarchy
from .mapping import HierarchySource, Mapping, default_mapping, load_mapping
from .read import CHUNK_ROWS, DEFAULT_ENCODING
from .rejects import RejectsFile, default_rejects_path, refuse_too_many_rejects
from .usage import product_regulations
from .validate import Scan

DATE_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass
class IngestSummary(Summary):
    """What an ingest did. ``read == loaded + rejected`` always holds."""

    file: str
    read: int = 0
    loaded: int = 0
    rejected: int = 0
    created: int = 0
    duplicates: int = 0
    already_in_graph: int = 0
    conflicts: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)  # one line each, as every command's: "3 x Industry outside ..."
    warning_counts: dict = field(default_factory=dict)  # the same, as {what: rows}
    rejects_file: str | None = None
    nodes_created: int = 0
    relationships_created: int = 0
    properties_set: int = 0
    seconds: float = 0.0
    phase_seconds: dict = field(default_factory=dict)
    files: list = field(default_factory=list)  # with several input files: each one's own summary
    interrupted: list = field(default_factory=list)  # other files' ingests still unfinished: [{file, ...}]
    hierarchy: HierarchySummary | None = None  # what --hierarchy's file gave (its own read/loaded/rejected)
    derived = ("rows_per_second", "peak_rss_mb")

    @property
    def rows_per_second(self) -> float:
        return self.read / self.seconds if self.seconds else 0.0

    @property
    def peak_rss_mb(self) -> float:
        """This process's peak resident memory so far (the neo4j-admin importer is a process of its own)."""
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def hierarchy_source(mapping: str | Path | Mapping | None) -> HierarchySource | None:
    """A mapping's ``[hierarchy]`` (None without a mapping, or without the table)."""
    if mapping is None:
        return None
    return (mapping if isinstance(mapping, Mapping) else load_mapping(mapping)).hierarchy


def ingest(
    driver: neo4j.Driver,
    settings: Settings,
    path: str | Path | Sequence[str | Path] | None,
    *,
    hierarchy: str | Path | None = None,
    batch_size: int = 10_000,
    rejects: str | Path | None = None,
    max_rejects: int | None = None,
    strict: bool = False,
    encoding: str = DEFAULT_ENCODING,
    mapping: str | Path | Mapping | None = None,
    delimiter: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress = SILENT,
) -> IngestSummary:
    """Load a file, several files or a folder's files into the graph; return one summary.

    Every file is validated (and its rejects written beside it) before anything is written,
    so ``max_rejects`` counts the rejects of all files and a refusal loads nothing; then the
    files are written in turn. The progress task counts the distinct rows written so far.

    The whole ingest holds the database's writer lock (:func:`wbgraph.db.writer_lock`). Each
    file's writing is bracketed by a marker in the graph (``(:WbgraphIngest {fingerprint,
    file, startedAt, finishedAt})``, the fingerprint a hash of the file's bytes): an ingest
    killed before its usage aggregates were refreshed stays "started", so ``db status``,
    ``train`` and the next ingest report it (``interrupted`` in the summary), and rerunning
    the same file finishes it.

    ``hierarchy``: a file of who owns whom (:mod:`wbgraph.loaders.hierarchy`), checked with the
    files (its rejects count against ``max_rejects``) and loaded after them; ``path`` may then
    be empty. A mapping's ``[hierarchy]`` names one (and its headers) the same way; ``hierarchy``
    given too is read with the mapping's headers in place of its file.
    """
    source = hierarchy_source(mapping)
    hierarchy = hierarchy if hierarchy is not None or source is None else source.file
    paths = input_files(path) if path or hierarchy is None else []
    if rejects is not None and len(paths) > 1:
        raise ConfigError("--rejects names one file: with several inputs each file's rejects go beside it.")
    if rejects is not None:
        require_folder_of(rejects, "the rejects")
    phases = Phases()
    with writer_lock(driver, settings, "ingest", progress):
        with phases("validate"):
            checks = [
                check(
                    p,
                    rejects=rejects,
                    strict=strict,
                    encoding=encoding,
                    mapping=mapping,
                    delimiter=delimiter,
                    chunk_rows=chunk_rows,
                )
                for p in paths
            ]
            stakes = check_hierarchy(hierarchy, encoding=encoding, source=source) if hierarchy else None
        refuse_too_many_rejects([summary for _, summary in checks] + ([stakes.summary] if stakes else []), max_rejects)
        for p, (checked, summary) in zip(paths, checks):
            _ingest_file(driver, settings, p, checked, summary, batch_size, phases, progress)
        if stakes:
            with phases("hierarchy"):
                load_hierarchy(driver, settings, stakes, file_fingerprint(stakes.path))
        unfinished = interrupted_ingests(driver, settings)
    summaries = [summary for _, summary in checks]
    summary = combine(summaries) if len(checks) != 1 else summaries[0]
    summary.hierarchy = stakes.summary if stakes else None
    summary.interrupted = unfinished
    if unfinished:
        progress.say(f"Warning: {describe_interrupted(unfinished)}")
    summary.seconds = phases.total
    summary.phase_seconds = phases.seconds()
    return summary


def _ingest_file(
    driver: neo4j.Driver,
    settings: Settings,
    path: Path,
    checked: Scan,
    summary: IngestSummary,
    batch_size: int,
    phases: Phases,
    progress: Progress,
) -> None:
    """Write one checked file, bracketed by its ingest marker."""
    fingerprint = file_fingerprint(path)
    write(
        driver,
        settings,
        "loaders/ingest_started",
        fingerprint=fingerprint,
        file=str(path.resolve()),
        rows=summary.read,
        rejectsFile=str(Path(summary.rejects_file).resolve()) if summary.rejects_file else None,
        modelFeatures=checked.mapping.model_features or None,
    )
    _write(driver, settings, checked, summary, batch_size, phases, progress)
    write(driver, settings, "loaders/ingest_finished", fingerprint=fingerprint)
    checked.close()


def file_fingerprint(path: str | Path) -> str:
    """A hash of the file's bytes (BLAKE2b, 16 bytes, hex): the same content, the same fingerprint."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


INPUT_SUFFIXES = (".csv", ".csv.gz", ".parquet")


def input_files(path: str | Path | Sequence[str | Path]) -> list[Path]:
    """The files to load: the given ones, a folder's CSV / .csv.gz / Parquet files in name order."""
    given = [path] if isinstance(path, (str, Path)) else list(path)
    files: list[Path] = []
    for item in map(Path, given):
        if item.is_dir():
            found = sorted(p for p in item.iterdir() if p.name.endswith(INPUT_SUFFIXES) and ".rejects." not in p.name)
            if not found:
                raise InputFileError(f"{item}: a folder without .csv, .csv.gz or .parquet files.")
            files += found
        else:
            files.append(item)
    if not files:
        raise InputFileError("No input file given.")
    return files


def _write(
    driver: neo4j.Driver,
    settings: Settings,
    scan: Scan,
    summary: IngestSummary,
    batch_size: int,
    phases: Phases,
    progress: Progress,
) -> None:
    """Write one checked file, reading it again a chunk at a time: its customers and products,
    its transactions, then the usage of its customer-product pairs."""
    counters: Counter = Counter()
    with phases("customersAndProducts"):
        apply_schema(driver, settings)
        for owner, entities in scan.entities.items():  # every one exists before any of its transactions
            key = entities.key
            for start in range(0, len(entities), batch_size):
                ids = entities.ids[start : start + batch_size]
                batch = [
                    {key: k, "asOf": None, "props": None, "regulations": [], "replaceRegulations": False} for k in ids
                ]
                counters += _write_entities(driver, settings, owner, batch)
                pause_point("customersAndProducts+1")
    chunks = scan.rows()
    done = 0
    with progress.task("Ingesting", "rows") as update:
        while True:
            with phases("validate"):
                rows = next(chunks, None)
            if rows is None:
                break
            with phases("customersAndProducts"):
                for owner in ("Customer", "Product"):
                    entities = _entities(scan, rows, owner)
                    for start in range(0, len(entities), batch_size):
                        counters += _write_entities(driver, settings, owner, entities[start : start + batch_size])
            with phases("transactions"):
                new = rows[rows["first"].to_numpy()]
                for start in range(0, len(new), batch_size):
                    batch = new.iloc[start : start + batch_size]
                    created, batch_counters = _write_transactions(driver, settings, scan, batch)
                    summary.created += created
                    counters += batch_counters
                    pause_point("transactions+1")
                done += len(new)
                update(done, scan.unique)
    with phases("usage"):
        pairs = scan.pair_ids()
        for start in range(0, len(pairs), batch_size):
            batch = pairs.iloc[start : start + batch_size].groupby("customerId", sort=False)["productId"]
            customers = [{"customerId": c, "productIds": products.tolist()} for c, products in batch]
            counters += _counters(write(driver, settings, "loaders/refresh_usage", customers=customers).summary)
            pause_point("usage+1")
    summary.loaded = scan.valid
    summary.already_in_graph = scan.unique - summary.created
    summary.nodes_created = counters["nodes_created"]
    summary.relationships_created = counters["relationships_created"]
    summary.properties_set = counters["properties_set"]


def warning_lines(counts: dict) -> list[str]:
    """The soft warnings of validation, one line each: ``1,024 x Industry outside the documented vocabulary``."""
    return [f"{count:,} x {warning}" for warning, count in counts.items()]


def combine(summaries: list[IngestSummary]) -> IngestSummary:
    """One summary of several files: counts added, warnings merged, each file's own kept in ``files``."""
    total = IngestSummary(file=", ".join(s.file for s in summaries))
    for name in (
        "read",
        "loaded",
        "rejected",
        "created",
        "duplicates",
        "already_in_graph",
        "nodes_created",
        "relationships_created",
        "properties_set",
    ):
        setattr(total, name, sum(getattr(s, name) for s in summaries))
    for s in summaries:
        total.conflicts = dict(Counter(total.conflicts) + Counter(s.conflicts))
        total.warning_counts = dict(Counter(total.warning_counts) + Counter(s.warning_counts))
    total.warnings = warning_lines(total.warning_counts)
    total.rejects_file = ", ".join(s.rejects_file for s in summaries if s.rejects_file) or None
    total.files = [s.to_json() for s in summaries]
    return total


def check(
    path: str | Path,
    *,
    rejects: str | Path | None = None,
    max_rejects: int | None = None,
    strict: bool = False,
    encoding: str = DEFAULT_ENCODING,
    mapping: str | Path | Mapping | None = None,
    delimiter: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> tuple[Scan, IngestSummary]:
    """Validate a file and write its rejects: the part of an ingest shared by the online and bulk paths.

    Raises :class:`TooManyRejects` (nothing to load) when rejects exceed ``max_rejects``.
    """
    path = Path(path)
    if mapping is not None and not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping)
    if delimiter is not None:  # --delimiter overrides the mapping's
        mapping = dataclasses.replace(mapping or default_mapping(), delimiter=delimiter)
    rejects_path = Path(rejects) if rejects else default_rejects_path(path)
    with RejectsFile(rejects_path) as rejects_file:
        scan = Scan.of(path, encoding, strict, mapping, chunk_rows, rejects_file.write)
    summary = IngestSummary(
        file=str(path),
        read=scan.read,
        rejected=scan.rejected,
        conflicts=scan.conflicts,
        warnings=warning_lines(scan.warnings),
        warning_counts=dict(scan.warnings),
        duplicates=scan.duplicates,
    )
    if rejects_file.rows:
        summary.rejects_file = str(rejects_path)
    refuse_too_many_rejects([summary], max_rejects, where=str(rejects_path))
    return scan, summary


def _entities(scan: Scan, rows: pd.DataFrame, owner: str) -> list[dict]:
    """The attributes of the customers or products whose latest row is in this chunk, and the
    regulations of the chunk's products: every one a product was traded under accumulates, or,
    with the mapping's ``regulations = "latest"``, its latest row's replaces them."""
    key = "customerId" if owner == "Customer" else "productId"
    latest = rows[scan.latest(rows, owner)]
    props = _plain(latest[scan.attributes(owner)], scan.kinds)
    records = [
        {key: k, "asOf": d, "props": p}
        for k, d, p in zip(latest[key], latest["date"].dt.strftime(DATE_FORMAT), props.to_dict("records"))
    ]
    if owner == "Product":
        replace = scan.mapping.regulations == "latest"
        regulations = product_regulations(latest if replace else rows)
        for record in records:
            record["regulations"] = regulations.get(record[key], [])
            record["replaceRegulations"] = replace
        if not replace:
            others = regulations[~regulations.index.isin(latest[key])]
            records += [
                {key: k, "asOf": None, "props": None, "regulations": r, "replaceRegulations": False}
                for k, r in others.items()
            ]
    return records


def _plain(frame: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """Values the driver can send: None for missing, int for whole-number columns, text for dates."""
    out = frame.astype(object).where(frame.notna(), None)
    for column in out.columns:
        if kinds.get(column) == "int":
            out[column] = [None if v is None else int(v) for v in out[column]]
        elif kinds.get(column) == "date":  # an extra date property: sent as text, stored as a datetime
            out[column] = [
                None if v is None else neo4j.time.DateTime.from_native(v.to_pydatetime()) for v in out[column]
            ]
    return out


def _write_entities(driver: neo4j.Driver, settings: Settings, owner: str, batch: list[dict]) -> Counter:
    if owner == "Customer":
        return _counters(write(driver, settings, "loaders/upsert_customers", customers=batch).summary)
    return _counters(write(driver, settings, "loaders/upsert_products", products=batch).summary)


def _write_transactions(
    driver: neo4j.Driver, settings: Settings, scan: Scan, batch: pd.DataFrame
) -> tuple[int, Counter]:
    """Create the rows of ``batch`` the graph lacks; return how many, and the write counters."""
    existing = read(driver, settings, "loaders/existing_transactions", keys=batch["transactionKey"].tolist())
    new = batch[~batch["transactionKey"].isin(existing[0]["existing"])]
    if new.empty:
        return 0, Counter()
    dates = new["date"].dt.strftime(DATE_FORMAT)
    rows = [
        {"transactionKey": k, "customerId": c, "productId": p, "date": d, "props": props}
        for k, c, p, d, props in zip(
            new["transactionKey"],
            new["customerId"],
            new["productId"],
            dates,
            _plain(new[scan.transaction_props], scan.kinds).to_dict("records"),
        )
    ]
    return len(new), _counters(write(driver, settings, "loaders/create_transactions", rows=rows).summary)


def _counters(summary: neo4j.ResultSummary) -> Counter:
    c = summary.counters
    return Counter(
        nodes_created=c.nodes_created, relationships_created=c.relationships_created, properties_set=c.properties_set
    )
