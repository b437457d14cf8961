"""``wbgraph ingest --hierarchy FILE``: who owns whom, so that the graph knows corporate groups.

A hierarchy file has one row per stake: the entity owned (``Customer ID``), its owner
(``Parent ID``), the ``Share`` owned (a fraction in (0, 1]), and optionally ``Since`` (an ISO
date) and ``Parent Name`` (the owner's name, stored as its ``Customer.name``). In the graph:

- ``(:Customer)-[:OWNED_BY {share, since}]->(:Customer)`` for every stake;
- ``(:Customer)-[:SUBSIDIARY_OF]->(:Customer)`` to its consolidation parent, one per entity:
  the majority owner (share above 0.5), else the largest (on a tie, the smallest ID);
- ``ultimateParentId`` (the top of its consolidation chain) and ``groupSize`` (the entities
  under that top, the top included) on every member of a group; an entity alone has neither.

An owner (or owned entity) that is not a client, such as a holding company, becomes a Customer
node with ``client = false``: it has no transactions, and no recommendation is made for it (a
client's first transaction clears the flag).

A file gives each of its entities its whole set of stakes: loading it again changes nothing,
and a file that gives an entity another majority owner moves its ``SUBSIDIARY_OF``. Row
problems (a missing ID, a share outside (0, 1], an entity owning itself, a date that is not
one, a stake given twice) are rejects with their line and reason, counted against
``--max-rejects``; a consolidation cycle (A under B under A), in the file or with the stakes
already in the graph, refuses the whole file with one line naming its members.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import neo4j
import pandas as pd

from ..config import Settings
from ..db import read, write
from ..errors import InputFileError
from ..progress import Summary
from .mapping import HierarchySource
from .rejects import ISO_DATE, first_reasons, read_text_table, write_rejects

COLUMNS = {"child": "Customer ID", "parent": "Parent ID", "share": "Share", "since": "Since", "name": "Parent Name"}
REQUIRED = ("child", "parent", "share")
BATCH = 5_000


@dataclass
class HierarchySummary(Summary):
    """What the hierarchy file gave. ``read == loaded + rejected`` always holds."""

    file: str
    read: int = 0
    loaded: int = 0
    rejected: int = 0
    rejects_file: str | None = None
    entities: int = 0  # entities the file names, as owned or owner
    not_clients_created: int = 0  # Customer nodes made with client = false
    subsidiaries: int = 0  # entities under a consolidation parent, in the graph after the load
    groups: int = 0  # ultimate parents with at least one subsidiary, in the graph after the load
    largest_group: int = 0


@dataclass
class Stakes:
    """A checked hierarchy file: its valid stakes (``child, parent, share, since, name``) and summary."""

    path: Path
    rows: pd.DataFrame
    summary: HierarchySummary
    consolidation: dict = field(default_factory=dict)  # child -> its consolidation parent


def check_hierarchy(
    path: str | Path,
    rejects: str | Path | None = None,
    encoding: str = "utf-8-sig",
    source: HierarchySource | None = None,
) -> Stakes:
    """Read and check a hierarchy file (CSV, .csv.gz or Parquet); its rejects go beside it
    (``FILE.rejects.csv``) unless ``rejects`` names another file. ``source``: a mapping's
    ``[hierarchy]``, whose headers and date format the file is read with (default: :data:`COLUMNS`)."""
    path = Path(path)
    raw = read_text_table(path, encoding, "a hierarchy file")
    headers = source.columns if source is not None else COLUMNS
    missing = [headers[c] for c in REQUIRED if headers[c] not in raw.columns]
    if missing:
        given = ", ".join(headers[c] for c in REQUIRED)
        raise InputFileError(
            f"{path}: no column {', '.join(repr(m) for m in missing)} (a hierarchy file has {given}"
            + (
                ", and optionally Since and Parent Name)."
                if source is None
                else ", as the mapping's [hierarchy] says)."
            )
        )
    rows = pd.DataFrame(
        {key: raw[headers[key]].str.strip() if headers.get(key) in raw else "" for key in COLUMNS}, index=raw.index
    )
    rows["lineNumber"] = range(2, len(rows) + 2)
    fmt = source.since_format if source is not None and source.since_format != "iso8601" else ISO_DATE
    reasons = _reasons(rows, fmt)
    bad = reasons != ""
    summary = HierarchySummary(str(path), read=len(rows), rejected=int(bad.sum()), loaded=int((~bad).sum()))
    summary.rejects_file = write_rejects(path, rejects, rows["lineNumber"], reasons, raw)
    good = rows[~bad].copy()
    good["share"] = pd.to_numeric(good["share"])
    if fmt != ISO_DATE:  # the bank's dates, as ISO dates
        dated = good["since"] != ""
        good.loc[dated, "since"] = pd.to_datetime(good.loc[dated, "since"], format=fmt).dt.strftime(ISO_DATE)
    for optional in ("since", "name"):  # an empty cell is no value (None reaches Cypher as null)
        good[optional] = pd.Series([value or None for value in good[optional]], index=good.index, dtype=object)
    summary.entities = len(set(good["child"]) | set(good["parent"]))
    return Stakes(path, good.drop(columns="lineNumber").reset_index(drop=True), summary, consolidation_of(good))


def _reasons(rows: pd.DataFrame, fmt: str = "%Y-%m-%d") -> pd.Series:
    """Each row's first problem ("" for none); a stake given again is a problem of the later
    row, the first sound one kept."""
    share = pd.to_numeric(rows["share"], errors="coerce")
    since = pd.to_datetime(rows["since"].replace("", None), format=fmt, errors="coerce")
    written = "YYYY-MM-DD" if fmt == ISO_DATE else fmt
    checks = [
        (rows["child"] == "", "missing Customer ID"),
        (rows["parent"] == "", "missing Parent ID"),
        (rows["child"] == rows["parent"], "an entity cannot own itself"),
        (rows["share"] == "", "missing Share"),
        (share.isna() & (rows["share"] != ""), "Share " + rows["share"] + " is not a number"),
        (share.notna() & ~((share > 0) & (share <= 1)), "Share " + rows["share"] + " is outside (0, 1]"),
        (since.isna() & (rows["since"] != ""), "Since " + rows["since"] + f" is not a date ({written})"),
    ]
    reasons = first_reasons(checks, rows.index)
    sound = rows[reasons == ""]
    repeated = sound.duplicated(["child", "parent"], keep="first")
    first_line = sound.groupby(["child", "parent"])["lineNumber"].transform("min").astype(str)
    again = "the stake of " + sound["parent"] + " in " + sound["child"] + " is on line " + first_line
    return reasons.mask(repeated.reindex(rows.index, fill_value=False), again.reindex(rows.index))


def consolidation_of(stakes: pd.DataFrame) -> dict[str, str]:
    """Each owned entity's consolidation parent: its largest owner (a majority owner, where one
    exists, is the largest), the smallest ID on a tie."""
    ordered = stakes.sort_values(["child", "share", "parent"], ascending=[True, False, True])
    first = ordered.drop_duplicates("child")
    return dict(zip(first["child"], first["parent"]))


def find_cycle(parent_of: dict[str, str]) -> list[str] | None:
    """A consolidation cycle (``[a, b, a]``: a under b under a), or None."""
    done: set[str] = set()
    for start in sorted(parent_of):
        path, seen = [], {}
        node = start
        while node in parent_of and node not in done:
            if node in seen:
                return path[seen[node] :] + [node]
            seen[node] = len(path)
            path.append(node)
            node = parent_of[node]
        done.update(path)
    return None


def groups_of(parent_of: dict[str, str]) -> dict[str, tuple[str, int]]:
    """Every member of a group: ``{id: (ultimate parent, group size)}`` (the chains have no cycle)."""
    top: dict[str, str] = {}
    for start in parent_of:
        chain, node = [], start
        while node in parent_of and node not in top:
            chain.append(node)
            node = parent_of[node]
        ultimate = top.get(node, node)
        for member in chain:
            top[member] = ultimate
    sizes = pd.Series(list(top.values())).value_counts() + 1 if top else pd.Series(dtype=int)
    members = {member: (ultimate, int(sizes[ultimate])) for member, ultimate in top.items()}
    members.update({ultimate: (ultimate, int(size)) for ultimate, size in sizes.items()})
    return members


def load_hierarchy(driver: neo4j.Driver, settings: Settings, stakes: Stakes, fingerprint: str) -> HierarchySummary:
    """Write checked stakes into the graph (the caller holds the writer lock), bracketed by the
    ingest marker of the file's ``fingerprint``; a consolidation cycle is refused first, with
    nothing written."""
    summary = stakes.summary
    found = read(driver, settings, "loaders/consolidation")[0]
    given = set(stakes.consolidation)  # the entities the file gives stakes to: theirs are replaced
    parent_of = {child: parent for child, parent in found["edges"] if child not in given}
    parent_of |= stakes.consolidation
    cycle = find_cycle(parent_of)
    if cycle:
        raise InputFileError(
            f"{stakes.path}: a consolidation cycle, {' -> '.join(cycle)} (each the largest owner of the one "
            "before, with the stakes already in the graph): nothing loaded."
        )
    rejects = str(Path(summary.rejects_file).resolve()) if summary.rejects_file else None
    marker = {"fingerprint": fingerprint, "file": str(stakes.path.resolve()), "rows": summary.read}
    write(driver, settings, "loaders/ingest_started", **marker, rejectsFile=rejects, modelFeatures=None)
    _write(driver, settings, stakes)
    summary.subsidiaries, summary.groups, summary.largest_group = refresh_groups(driver, settings)
    write(driver, settings, "loaders/ingest_finished", fingerprint=fingerprint)
    return summary


def refresh_groups(driver: neo4j.Driver, settings: Settings) -> tuple[int, int, int]:
    """Every group member's ``ultimateParentId`` and ``groupSize`` from the consolidation tree
    as the graph holds it (after a hierarchy load, or after ``forget`` took an entity out);
    facts of an entity no longer in a group are removed. Returns how many entities have a
    consolidation parent, how many groups there are, and the largest group's size."""
    found = read(driver, settings, "loaders/consolidation")[0]
    parent_of = dict(map(tuple, found["edges"]))
    members = groups_of(parent_of)
    rows = [{"customerId": m, "ultimateParentId": top, "groupSize": size} for m, (top, size) in sorted(members.items())]
    left = [m for m in found["members"] if m not in members]  # facts of a group it no longer belongs to
    rows += [{"customerId": m, "ultimateParentId": None, "groupSize": None} for m in left]
    for start in range(0, len(rows), BATCH):
        write(driver, settings, "loaders/set_groups", members=rows[start : start + BATCH])
    sizes = dict(members.values())  # ultimate parent -> group size
    return len(parent_of), len(sizes), max(sizes.values(), default=0)


def _write(driver: neo4j.Driver, settings: Settings, stakes: Stakes) -> None:
    """The entities, then each owned entity's stakes."""
    summary = stakes.summary
    names = stakes.rows.dropna(subset=["name"]).drop_duplicates("parent", keep="last").set_index("parent")["name"]
    entities = sorted(set(stakes.rows["child"]) | set(stakes.rows["parent"]))
    for start in range(0, len(entities), BATCH):
        batch = [{"customerId": e, "name": names.get(e)} for e in entities[start : start + BATCH]]
        written = write(driver, settings, "loaders/hierarchy_entities", entities=batch)
        summary.not_clients_created += written.summary.counters.nodes_created
    children = [
        {
            "customerId": child,
            "parent": stakes.consolidation[child],
            "stakes": group[["parent", "share", "since"]].to_dict("records"),
        }
        for child, group in stakes.rows.groupby("child", sort=True)
    ]
    for start in range(0, len(children), BATCH):
        write(driver, settings, "loaders/hierarchy_stakes", children=children[start : start + BATCH])
