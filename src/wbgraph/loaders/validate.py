"""Reading and checking an input CSV before anything touches the graph.

Three outcomes, as documented in the README:

* a **file-level error** (empty file, wrong delimiter, missing / unknown / duplicated
  columns, bytes that are not in the file's encoding, broken quoting) raises
  :class:`InputFileError` with one line naming the problem: nothing is loaded;
* a **hard error** in a row (missing or over-long ID, unparseable number or date, a value
  out of range, a wrong number of fields) sends the row to the rejects, with its line
  number and every reason;
* a **soft problem** (a value outside the documented vocabulary, an entity whose attributes
  differ between rows) keeps the row and is counted; ``strict`` rejects it instead.

Every row read is either valid or rejected: ``read == len(valid) + len(rejects)``.
"""

from __future__ import annotations

import gc
import hashlib
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .columns import COLUMNS, HEADERS, MAX_ID_LENGTH, Column, owned_by
from .mapping import Mapping, apply, default_mapping
from .read import DEFAULT_ENCODING, check_header

STRING = np.dtypes.StringDType()


@dataclass
class Validated:
    """The outcome of checking one file.

    ``rows`` holds the valid rows, typed, one column per graph property plus ``line``
    (where the row starts in the file) and ``transactionKey`` (identical rows share it).
    ``rejects`` holds the rejected rows as they were in the file plus ``lineNumber`` and
    ``reason``.
    """

    path: Path
    rows: pd.DataFrame
    rejects: pd.DataFrame
    read: int
    warnings: Counter = field(default_factory=Counter)
    conflicts: dict = field(default_factory=dict)

    @property
    def duplicates(self) -> int:
        """Valid rows identical to an earlier row of the file (they map to the same Transaction)."""
        return int(self.rows["transactionKey"].duplicated().sum())


