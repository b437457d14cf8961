"""``wbgraph ingest``: a validated CSV into the graph, in batches, safe to run again.

Order of work: validate the whole file (nothing is written when the file itself is
unusable or rejects exceed ``max_rejects``); write the rejects file; create the schema;
upsert customers and products (latest attributes win); then, batch by batch in managed
write transactions, create the transactions the graph does not hold yet (a batch
re-checks which rows exist inside its own transaction, so a retried or repeated batch
never doubles anything); last, recompute the aggregated ``USES`` relationship of every
customer-product pair in the file from its transactions, so it is right however many
files, re-runs or interrupted runs came before.
"""

from __future__ import annotations

import dataclasses
import resource
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import neo4j
import pandas as pd

from .. import cypher
from ..config import Settings
from ..db import apply_schema
from ..errors import ConfigError, InputFileError, TooManyRejects
from ..progress import SILENT, Phases, Progress, Summary
from .columns import owned_by
from .mapping import Mapping, default_mapping, load_mapping
from .read import DEFAULT_ENCODING
from .validate import Validated, validate

DATE_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
TRANSACTION_PROPS = [c.prop for c in owned_by("Transaction") if c.prop not in ("date", "transactionId")] + [
    "transactionId"
]
WHOLE_NUMBERS = {"companySize", "frequency"}


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
    warnings: dict = field(default_factory=dict)
    rejects_file: str | None = None
    nodes_created: int = 0
    relationships_created: int = 0
    properties_set: int = 0
    seconds: float = 0.0
    phase_seconds: dict = field(default_factory=dict)
    files: list = field(default_factory=list)  # with several input files: each one's own summary
    derived = ("rows_per_second", "peak_rss_mb")

    @property
    def rows_per_second(self) -> float:
        return self.read / self.seconds if self.seconds else 0.0

    @property
    def peak_rss_mb(self) -> float:
        """This process's peak resident memory so far (the neo4j-admin importer is a process of its own)."""
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def default_rejects_path(path: Path) -> Path:
    """``data.csv`` -> ``data.rejects.csv`` beside it."""
    return path.with_name(path.stem + ".rejects.csv")


def ingest(
    driver: neo4j.Driver,
    settings: Settings,
    path: str | Path | Sequence[str | Path],
    *,
    batch_size: int = 10_000,
    rejects: str | Path | None = None,
    max_rejects: int | None = None,
    strict: bool = False,
    encoding: str = DEFAULT_ENCODING,
    mapping: str | Path | Mapping | None = None,
    delimiter: str | None = None,
    progress: Progress = SILENT,
) -> IngestSummary:
    """Load a file, several files or a folder's files into the graph; return one summary.

    Every file is validated (and its rejects written beside it) before anything is written,
    so ``max_rejects`` counts the rejects of all files and a refusal loads nothing; then the
    files are written in turn. The progress task counts the distinct rows written so far.
    """
    paths = input_files(path)
    if rejects is not None and len(paths) > 1:
        raise ConfigError("--rejects names one file: with several inputs each file's rejects go beside it.")
    phases = Phases()
    with phases("validate"):
        checks = [
            check(p, rejects=rejects, strict=strict, encoding=encoding, mapping=mapping, delimiter=delimiter)
            for p in paths
        ]
    refuse_too_many_rejects([summary for _, summary in checks], max_rejects)
    with driver.session(database=settings.database) as session:
        for checked, summary in checks:
            _write(session, checked, summary, batch_size, phases, progress)
    summary = combine([summary for _, summary in checks]) if len(checks) > 1 else checks[0][1]
    summary.seconds = phases.total
    summary.phase_seconds = phases.seconds()
    return summary


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
    session: neo4j.Session,
    checked: Validated,
    summary: IngestSummary,
    batch_size: int,
    phases: Phases,
    progress: Progress,
) -> None:
    """Write one validated file: customers and products, then transactions, then their usage."""
    rows = checked.rows.drop_duplicates("transactionKey")
    counters: Counter = Counter()
    with phases("customersAndProducts"):
        apply_schema(session)
        for owner in ("Customer", "Product"):  # in batches: a million customers are not one transaction
            entities = _entities(checked, owner)
            for start in range(0, len(entities), batch_size):
                counters += session.execute_write(_write_entities, owner, entities[start : start + batch_size])
    with phases("transactions"), progress.task("Ingesting", "rows") as update:
        for start in range(0, len(rows), batch_size):
            batch = rows.iloc[start : start + batch_size]
            created, batch_counters = session.execute_write(_write_transactions, batch)
            summary.created += created
            counters += batch_counters
            update(start + len(batch), len(rows))
    with phases("usage"):
        pairs = rows[["customerId", "productId"]].drop_duplicates().to_dict("records")
        for start in range(0, len(pairs), batch_size):
            counters += session.execute_write(_refresh_usage, pairs[start : start + batch_size])
    summary.loaded = len(checked.rows)
    summary.already_in_graph = len(rows) - summary.created
    summary.nodes_created = counters["nodes_created"]
    summary.relationships_created = counters["relationships_created"]
    summary.properties_set = counters["properties_set"]


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
        total.warnings = dict(Counter(total.warnings) + Counter(s.warnings))
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
) -> tuple[Validated, IngestSummary]:
    """Validate a file and write its rejects: the part of an ingest shared by the online and bulk paths.

    Raises :class:`TooManyRejects` (nothing to load) when rejects exceed ``max_rejects``.
    """
    path = Path(path)
    if mapping is not None and not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping)
    if delimiter is not None:  # --delimiter overrides the mapping's
        mapping = dataclasses.replace(mapping or default_mapping(), delimiter=delimiter)
    checked = validate(path, encoding=encoding, strict=strict, mapping=mapping)
    summary = IngestSummary(
        file=str(path),
        read=checked.read,
        rejected=len(checked.rejects),
        conflicts=checked.conflicts,
        warnings=dict(checked.warnings),
        duplicates=checked.duplicates,
    )
    rejects_path = Path(rejects) if rejects else default_rejects_path(path)
    if len(checked.rejects):
        checked.rejects.to_csv(rejects_path, index=False)
        summary.rejects_file = str(rejects_path)
    refuse_too_many_rejects([summary], max_rejects, where=str(rejects_path))
    return checked, summary


