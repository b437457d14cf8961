"""Your extract as it is: a mapping file says how its columns become the graph's properties.

A mapping (TOML) names, for each graph property of :mod:`.columns`, the source column it
comes from (or a constant), and for dates their format; a small fixed set of transforms
(trim, upper/lower case, split on a delimiter and take the first item or all of them) and
no expression language. Customer and product attributes may come from separate files
(a customer master, a product catalogue) joined on their ids. Example, MovieLens' ratings::

    delimiter = ","
    [columns]
    customerId = "userId"                                   # a source column
    productId = "movieId"
    date = { column = "timestamp", format = "epoch-seconds" }
    amount = { column = "rating", required = true }

    [products]                                              # attributes from a second file
    file = "movies.csv"                                     # relative to the mapping file
    key = "movieId"
    [products.columns]
    productType = { column = "genres", split = "|", take = "first" }

Applying a mapping turns the file into the default input format (the seed notebook's
columns, :data:`.columns.HEADERS`), row for row with each row's line number kept, so the one
validator, the rejects file and the summary serve every extract alike. The default format
is itself a mapping (:func:`default_mapping`): each header onto its property, Transaction ID
and amount required, the documented vocabularies checked. A user's mapping requires only the
customer id, the product id and the date, plus what it marks ``required``; without a
transaction id a transaction is identified by its mapped values. Any problem with the
mapping itself is one line, before anything is read or written. ``regulations =
"accumulate" | "latest"`` says whether a product's regulations gather every one it has been
traded under (the default) or follow its latest row like its other attributes.

A ``[hierarchy]`` table names a file of stakes (who owns whom, :mod:`.hierarchy`) in the
bank's own headers, loaded after the rows::

    [hierarchy]
    file = "ownership.csv"                                  # relative to the mapping file
    child = "ENTITY_ID"                                     # the entity owned
    parent = "OWNER_ID"                                     # its owner
    share = "OWNED_FRACTION"                                # in (0, 1]
    since = { column = "SINCE", format = "%d/%m/%Y" }       # optional; iso8601 without format
    name = "OWNER_NAME"                                     # optional: the owner's name
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import MappingError
from .columns import BY_HEADER, COLUMNS, HEADERS, Column
from .read import CHUNK_ROWS, DEFAULT_ENCODING, Chunk, Reader, check_header, read_table

BY_PROP = {c.prop: c for c in COLUMNS}
# A product's regulations: "accumulate", every regulation it has been traded under (a
# per-transaction fact gathered onto the product); "latest", the regulation of its latest row
# (a product attribute, replaced as its other attributes are).
REGULATIONS = ("accumulate", "latest")
ALWAYS_REQUIRED = ("customerId", "productId", "date")
DATE_FORMATS = ("iso8601", "epoch-seconds", "epoch-milliseconds")  # or a strftime pattern such as "%d/%m/%Y"
SOURCE_KEYS = {"column", "constant", "format", "trim", "case", "split", "take", "required", "type", "model"}
OWNERS = {"customers": "Customer", "products": "Product"}
LABELS = ("Customer", "Product", "Transaction")
EXTRA_TYPES = {"text": "category", "float": "float", "int": "int", "date": "date"}  # -> the validator's kinds
EXTRA_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
RESERVED = {"attributesAsOf", "transactionKey", "name", "regulations", "line", "first", "pair", "lineNumber", "reason"}


@dataclass(frozen=True)
class Source:
    """Where one graph property comes from, and how its text is shaped."""

    column: str | None = None
    constant: str | None = None
    format: str | None = None  # dates only
    trim: bool = True
    case: str | None = None  # "upper" or "lower"
    split: str | None = None
    take: str = "first"  # with split: "first" item, or "all" items (joined for list properties)
    required: bool = False
    type: str = "text"  # extra properties only: text, float, int or date
    model: bool = False  # extra properties of customers and products only: a feature of the graph model too


@dataclass(frozen=True)
class Side:
    """A second file of customer or product attributes, joined on its key column."""

    file: Path
    key: str
    columns: dict[str, Source]
    delimiter: str = ","
    extras: dict[str, Source] = field(default_factory=dict)  # extra properties of the side's owner


@dataclass(frozen=True)
class Mapping:
    """How one extract's columns become the graph's properties."""

    columns: dict[str, Source]  # graph property -> source
    delimiter: str = ","
    check_vocabularies: bool = False
    sides: dict[str, Side] = field(default_factory=dict)  # "customers" / "products" -> their file
    name: str = "the default mapping"
    extras: dict[str, tuple[str, Source]] = field(default_factory=dict)  # extra property -> (label, source)
    reporting: str | None = None  # the reporting currency, when the mapping gives rates to it
    rates: dict[str, float] = field(default_factory=dict)  # currency -> units of the reporting currency per unit
    regulations: str = "accumulate"  # a product's regulations: every one it was traded under, or its latest row's
    hierarchy: HierarchySource | None = None  # the [hierarchy] table: a file of stakes, in its own headers
    outcomes: OutcomesSource | None = None  # the [outcomes] table: an outcomes file's own headers

    @property
    def required(self) -> set[str]:
        """The properties every row must have: the ids and the date, and what the mapping marks required."""
        extras = {prop for prop, (_, source) in self.extras.items() if source.required}
        return set(ALWAYS_REQUIRED) | {prop for prop, s in self.columns.items() if s.required} | extras

    @property
    def all_extras(self) -> dict[str, tuple[str, Source]]:
        """Every extra property -> (its owner's label, its source), from the main file and the side files alike."""
        found = dict(self.extras)
        for side_name, side in self.sides.items():
            found.update({prop: (OWNERS[side_name], source) for prop, source in side.extras.items()})
        return found

    @property
    def extra_columns(self) -> tuple[Column, ...]:
        """The extra properties as columns of the validator, from the main file and the side files alike."""
        found = self.all_extras
        return tuple(
            Column(f"{owner}.{prop}", prop, owner, EXTRA_TYPES[source.type]) for prop, (owner, source) in found.items()
        )

    @property
    def model_features(self) -> list[str]:
        """The extra properties marked ``model = true``, as ``Owner.property:kind`` (kind: ``number``
        for float and int, ``category`` for text): what an ingest records for training to read."""
        found = self.all_extras
        return [
            f"{owner}.{prop}:{'category' if source.type == 'text' else 'number'}"
            for prop, (owner, source) in found.items()
            if source.model
        ]

    @property
    def is_default(self) -> bool:
        return self.name == "the default mapping"


@dataclass(frozen=True)
class HierarchySource:
    """A mapping's ``[hierarchy]``: the file of stakes, its header for each of ``child``,
    ``parent``, ``share`` (and optionally ``since``, ``name``), and the format of its dates."""

    file: Path
    columns: dict[str, str]
    since_format: str = "iso8601"


HIERARCHY_KEYS = ("child", "parent", "share", "since", "name")


def _column_and_format(where: str, section: str, key: str, spec: object) -> tuple[str, str]:
    """``(column, date format)`` of a ``key = "COLUMN"`` or ``key = { column = "...", format = "..." }``."""
    fmt = "iso8601"
    if isinstance(spec, dict):
        if set(spec) - {"column", "format"} or not isinstance(spec.get("column"), str):
            raise MappingError(
                f'{where}: {section} {key} must be a column name or {{ column = "...", format = "..." }}.'
            )
        fmt = str(spec.get("format", "iso8601"))
        if fmt != "iso8601" and "%" not in fmt:
            raise MappingError(f"{where}: {section} {key}: format {fmt!r} is not iso8601 or a strftime pattern.")
        spec = spec["column"]
    if not isinstance(spec, str) or not spec.strip():
        raise MappingError(f"{where}: {section} {key} must name a column.")
    return spec, fmt


def _hierarchy(where: str, folder: Path, raw: object) -> HierarchySource:
    """The ``[hierarchy]`` table, checked: every problem one line."""
    shape = '[hierarchy] needs file = "...", child, parent and share (column names; since and name optional)'
    if not isinstance(raw, dict) or not isinstance(raw.get("file"), str):
        raise MappingError(f"{where}: {shape}.")
    unknown = set(raw) - {"file", *HIERARCHY_KEYS}
    if unknown:
        raise MappingError(f"{where}: [hierarchy] has unknown keys {sorted(unknown)} ({shape}).")
    columns, fmt = {}, "iso8601"
    for key in HIERARCHY_KEYS:
        if key not in raw:
            if key in ("child", "parent", "share"):
                raise MappingError(f"{where}: {shape}; {key} is missing.")
            continue
        if key != "since" and isinstance(raw[key], dict):
            raise MappingError(f"{where}: [hierarchy] {key} must name a column.")
        columns[key], given = _column_and_format(where, "[hierarchy]", key, raw[key])
        fmt = given if key == "since" else fmt
    file = Path(raw["file"]) if Path(raw["file"]).is_absolute() else folder / raw["file"]
    return HierarchySource(file, columns, fmt)


@dataclass(frozen=True)
class OutcomesSource:
    """A mapping's ``[outcomes]``: the outcomes file's header for each field it renames
    (``customerId``, ``productId``, ``offeredAt``, ``outcome``, ...) and its dates' formats."""

    columns: dict[str, str]
    formats: dict[str, str] = field(default_factory=dict)  # offeredAt / decidedAt -> strftime pattern


OUTCOME_KEYS = ("customerId", "productId", "offeredAt", "outcome", "decidedAt", "channel", "rm", "runId", "rank")
FIELDS = ", ".join(OUTCOME_KEYS)


def _outcomes(where: str, raw: object) -> OutcomesSource:
    """The ``[outcomes]`` table, checked: each field a column name, the dates with a format if need be."""
    if not isinstance(raw, dict) or not raw:
        raise MappingError(
            f'{where}: [outcomes] must be a table of field = "column" (fields: {", ".join(OUTCOME_KEYS)}).'
        )
    unknown = set(raw) - set(OUTCOME_KEYS)
    if unknown:
        raise MappingError(
            f"{where}: [outcomes] has unknown keys {sorted(unknown)} (fields: {', '.join(OUTCOME_KEYS)})."
        )
    columns, formats = {}, {}
    for key, spec in raw.items():
        if key not in ("offeredAt", "decidedAt") and isinstance(spec, dict):
            raise MappingError(f"{where}: [outcomes] {key} must name a column.")
        columns[key], fmt = _column_and_format(where, "[outcomes]", key, spec)
        if fmt != "iso8601":
            formats[key] = fmt
    return OutcomesSource(columns, formats)


def default_mapping(delimiter: str = ",") -> Mapping:
    """The seed notebook's columns, each onto its property: today's input format."""
    return Mapping(
        {c.prop: Source(column=c.header, trim=False, required=c.required) for c in COLUMNS},
        delimiter=delimiter,
        check_vocabularies=True,
    )


def load_mapping(path: str | Path) -> Mapping:
    """Read and check a mapping file; every problem is one line naming it (exit 3, nothing written)."""
    path = Path(path)
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MappingError(f"{where}: no such mapping file.") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise MappingError(f"{where}: cannot read the mapping ({e}).") from None
    except RecursionError:
        raise MappingError(f"{where}: cannot read the mapping (nested too deeply).") from None
    known = {"delimiter", "check_vocabularies", "regulations", "columns", "extra", "currency", "hierarchy", "outcomes"}
    known |= set(OWNERS)
    unknown = set(data) - known
    if unknown:
        raise MappingError(
            f"{where}: unknown keys {sorted(unknown)}; a mapping has delimiter, check_vocabularies, "
            "regulations, [columns], [extra.<Label>], [currency], [customers], [products], [hierarchy] and [outcomes]."
        )
    regulations = data.get("regulations", "accumulate")
    if regulations not in REGULATIONS:
        raise MappingError(f'{where}: regulations must be "accumulate" or "latest", not {regulations!r}.')
    columns = _columns(where, data.get("columns"), "[columns]", set(BY_PROP))
    missing = [p for p in ALWAYS_REQUIRED if p not in columns]
    if missing:
        raise MappingError(f"{where}: [columns] must map {', '.join(missing)} (every transaction needs them).")
    sides = {}
    for side, owner in OWNERS.items():
        if side in data:
            sides[side] = _side(where, path.parent, side, owner, data[side])
    delimiter = data.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise MappingError(f"{where}: delimiter must be one character, not {delimiter!r}.")
    raw = data.get("extra", {})
    if not isinstance(raw, dict) or set(raw) - set(LABELS):
        raise MappingError(f"{where}: [extra] holds [extra.Customer], [extra.Product] and [extra.Transaction] only.")
    extras, names = {}, []
    for label, table in raw.items():
        for prop, source in _extras(where, table, f"[extra.{label}]").items():
            if source.model and label == "Transaction":
                raise MappingError(
                    f"{where}: [extra.Transaction]: {prop}: model = true is for customer and product properties."
                )
            extras[prop] = (label, source)
            names.append(prop)
    names += [prop for side in sides.values() for prop in side.extras]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise MappingError(f"{where}: extra properties named twice: {', '.join(twice)}.")
    reporting, rates = _currency(where, data.get("currency"))
    vocabularies = bool(data.get("check_vocabularies", False))
    hierarchy = _hierarchy(where, path.parent, data["hierarchy"]) if "hierarchy" in data else None
    outcomes = _outcomes(where, data["outcomes"]) if "outcomes" in data else None
    return Mapping(
        columns, delimiter, vocabularies, sides, where, extras, reporting, rates, regulations, hierarchy, outcomes
    )


def _currency(where: str, raw: object) -> tuple[str | None, dict[str, float]]:
    """``[currency] reporting = "USD"`` and ``rates = { EUR = 1.08, ... }`` (reporting units per unit)."""
    if raw is None:
        return None, {}
    if not isinstance(raw, dict) or set(raw) != {"reporting", "rates"} or not isinstance(raw["rates"], dict):
        raise MappingError(f'{where}: [currency] needs reporting = "<currency>" and rates = {{ EUR = 1.08, ... }}.')
    reporting = raw["reporting"]
    if not isinstance(reporting, str) or not reporting.strip():
        raise MappingError(f'{where}: [currency] reporting must name a currency, such as "USD".')
    rates = {}
    for currency, rate in raw["rates"].items():
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate <= 0:
            raise MappingError(f"{where}: [currency] rate of {currency} must be a positive number, not {rate!r}.")
        rates[currency.strip()] = float(rate)
    rates[reporting.strip()] = 1.0
    return reporting.strip(), rates


def _extras(where: str, raw: object, section: str) -> dict[str, Source]:
    """Extra properties beyond the graph model's: stored on the node; a feature of the model too
    where marked ``model = true``."""
    if not isinstance(raw, dict):
        raise MappingError(f"{where}: {section} must be a table of property = source column.")
    out = {}
    for prop, spec in raw.items():
        if not EXTRA_NAME.fullmatch(prop) or prop in BY_PROP or prop in RESERVED:
            raise MappingError(
                f"{where}: {section}: {prop!r} cannot be an extra property name (a letter, then letters, digits "
                "or _, at most 64; not a property of the graph model)."
            )
        kind = spec.get("type", "text") if isinstance(spec, dict) else "text"
        if kind not in EXTRA_TYPES:
            raise MappingError(f"{where}: {section}: {prop}: type must be one of {', '.join(EXTRA_TYPES)}.")
        out[prop] = _source(where, prop, spec, EXTRA_TYPES[kind])
        if out[prop].model and kind == "date":
            raise MappingError(f"{where}: {section}: {prop}: model = true takes a text, float or int property.")
    return out


def _columns(where: str, raw: object, section: str, allowed: set[str]) -> dict[str, Source]:
    if not isinstance(raw, dict) or not raw:
        raise MappingError(f"{where}: {section} must be a table of property = source column.")
    out = {}
    for prop, spec in raw.items():
        if prop not in allowed:
            raise MappingError(
                f"{where}: {section} names {prop!r}, which is not a property here "
                f"(properties: {', '.join(sorted(allowed))})."
            )
        out[prop] = _source(where, prop, spec, BY_PROP[prop].kind)
        if isinstance(spec, dict) and "type" in spec:
            raise MappingError(f"{where}: {prop}: type applies to extra properties only (the graph model's are typed).")
        if isinstance(spec, dict) and "model" in spec:
            raise MappingError(f"{where}: {prop}: model applies to extra properties (the graph model's are in it).")
    return out


def _source(where: str, prop: str, spec: object, kind: str) -> Source:
    if isinstance(spec, str):
        spec = {"column": spec}
    if not isinstance(spec, dict):
        raise MappingError(f'{where}: {prop} must be a column name or a table such as {{ column = "..." }}.')
    unknown = set(spec) - SOURCE_KEYS
    if unknown:
        raise MappingError(
            f"{where}: {prop} has unknown keys {sorted(unknown)} (allowed: {', '.join(sorted(SOURCE_KEYS))})."
        )
    if ("column" in spec) == ("constant" in spec):
        raise MappingError(f"{where}: {prop} needs exactly one of column or constant.")
    fmt = spec.get("format")
    if fmt is not None:
        if kind != "date":
            raise MappingError(f"{where}: {prop} is not a date: format applies to dates only.")
        if fmt not in DATE_FORMATS and "%" not in str(fmt):
            raise MappingError(
                f"{where}: {prop}: date format {fmt!r} is not iso8601, epoch-seconds, "
                'epoch-milliseconds or a strftime pattern such as "%d/%m/%Y".'
            )
    if not isinstance(spec.get("model", False), bool):
        raise MappingError(f"{where}: {prop}: model must be true or false.")
    if spec.get("case") not in (None, "upper", "lower"):
        raise MappingError(f'{where}: {prop}: case must be "upper" or "lower".')
    if spec.get("take", "first") not in ("first", "all"):
        raise MappingError(f'{where}: {prop}: take must be "first" or "all".')
    if spec.get("take") == "all" and prop != "regulation" and "split" in spec:
        raise MappingError(f'{where}: {prop} holds one value: take = "all" is for regulation only.')
    return Source(
        column=str(spec["column"]) if "column" in spec else None,
        constant=str(spec["constant"]) if "constant" in spec else None,
        format=fmt,
        trim=bool(spec.get("trim", True)),
        case=spec.get("case"),
        split=spec.get("split"),
        take=spec.get("take", "first"),
        required=bool(spec.get("required", False)),
        type=str(spec.get("type", "text")),
        model=spec.get("model", False),
    )


def _side(where: str, folder: Path, side: str, owner: str, raw: object) -> Side:
    if not isinstance(raw, dict) or not isinstance(raw.get("file"), str) or not isinstance(raw.get("key"), str):
        raise MappingError(f'{where}: [{side}] needs file = "..." and key = "<its id column>".')
    unknown = set(raw) - {"file", "key", "columns", "delimiter", "extra"}
    if unknown:
        raise MappingError(f"{where}: [{side}] has unknown keys {sorted(unknown)}.")
    allowed = {c.prop for c in COLUMNS if c.owner == owner and c.kind != "id"}
    file = Path(raw["file"]) if Path(raw["file"]).is_absolute() else folder / raw["file"]
    return Side(
        file,
        raw["key"],
        _columns(where, raw.get("columns"), f"[{side}.columns]", allowed)
        if "columns" in raw or "extra" not in raw
        else {},
        str(raw.get("delimiter", ",")),
        _extras(where, raw.get("extra", {}), f"[{side}.extra]"),
    )


class Mapped:
    """A file read through a mapping, a chunk at a time, in the default input format.

    Each chunk holds the columns of :data:`.columns.HEADERS` as text, row for row with
    the file's line numbers, so the one validator serves every extract alike. The default
    mapping reads the file as it is; any other builds every row's fields from its sources
    and joins the customers and products files (read once, whole: master data is small
    beside the transactions). A source column the file lacks is one line, before any row.
    """

    def __init__(self, mapping: Mapping, path: Path, encoding: str = DEFAULT_ENCODING, chunk_rows: int = CHUNK_ROWS):
        self.mapping = mapping
        self.path = Path(path)
        self.reader = Reader(self.path, encoding, mapping.delimiter, chunk_rows)
        self.joined: dict[str, tuple[str, dict[str, pd.Series]]] = {}  # side -> (id header, prop -> values by id)
        if mapping.is_default:
            check_header(self.path, self.reader.header)
            return
        for source in [*mapping.columns.values(), *(source for _, source in mapping.extras.values())]:
            _require_column(mapping.name, self.path, source, self.reader.header)
        ids = {"customers": "Customer ID", "products": "Product ID"}
        for side_name, side in mapping.sides.items():
            attributes, _ = read_table(side.file, encoding, side.delimiter)
            if side.key not in attributes:
                raise MappingError(f"{mapping.name}: {side.file} has no column {side.key!r} to join on.")
            attributes = attributes.drop_duplicates(side.key, keep="last").set_index(side.key)
            values = {}
            for prop, source in {**side.columns, **side.extras}.items():
                _require_column(mapping.name, side.file, source, list(attributes.columns))
                values[prop] = pd.Series(_shape(source, attributes), index=attributes.index)
            self.joined[side_name] = (ids[side_name], values)

    @property
    def side_props(self) -> set[str]:
        """The properties a side file supplies: customer or product attributes, not the transaction's."""
        return {prop for _, values in self.joined.values() for prop in values}

    def __iter__(self) -> Iterator[Chunk]:
        for chunk in self.reader:
            if self.mapping.is_default:
                yield Chunk(chunk.frame[list(HEADERS)], chunk.lines, chunk.ragged)
                continue
            out = pd.DataFrame(
                {header: self._values(BY_HEADER[header].prop, chunk.frame) for header in HEADERS}, dtype=object
            )
            for column in self.mapping.extra_columns:
                source = self.mapping.extras.get(column.prop, (None, None))[1]
                out[column.header] = _shape(source, chunk.frame) if source else np.full(len(chunk), "", dtype=object)
            headers = {c.prop: c.header for c in (*COLUMNS, *self.mapping.extra_columns)}
            for id_header, values in self.joined.values():
                keys = out[id_header]
                for prop, by_id in values.items():
                    joined = keys.map(by_id)
                    header = headers[prop]
                    out[header] = joined.where(joined.notna(), out[header]).astype(object)
            yield Chunk(out, chunk.lines, chunk.ragged)

    def _values(self, prop: str, frame: pd.DataFrame) -> np.ndarray:
        source = self.mapping.columns.get(prop)
        if source is None:
            return np.full(len(frame), "", dtype=object)
        return _shape(source, frame)


def _require_column(name: str, path: Path, source: Source, columns: list[str]) -> None:
    if source.column is not None and source.column not in columns:
        raise MappingError(
            f"{name}: {path} has no column {source.column!r} (its columns: {', '.join(map(str, columns))})."
        )


def _shape(source: Source, frame: pd.DataFrame) -> np.ndarray:
    """One source's text for every row: the column (or constant), transformed, dates as ISO 8601."""
    if source.constant is not None:
        return np.full(len(frame), source.constant, dtype=object)
    text = frame[source.column].astype(object).fillna("").astype(str)
    if source.trim:
        text = text.str.strip()
    if source.case:
        text = text.str.upper() if source.case == "upper" else text.str.lower()
    if source.split:
        parts = text.str.split(source.split, regex=False)
        text = parts.str[0] if source.take == "first" else parts.str.join(";")
        text = text.fillna("").str.strip()
    if source.format and source.format != "iso8601":
        text = _dates(text, source.format)
    return text.to_numpy(dtype=object)


def _dates(text: pd.Series, fmt: str) -> pd.Series:
    """Dates in ``fmt`` as ISO 8601 text; what does not parse stays as it was, for the validator to reject."""
    present = text != ""
    if fmt.startswith("epoch-"):
        numbers = pd.to_numeric(text.where(present), errors="coerce")
        parsed = pd.to_datetime(numbers, unit="s" if fmt == "epoch-seconds" else "ms", utc=True, errors="coerce")
    else:
        parsed = pd.to_datetime(text.where(present), format=fmt, utc=True, errors="coerce")
    iso = parsed.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return iso.where(parsed.notna(), text).astype(object)


def init_mapping(path: str | Path, sample: int = 1_000, encoding: str = DEFAULT_ENCODING, delimiter: str = ",") -> str:
    """A starting mapping for a file, from its header and a sample of its rows, for the user to edit.

    Columns whose names look like a property's are mapped to it (ids, date, amount...); a
    date column holding whole numbers is guessed to be epoch seconds or milliseconds. Every
    other column is listed as a comment, so nothing is mapped by accident.
    """
    frame, _ = read_table(Path(path), encoding, delimiter, limit=sample)
    guesses = {}
    for column in frame.columns:
        prop = _guess(column)
        if prop and prop not in guesses:
            guesses[prop] = column
    lines = [
        f"# wbgraph mapping for {Path(path).name}: graph property = source column. Edit, then",
        f"#   wbgraph ingest {Path(path).name} --mapping <this file>",
        f'delimiter = "{delimiter}"',
        "",
        "[columns]",
    ]
    for prop in [c.prop for c in COLUMNS]:
        if prop in guesses:
            column = guesses[prop]
            extra = _date_format(frame[column]) if BY_PROP[prop].kind == "date" else ""
            lines.append(f'{prop} = {{ column = "{column}"{extra} }}')
        elif prop in ALWAYS_REQUIRED:
            lines.append(f'# {prop} = "..."   # required: name the column that holds it')
    unused = [c for c in frame.columns if c not in guesses.values()]
    if unused:
        lines += [
            "",
            "# Columns not mapped: map them to a property above, keep them as extra properties",
            "# (uncomment, choose the label; type = text, float, int or date; model = true makes a",
            "# customer's or product's one a feature of the model too), or leave them out:",
            "# [extra.Customer]",
        ]
        lines += [f'# {_extra_name(c)} = {{ column = {_quoted(c)}, type = "text" }}' for c in unused]
    return "\n".join(lines) + "\n"


NAMES = {  # lower-case words that suggest a property
    "customerId": ("customerid", "customer", "client", "clientid", "userid", "user", "cif", "counterparty"),
    "productId": ("productid", "product", "item", "itemid", "movieid", "sku", "productcode"),
    "transactionId": ("transactionid", "txnid", "tradeid", "paymentid"),
    "date": ("date", "transactiondate", "timestamp", "time", "valuedate", "bookingdate", "tradedate"),
    "amount": ("amount", "transactionamount", "value", "notional", "rating", "quantity"),
    "currency": ("currency", "ccy", "transactioncurrency"),
    "customerType": ("customertype", "segment", "clienttype"),
    "industry": ("industry", "sector"),
    "location": ("location", "country", "region"),
    "productType": ("producttype", "genres", "genre"),
    "category": ("productcategory", "category"),
}


def _extra_name(column: str) -> str:
    """A property name from a column header: ``Booking Channel`` -> ``bookingChannel``."""
    words = re.findall(r"[A-Za-z0-9]+", column) or ["column"]
    name = words[0].lower() + "".join(w[:1].upper() + w[1:].lower() for w in words[1:])
    return name if name[:1].isalpha() else "c" + name


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _guess(column: str) -> str | None:
    key = "".join(ch for ch in column.lower() if ch.isalnum())
    for prop, words in NAMES.items():
        if key in words:
            return prop
    return None


def _date_format(values: pd.Series) -> str:
    numbers = pd.to_numeric(values, errors="coerce")
    if len(values) and numbers.notna().all():
        return ', format = "epoch-milliseconds"' if numbers.median() > 1e11 else ', format = "epoch-seconds"'
    return ""