@contextmanager
def _gc_paused():
    """Millions of short-lived strings make the cyclic collector run for nothing; pause it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def validate(
    path: str | Path, encoding: str = DEFAULT_ENCODING, strict: bool = False, mapping: Mapping | None = None
) -> Validated:
    """Read ``path`` (through ``mapping``; default: the 28 columns) and split its rows into valid
    (typed) rows and rejects with reasons."""
    with _gc_paused():
        return _validate(Path(path), encoding, strict, mapping or default_mapping())


def _validate(path: Path, encoding: str, strict: bool, mapping: Mapping) -> Validated:
    header, records, lines = apply(mapping, path, encoding)
    check_header(path, header)

    width = len(header)
    ragged = [i for i, r in enumerate(records) if len(r) != width]
    raw = pd.DataFrame(
        [r if len(r) == width else (r + [""] * width)[:width] for r in records], columns=header, dtype=object
    )
    if raw.empty:
        raw = pd.DataFrame({h: pd.Series([], dtype=object) for h in header})
    raw = raw[list(HEADERS)]
    line = pd.Series(lines, dtype="int64")

    reasons = defaultdict(list)  # row position -> hard problems; only bad rows get an entry
    for i in ragged:
        reasons[i].append(f"expected {width} fields, found {len(records[i])}")
    soft = defaultdict(list)  # row position -> soft problems
    warnings: Counter = Counter()

    typed = {}
    for column in COLUMNS:
        checks = (column.prop in mapping.required, mapping.check_vocabularies)
        typed[column.prop] = _convert(column, raw[column.header], reasons, soft, warnings, *checks)

    rows = pd.DataFrame(typed)
    rows["line"] = line
    rows["transactionKey"] = [_row_key(r) for r in raw.itertuples(index=False, name=None)]

    hard = _mask(reasons, len(raw))
    conflicts = _conflicts(rows, ~hard, soft, warnings)
    bad = hard | _mask(soft, len(raw)) if strict else hard

    rejects = raw[bad].copy()
    rejects.insert(
        0, "reason", ["; ".join(reasons.get(i, []) + (soft.get(i, []) if strict else [])) for i in np.flatnonzero(bad)]
    )
    rejects.insert(0, "lineNumber", line[bad].to_numpy())
    if strict:
        warnings = Counter()
    return Validated(
        path, rows[~bad].reset_index(drop=True), rejects.reset_index(drop=True), len(raw), warnings, conflicts
    )


def _mask(problems: dict, n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[[i for i, p in problems.items() if p]] = True
    return mask


def _row_key(values: tuple) -> str:
    """The Transaction key of a row: the same for identical rows, different otherwise."""
    return hashlib.blake2b("\x1f".join(values).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _convert(
    column: Column, values: pd.Series, reasons: dict, soft: dict, warnings: Counter, required: bool, vocabulary: bool
) -> pd.Series:
    """Typed values of one column; adds a reason per bad row (hard) or per soft problem.

    String work is done with numpy's vectorised string functions: several times faster than
    pandas' element-wise ``.str`` methods on a million rows.
    """
    name = column.header
    text = values.to_numpy(dtype=object).astype(STRING)
    stripped = np.strings.strip(text)
    empty = stripped == ""
    if required:
        for i in np.flatnonzero(empty):
            reasons[i].append(f"missing {name}")

    if column.kind == "id":
        for i in np.flatnonzero(np.strings.str_len(text) > MAX_ID_LENGTH):
            reasons[i].append(f"{name} longer than {MAX_ID_LENGTH} characters")
        return pd.Series(np.where(empty, None, values.to_numpy(dtype=object)), dtype=object)  # IDs kept as given

    plain = stripped.astype(object)
    plain[empty] = None
    if column.kind == "category":
        if vocabulary and column.vocabulary:
            outside = ~empty & ~np.isin(stripped, np.array(column.vocabulary, dtype=STRING))
            for i in np.flatnonzero(outside):
                soft[i].append(f"{name} {_show(plain[i])} is not a documented value")
            if outside.any():
                warnings[f"{name} outside the documented vocabulary"] += int(outside.sum())
        return pd.Series(plain, dtype=object)

    if column.kind == "date":
        parsed = pd.to_datetime(pd.Series(plain, dtype=object), format="ISO8601", utc=True, errors="coerce")
        for i in np.flatnonzero(~empty & parsed.isna().to_numpy()):
            reasons[i].append(f"{name} {_show(values.iat[i])} is not an ISO 8601 date")
        return parsed

    arr = pd.to_numeric(pd.Series(plain, dtype=object), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    finite = np.isfinite(arr)
    for i in np.flatnonzero(~empty & ~finite):
        reasons[i].append(f"{name} {_show(values.iat[i])} is not a finite number")
    if column.low is not None or column.high is not None:
        low = -np.inf if column.low is None else column.low
        high = np.inf if column.high is None else column.high
        with np.errstate(invalid="ignore"):
            out = finite & ((arr < low) | (arr > high))
        for i in np.flatnonzero(out):
            reasons[i].append(f"{name} {_show(values.iat[i])} is outside [{_fmt(low)}, {_fmt(high)}]")
    if column.kind == "int":
        with np.errstate(invalid="ignore"):
            fractional = finite & (np.floor(arr) != arr)
        for i in np.flatnonzero(fractional):
            reasons[i].append(f"{name} {_show(values.iat[i])} is not a whole number")
    return pd.Series(np.where(finite, arr, np.nan), dtype="float64")


def _conflicts(rows: pd.DataFrame, valid: np.ndarray, soft: dict, warnings: Counter) -> dict:
    """Count entities whose attributes differ between valid rows; flag the rows that lose.

    The attributes of the row with the latest date (the later line on a tie) win, in the file
    as in the graph; the other rows of that entity that disagree get a soft problem.
    """
    counts = {}
    for owner, key in (("Customer", "customerId"), ("Product", "productId")):
        attrs = [c.prop for c in owned_by(owner) if c.kind != "id"]
        part = rows.loc[valid, [key, "date", "line", *attrs]]
        if part.empty:
            counts[owner] = 0
            continue
        signature = pd.util.hash_pandas_object(part[attrs], index=False)  # equal attributes, equal hash
        winner = part.assign(signature=signature).sort_values(["date", "line"]).groupby(key)["signature"].last()
        losing = signature.ne(part[key].map(winner)).to_numpy()
        counts[owner] = int(part.loc[losing, key].nunique())
        for i in part.index[losing]:
            soft[i].append(f"{owner} {_show(rows.at[i, key])} has other attributes on a later row")
        if counts[owner]:
            warnings[f"{owner}s with conflicting attributes (latest row wins)"] = counts[owner]
    return counts


def _show(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)