def refuse_too_many_rejects(summaries: list[IngestSummary], max_rejects: int | None, where: str | None = None) -> None:
    """Raise :class:`TooManyRejects` when the files' rejects together exceed ``max_rejects`` (None: no limit)."""
    rejected = sum(s.rejected for s in summaries)
    if max_rejects is None or rejected <= max_rejects:
        return
    where = where or ", ".join(s.rejects_file for s in summaries if s.rejects_file)
    raise TooManyRejects(
        f"{rejected} of {sum(s.read for s in summaries)} rows rejected, more than --max-rejects {max_rejects}; "
        f"nothing loaded (reasons in {where})."
    )


def _entities(checked: Validated, owner: str) -> list[dict]:
    """One record per customer or product: the attributes of its latest valid row."""
    key = "customerId" if owner == "Customer" else "productId"
    attrs = [c.prop for c in owned_by(owner) if c.kind != "id"]
    latest = latest_rows(checked.rows, key)
    props = _plain(latest[attrs])
    records = [
        {key: k, "asOf": d, "props": p}
        for k, d, p in zip(latest[key], latest["date"].dt.strftime(DATE_FORMAT), props.to_dict("records"))
    ]
    if owner == "Product":
        regulations = product_regulations(checked.rows)
        for record in records:
            record["regulations"] = regulations.get(record[key], [])
    return records


def latest_rows(rows: pd.DataFrame, key: str) -> pd.DataFrame:
    """The latest row (by date, then line) of each ``key``: where an entity's attributes come from."""
    return rows.sort_values(["date", "line"]).groupby(key, sort=False).tail(1)


def product_regulations(rows: pd.DataFrame) -> pd.Series:
    """Each product's regulations, sorted: every one it has been traded under accumulates."""
    return rows.dropna(subset=["regulation"]).groupby("productId")["regulation"].agg(lambda s: sorted(set(s)))


def usage_table(transactions: pd.DataFrame) -> pd.DataFrame:
    """``USES`` of each customer-product pair from its (distinct) transactions, as ``refresh_usage.cypher`` does.

    Money is never added across currencies: the totals (and the pair's ``currency``) are
    kept only when all the pair's transactions share one currency, or all name none.
    """
    frame = transactions.assign(currencyKey=transactions["currency"].fillna(""))
    usage = (
        frame.groupby(["customerId", "productId"], sort=False)
        .agg(
            transactionCount=("transactionKey", "size"),
            firstDate=("date", "min"),
            lastDate=("date", "max"),
            totalAmount=("amount", "sum"),
            totalValue=("value", "sum"),
            meanUsage=("productUsage", "mean"),
            meanEngagement=("customerEngagement", "mean"),
            currency=("currencyKey", "first"),
            currencies=("currencyKey", "nunique"),
        )
        .reset_index()
    )
    one = usage.pop("currencies") == 1
    usage["totalAmount"] = usage["totalAmount"].where(one)
    usage["totalValue"] = usage["totalValue"].where(one)
    usage["currency"] = usage["currency"].where(one & (usage["currency"] != ""))
    return usage


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Values the driver can send: None for missing, int for whole-number columns."""
    out = frame.astype(object).where(frame.notna(), None)
    for column in WHOLE_NUMBERS.intersection(out.columns):
        out[column] = [None if v is None else int(v) for v in out[column]]
    return out


def _write_entities(tx: neo4j.ManagedTransaction, owner: str, batch: list[dict]) -> Counter:
    if owner == "Customer":
        return _counters(tx.run(cypher.load("loaders/upsert_customers"), customers=batch).consume())
    return _counters(tx.run(cypher.load("loaders/upsert_products"), products=batch).consume())


def _write_transactions(tx: neo4j.ManagedTransaction, batch: pd.DataFrame) -> tuple[int, Counter]:
    """Create the rows of ``batch`` the graph lacks; return how many, and the write counters."""
    existing = tx.run(cypher.load("loaders/existing_transactions"), keys=batch["transactionKey"].tolist()).single()[
        "existing"
    ]
    new = batch[~batch["transactionKey"].isin(existing)]
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
            _plain(new[TRANSACTION_PROPS]).to_dict("records"),
        )
    ]
    return len(new), _counters(tx.run(cypher.load("loaders/create_transactions"), rows=rows).consume())


def _refresh_usage(tx: neo4j.ManagedTransaction, pairs: list[dict]) -> Counter:
    return _counters(tx.run(cypher.load("loaders/refresh_usage"), pairs=pairs).consume())


def _counters(summary: neo4j.ResultSummary) -> Counter:
    c = summary.counters
    return Counter(
        nodes_created=c.nodes_created, relationships_created=c.relationships_created, properties_set=c.properties_set
    )
