"""``wbgraph outcomes ingest FILE``: what relationship managers did with the offers, into the graph.

An outcomes file (CSV, .csv.gz or Parquet) has one row per offer: ``customerId``,
``productId``, ``offeredAt`` (an ISO date), ``outcome`` (accepted, declined or no-response),
and optionally ``decidedAt`` (an ISO date), ``channel``, ``rm``, ``runId`` and ``rank``. In
the graph each becomes ``(:Customer)-[:RECEIVED]->(:Offer {offerKey})-[:FOR]->(:Product)``
(the key from the customer, the product and the offer date), ``(:Offer)-[:FROM_RUN]->(:Run)``
when the run is known, and ``(:Offer)-[:CONVERTED_TO]->(:Transaction)`` when the customer's
first transaction with the product falls within ``conversion_days`` (default 90) after the
offer: a customer that used the product before was not converted by it.

Nothing is lost: every row is an offer in the graph or a reject (``FILE.rejects.csv``, its
line and reason): a missing field, a date that is not one or lies in the future, a decision
before its offer, an outcome outside the vocabulary, a rank that is not a positive whole
number, an unknown customer or product, an entity that is not a client, an offer already given
on an earlier line. Rejects count against ``max_rejects``; loading a file again changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import neo4j
import pandas as pd

from ..config import Settings
from ..db import apply_schema, read, write, writer_lock
from ..errors import InputFileError
from ..loaders.ingest import file_fingerprint
from ..loaders.mapping import OutcomesSource, load_mapping
from ..loaders.rejects import ISO_DATE, first_reasons, read_text_table, refuse_too_many_rejects, write_rejects
from ..progress import SILENT, Phases, Progress, Summary

OUTCOMES = ("accepted", "declined", "no-response")
REQUIRED = ("customerId", "productId", "offeredAt", "outcome")
OPTIONAL = ("decidedAt", "channel", "rm", "runId", "rank")
CONVERSION_DAYS = 90  # an offer converted when the first transaction with the product follows within this
BATCH = 5_000


@dataclass
class OutcomesSummary(Summary):
    """What an outcomes file gave. ``read == loaded + rejected`` always holds."""

    file: str
    read: int = 0
    loaded: int = 0
    rejected: int = 0
    rejects_file: str | None = None
    offers: int = 0  # offers in the graph after the load, every file's
    accepted: int = 0
    declined: int = 0
    no_response: int = 0
    converted: int = 0  # offers followed by the customer's first transaction with the product
    seconds: float = 0.0


@dataclass
class Checked:
    """A checked outcomes file: its sound rows, as ``outcomes/write_offers`` takes them, and its summary."""

    path: Path
    rows: list[dict]
    summary: OutcomesSummary


def check_outcomes(
    path: str | Path,
    known: tuple[set, set, set] | Callable[[list, list], tuple[set, set, set]],
    rejects: str | Path | None = None,
    today: dt.date | None = None,
    encoding: str = "utf-8-sig",
    source: OutcomesSource | None = None,
) -> Checked:
    """Read and check an outcomes file against ``known`` (the customers, the products and the
    entities that are not clients the graph holds, of those the file names; or a function that
    looks them up, given the file's customer and product IDs); its rejects go
    beside it (``FILE.rejects.csv``) unless ``rejects`` names another file. ``source``: a
    mapping's ``[outcomes]``, the file's own headers and date formats."""
    path = Path(path)
    raw = read_text_table(path, encoding, "an outcomes file")
    rows = fields_of(raw, path, source)
    rows["outcome"] = rows["outcome"].str.lower()
    rows["lineNumber"] = range(2, len(rows) + 2)
    formats = source.formats if source is not None else {}
    if callable(known):
        known = known(sorted(set(rows["customerId"])), sorted(set(rows["productId"])))
    reasons = _reasons(rows, known, today or dt.date.today(), formats)
    bad = reasons != ""
    summary = OutcomesSummary(str(path), read=len(rows), rejected=int(bad.sum()), loaded=int((~bad).sum()))
    summary.rejects_file = write_rejects(path, rejects, rows["lineNumber"], reasons, raw)
    good = rows[~bad].copy()
    for column, fmt in formats.items():  # the bank's dates, as ISO dates
        dated = good[column] != ""
        good.loc[dated, column] = pd.to_datetime(good.loc[dated, column], format=fmt).dt.strftime(ISO_DATE)
    return Checked(path, [_offer(row) for row in good.to_dict("records")], summary)


def fields_of(raw: pd.DataFrame, path: Path, source: OutcomesSource | None = None) -> pd.DataFrame:
    """The outcomes file's fields (:data:`REQUIRED`, :data:`OPTIONAL`) as trimmed text, read under
    the headers ``source`` gives (a mapping's ``[outcomes]``), else under their own names."""
    headers = {c: c for c in (*REQUIRED, *OPTIONAL)} | (source.columns if source is not None else {})
    missing = [headers[c] for c in REQUIRED if headers[c] not in raw.columns]
    if missing:
        raise InputFileError(
            f"{path}: no column {', '.join(repr(m) for m in missing)} (an outcomes file has "
            f"{', '.join(headers[c] for c in REQUIRED)}, and optionally {', '.join(headers[c] for c in OPTIONAL)})."
        )
    return pd.DataFrame({c: raw[h].str.strip() if h in raw else "" for c, h in headers.items()}, index=raw.index)


def ingest(
    driver: neo4j.Driver,
    settings: Settings,
    path: str | Path,
    *,
    rejects: str | Path | None = None,
    max_rejects: int | None = None,
    conversion_days: int = CONVERSION_DAYS,
    encoding: str = "utf-8-sig",
    mapping: str | Path | None = None,
    progress: Progress = SILENT,
) -> OutcomesSummary:
    """Check an outcomes file, then write its offers (holding the writer lock, bracketed by an
    ingest marker, as a rows file is) and work out which offers converted. ``mapping``: a
    mapping file whose ``[outcomes]`` table gives the file's own headers and date formats."""
    source = load_mapping(mapping).outcomes if mapping is not None else None

    def known(customers: list, products: list) -> tuple[set, set, set]:
        """The file's customers and products the graph holds, and the entities that are not clients."""
        found = read(driver, settings, "outcomes/known_entities", customerIds=customers, productIds=products)[0]
        return set(found["customers"]), set(found["products"]), set(found["notClients"])

    phases = Phases()
    with writer_lock(driver, settings, "outcomes ingest", progress):
        with phases("validate"):
            checked = check_outcomes(path, known, rejects=rejects, encoding=encoding, source=source)
        summary = checked.summary
        refuse_too_many_rejects([summary], max_rejects)
        apply_schema(driver, settings)
        fingerprint = file_fingerprint(checked.path)
        rejects_file = str(Path(summary.rejects_file).resolve()) if summary.rejects_file else None
        marker = {"fingerprint": fingerprint, "file": str(checked.path.resolve()), "rows": summary.read}
        write(driver, settings, "loaders/ingest_started", **marker, rejectsFile=rejects_file, modelFeatures=None)
        with phases("write"), progress.task("Writing offers", "offers") as update:
            for start in range(0, len(checked.rows), BATCH):
                write(driver, settings, "outcomes/write_offers", rows=checked.rows[start : start + BATCH])
                update(min(start + BATCH, len(checked.rows)), len(checked.rows))
        with phases("conversions"):
            write(driver, settings, "outcomes/refresh_conversions", days=conversion_days)
        write(driver, settings, "loaders/ingest_finished", fingerprint=fingerprint)
        counts = read(driver, settings, "outcomes/offer_counts")[0]
    summary.offers, summary.accepted, summary.declined = counts["offers"], counts["accepted"], counts["declined"]
    summary.no_response, summary.converted = counts["noResponse"], counts["converted"]
    summary.seconds = phases.total
    return summary


def _reasons(rows: pd.DataFrame, known: tuple[set, set, set], today: dt.date, formats: dict) -> pd.Series:
    """Each row's first problem ("" for none); an offer given again is a problem of the later row.
    ``formats``: the dates' formats, where not ISO (a mapping's)."""
    customers, products, not_clients = known
    fmt = {c: formats.get(c, ISO_DATE) for c in ("offeredAt", "decidedAt")}
    written = {c: "YYYY-MM-DD" if f == ISO_DATE else f for c, f in fmt.items()}
    offered = pd.to_datetime(rows["offeredAt"].replace("", None), format=fmt["offeredAt"], errors="coerce")
    decided = pd.to_datetime(rows["decidedAt"].replace("", None), format=fmt["decidedAt"], errors="coerce")
    rank = pd.to_numeric(rows["rank"].replace("", None), errors="coerce")
    now = pd.Timestamp(today)
    checks = [(rows[c] == "", f"missing {c}") for c in REQUIRED]
    checks += [
        (offered.isna() & (rows["offeredAt"] != ""),
         "offeredAt " + rows["offeredAt"] + f" is not a date ({written['offeredAt']})"),
        (offered > now, "offeredAt " + rows["offeredAt"] + " is in the future"),
        (~rows["outcome"].isin(OUTCOMES) & (rows["outcome"] != ""),
         "outcome " + rows["outcome"] + " is not one of " + ", ".join(OUTCOMES)),
        (decided.isna() & (rows["decidedAt"] != ""),
         "decidedAt " + rows["decidedAt"] + f" is not a date ({written['decidedAt']})"),
        (decided > now, "decidedAt " + rows["decidedAt"] + " is in the future"),
        (decided < offered, "decidedAt " + rows["decidedAt"] + " is before offeredAt " + rows["offeredAt"]),
        ((rows["rank"] != "") & ~((rank >= 1) & (rank % 1 == 0)),
         "rank " + rows["rank"] + " is not a whole number >= 1"),
        (rows["customerId"].isin(not_clients), "customer " + rows["customerId"] + " is not a client (client = false)"),
        (~rows["customerId"].isin(customers | not_clients) & (rows["customerId"] != ""),
         "no customer " + rows["customerId"] + " in the graph"),
        (~rows["productId"].isin(products) & (rows["productId"] != ""),
         "no product " + rows["productId"] + " in the graph"),
    ]  # fmt: skip
    reasons = first_reasons(checks, rows.index)
    sound = rows[reasons == ""]
    key = ["customerId", "productId", "offeredAt"]
    repeated = sound.duplicated(key, keep="first")
    first_line = sound.groupby(key)["lineNumber"].transform("min").astype(str)
    again = "the offer of " + sound["productId"] + " to " + sound["customerId"] + " on " + sound["offeredAt"]
    again = again + " is on line " + first_line
    return reasons.mask(repeated.reindex(rows.index, fill_value=False), again.reindex(rows.index))


def _offer(row: dict) -> dict:
    """A sound row as ``outcomes/write_offers`` takes it: empty optional cells are no value."""
    out = {c: row[c] or None for c in (*REQUIRED, *OPTIONAL)}
    out["rank"] = int(float(row["rank"])) if row["rank"] else None
    out["offerKey"] = f"{row['customerId']}|{row['productId']}|{row['offeredAt']}"
    return out
