"""``wbgraph forget``: erase customers from the graph and from every artefact wbgraph keeps.

A bank must be able to answer an erasure request. For each customer ID this deletes the
customer node, its transactions, the offers it received and every relationship they have;
then removes the customer from each run folder in the runs location (the encoders' ID list, the segment
projection, the per-customer test figures, the audit files of past writebacks, the top-up records) and from the rejects
files wbgraph wrote for the files ingested into this database (any rejected row with the
ID in one of its cells). What it cannot reach is said, not guessed at: the input files
themselves (wbgraph never changes them), Neo4j's transaction logs until they rotate,
database dumps, exports and reports written before, copies of run folders elsewhere.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import neo4j

from .config import Settings, runs_location
from .db import read, write, writer_lock
from .loaders.hierarchy import refresh_groups
from .loaders.rejects import default_rejects_path
from .progress import SILENT, Progress, Summary
from .runs import ENCODERS, PROJECTION, TEST_CUSTOMERS, WRITEBACK, Run
from .writeback.explain import GROUP_PREFIX


@dataclass
class ForgetSummary(Summary):
    """What ``wbgraph forget`` erased, where, and what it cannot reach."""

    asked: list
    found: list  # the customers that were in the graph
    transactions: int  # transactions deleted with them
    files: list = field(default_factory=list)  # files rewritten without them
    unreachable: list = field(default_factory=list)
    offers: int = 0  # offers they received (wbgraph outcomes ingest), deleted with them


def forget(
    driver: neo4j.Driver,
    settings: Settings,
    customer_ids: list[str],
    runs_dir: str | Path | None = None,
    progress: Progress = SILENT,
) -> ForgetSummary:
    """Erase ``customer_ids`` from the graph, the run folders and the rejects files.

    Holds the writer lock, so no ingest or writeback brings a customer back half way. A
    member of a corporate group takes its stakes with it, and the rest of its group gets its
    group facts again (``ultimateParentId``, ``groupSize``); the reasons that cite it as another
    customer's group (``its parent ACME Holdings has used ...``) are dropped from the graph and,
    where they name it, from the run folders' audit files.
    Forgetting a customer that is not there (any more) is not an error: the files are
    still searched, and the summary says which IDs the graph held.
    """
    ids = sorted(set(customer_ids))
    with writer_lock(driver, settings, "forget", progress):
        deleted = write(driver, settings, "db/forget_customers", customerIds=ids).records
        if deleted:  # a group member gone: the others' ultimateParentId and groupSize follow
            refresh_groups(driver, settings)
        _drop_reasons_citing(driver, settings, ids)
        named = set(ids) | {r["name"] for r in deleted if r["name"]}
        ingested = read(driver, settings, "db/ingested_files")
        files = _forget_in_runs(ids, runs_location(runs_dir), named)
        inputs = []
        for record in ingested:
            inputs.append(record["file"])
            rejects = record["rejectsFile"] or str(default_rejects_path(Path(record["file"])))
            if Path(rejects).is_file() and _drop_rows(Path(rejects), set(ids)):
                files.append(rejects)
    unreachable = [
        "the input files ingested (wbgraph never changes them)" + (f": {', '.join(inputs)}" if inputs else ""),
        "Neo4j's transaction logs, until they rotate (the local server keeps 256 MB of them)",
        "database dumps (wbgraph db dump), exports (wbgraph recommendations export) and reports written before",
        f"run folders outside {runs_location(runs_dir)} and copies of run folders elsewhere",
    ]
    return ForgetSummary(
        ids,
        [r["customerId"] for r in deleted],
        sum(r["transactions"] for r in deleted),
        sorted(set(files)),
        unreachable,
        sum(r["offers"] for r in deleted),
    )


REASON_LISTS = ("ranks", "kinds", "cites", "shares", "counts")  # a customer's reasons as data (db/reasons_citing)


def _drop_reasons_citing(driver: neo4j.Driver, settings: Settings, ids: list[str]) -> None:
    """Drop, from every customer's stored reasons, the group reasons that cite one of ``ids``
    (at most one group reason explains a rank: the rank's line that starts with GROUP_PREFIX)."""
    rows = []
    for r in read(driver, settings, "db/reasons_citing", customerIds=ids):
        gone = [k == "group" and c in ids for k, c in zip(r["kinds"], r["cites"])]
        ranks = {rank for rank, g in zip(r["ranks"], gone) if g}
        texts = [
            "\n".join(x for x in text.split("\n") if not x.startswith(GROUP_PREFIX)) if rank in ranks else text
            for rank, text in enumerate(r["reasons"] or [], start=1)
        ]
        kept = {name: [x for x, g in zip(r[name], gone) if not g] for name in REASON_LISTS}
        rows.append({"customerId": r["customerId"], "reasons": texts} | kept)
    if rows:
        write(driver, settings, "db/set_reasons", rows=rows)


def _forget_in_runs(ids: list[str], runs: Path, named: set[str] = frozenset()) -> list[str]:
    """Remove the customers from every run folder under ``runs``, and the group reasons that
    name one of ``named`` (their IDs and names) from the audit files; the files rewritten."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    gone, changed = set(ids), []
    for folder in sorted(p for p in runs.iterdir() if p.is_dir()) if runs.is_dir() else []:
        run = Run(folder)
        encoders = folder / ENCODERS
        if encoders.is_file():
            data = json.loads(encoders.read_text())
            kept = [c for c in data.get("customer_ids", []) if c not in gone]
            if len(kept) != len(data.get("customer_ids", [])):
                data["customer_ids"] = kept  # customers have no per-ID parameters: the model does not change
                _replace(encoders, json.dumps(data, indent=1))
                changed.append(str(encoders))
        projection = folder / PROJECTION
        if projection.is_file():
            table = pd.read_csv(projection, dtype={"customerId": str})
            if table["customerId"].isin(gone).any():
                _replace(projection, table[~table["customerId"].isin(gone)].to_csv(index=False))
                changed.append(str(projection))
        tested = folder / TEST_CUSTOMERS
        if tested.is_file() and (table := pd.read_parquet(tested))["customerId"].isin(gone).any():
            _rewrite(tested, partial(table[~table["customerId"].isin(gone)].to_parquet, index=False))
            changed.append(str(tested))
        for audit in run.audit_files():
            table = pq.read_table(audit)
            mask = table.column("customerId").to_pandas().isin(gone).to_numpy()
            reasons = table.column("reasons").to_pylist()
            kept = [[x for x in texts or [] if not _names(x, named)] for texts in reasons]
            if mask.any() or kept != [list(texts or []) for texts in reasons]:
                column = table.schema.get_field_index("reasons")
                table = table.set_column(column, table.schema.field(column), pa.array(kept, table.column(column).type))
                _rewrite(audit, partial(pq.write_table, table.filter(~mask), compression="zstd"))
                changed.append(str(audit))
        writeback = folder / WRITEBACK
        if writeback.is_file():
            kept_json = json.loads(writeback.read_text())
            touched = False
            for top_up in kept_json.get("topUps", []):
                before = top_up.get("customerIds", [])
                top_up["customerIds"] = [c for c in before if c not in gone]
                touched |= len(before) != len(top_up["customerIds"])
            if touched:
                _replace(writeback, json.dumps(kept_json, indent=2))
                changed.append(str(writeback))
    return changed


def _names(reason: str, named: set[str]) -> bool:
    """Whether ``reason`` is a group reason naming one of ``named`` as the customer's parent."""
    return reason.startswith(GROUP_PREFIX) and any(f"its parent {name} has used " in reason for name in named)


def _drop_rows(path: Path, ids: set[str]) -> bool:
    """Rewrite a rejects CSV without the rows that hold one of ``ids`` in any cell; whether any did."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    kept = rows[:1] + [row for row in rows[1:] if not ids.intersection(cell.strip() for cell in row)]
    if len(kept) == len(rows):
        return False

    def csv_to(beside: Path) -> None:
        with beside.open("w", newline="", encoding="utf-8") as f:
            csv.writer(f, lineterminator="\n").writerows(kept)

    _rewrite(path, csv_to)
    return True


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all."""
    _rewrite(path, lambda beside: beside.write_text(text))


def _rewrite(path: Path, save: Callable[[Path], object]) -> None:
    """``save`` the new ``path`` beside it, then put it in its place: whole or not at all."""
    beside = path.with_name(path.name + ".partial")
    save(beside)
    beside.replace(path)
