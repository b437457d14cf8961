"""Checking an input file before anything touches the graph, a chunk at a time.

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

The file is read in chunks (:data:`.read.CHUNK_ROWS` rows), so memory is bounded by the
chunk and by the number of customers and products, never by the number of rows: a
:class:`Scan` keeps across chunks only what the whole-file rules need. Which row of a
customer or product is its latest (its attributes win) and whether its rows disagree, per
entity (:class:`Entities`); which rows repeat an earlier row (16 bytes a row); which
customer-product pairs occur. A chunk boundary changes nothing: a row in chunk 9 identical
to a row in chunk 1 is a duplicate, and the rule that the latest row's attributes win is
decided over the whole file. Writing reads the file a second time (:meth:`Scan.rows`);
``strict`` needs the winners before it can flag the rows that lose, so it reads it once more.
"""

from __future__ import annotations

import gc
import hashlib
import os
import tempfile
import weakref
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .columns import COLUMNS, HEADERS, MAX_ID_LENGTH, Column
from .mapping import Mapped, Mapping, default_mapping
from .read import CHUNK_ROWS, DEFAULT_ENCODING, Chunk

STRING = np.dtypes.StringDType()
OWNER_KEYS = {"Customer": "customerId", "Product": "productId"}


@dataclass
class Validated:
    """The outcome of checking one file, held in memory: for notebooks, tests and small files.

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
    path: str | Path,
    encoding: str = DEFAULT_ENCODING,
    strict: bool = False,
    mapping: Mapping | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> Validated:
    """Read ``path`` (through ``mapping``; default: the default columns) and split its rows into valid
    (typed) rows and rejects with reasons, all held in memory."""
    rejects: list[pd.DataFrame] = []
    scan = Scan.of(path, encoding, strict, mapping, chunk_rows, rejects.append)
    rows = [chunk.drop(columns=["first"]) for chunk in scan.rows()]
    scan.close()
    return Validated(
        scan.path,
        pd.concat(rows, ignore_index=True) if rows else _empty_rows(scan.columns),
        pd.concat(rejects, ignore_index=True) if rejects else _empty_rejects(),
        scan.read,
        scan.warnings,
        scan.conflicts,
    )


REPORTING = (  # with a mapping's [currency] rates: the money of each transaction in the reporting currency
    Column("", "amountReporting", "Transaction", "float"),
    Column("", "valueReporting", "Transaction", "float"),
)


class Entities:
    """The customers (or products) of a file: for each, its latest valid row and whether its rows disagree.

    An entity's attributes are those of its row with the latest date (the later line on a
    tie), in the file as in the graph. Kept per entity, never per row: the winning row's
    date and line, a hash of its attributes, and whether another row's attributes differ.
    Entities are numbered in order of appearance (their *code*).
    """

    def __init__(self, owner: str, attributes: list[str]):
        self.owner = owner
        self.key = OWNER_KEYS[owner]
        self.attributes = attributes
        self.codes: dict[str, int] = {}
        self.ids: list[str] = []
        self.date = np.zeros(0, dtype="int64")
        self.line = np.zeros(0, dtype="int64")
        self.signature = np.zeros(0, dtype="uint64")
        self.conflict = np.zeros(0, dtype=bool)
        self._index: pd.Index | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def conflicts(self) -> int:
        """How many entities have rows whose attributes differ."""
        return int(self.conflict.sum())

    def add(self, rows: pd.DataFrame) -> np.ndarray:
        """Take the valid rows of one chunk into account; return each row's entity code."""
        local, uniques = pd.factorize(rows[self.key])
        known = len(self.ids)
        codes = np.fromiter((self.codes.setdefault(u, len(self.codes)) for u in uniques), "int64", len(uniques))
        self.ids.extend(uniques[codes >= known])
        self._grow(len(self.codes))
        if not len(rows):
            return codes[local]
        date, line, signature = _us(rows["date"]), rows["line"].to_numpy(), _signature(rows, self.attributes)
        order = np.lexsort((line, date))  # by date, then line: the latest last
        position = np.full(len(uniques), -1, dtype="int64")
        np.maximum.at(position, local[order], np.arange(len(order)))
        last = order[position]  # each entity's latest row in the chunk
        some = np.zeros(len(uniques), dtype="uint64")
        some[local] = signature  # one of each entity's signatures
        differs = np.bincount(local[signature != some[local]], minlength=len(uniques)) > 0

        old = codes < known
        c = codes[old]
        self.conflict[codes[~old]] = differs[~old]
        self.conflict[c] |= differs[old] | (signature[last[old]] != self.signature[c])
        later = ~old
        d, n = date[last[old]], line[last[old]]
        later[old] = (d > self.date[c]) | ((d == self.date[c]) & (n > self.line[c]))
        winners = codes[later]
        self.date[winners] = date[last[later]]
        self.line[winners] = line[last[later]]
        self.signature[winners] = signature[last[later]]
        return codes[local]

    def _grow(self, n: int) -> None:
        if n <= len(self.date):
            return
        size = max(n, 2 * len(self.date), 1024)
        for name in ("date", "line", "signature", "conflict"):
            old = getattr(self, name)
            grown = np.zeros(size, dtype=old.dtype)
            grown[: len(old)] = old
            setattr(self, name, grown)

    def lookup(self, ids: pd.Series) -> np.ndarray:
        """The codes of known ids (after the scan: a read-only index replaces the dictionary)."""
        if self._index is None:
            self._index = pd.Index(self.ids, dtype=object)
            self.codes = {}
        return self._index.get_indexer(ids)

    def is_latest(self, rows: pd.DataFrame, codes: np.ndarray) -> np.ndarray:
        """Which rows are their entity's latest: where its attributes come from."""
        return (_us(rows["date"]) == self.date[codes]) & (rows["line"].to_numpy() == self.line[codes])

    def loses(self, rows: pd.DataFrame, codes: np.ndarray) -> np.ndarray:
        """Which rows have attributes other than their entity's latest row."""
        return _signature(rows, self.attributes) != self.signature[codes]


def _us(dates: pd.Series) -> np.ndarray:
    """UTC instants as int64 microseconds (whatever unit pandas chose; years 1 to 9999 fit)."""
    return dates.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[us]").view("int64")


def _signature(rows: pd.DataFrame, attributes: list[str]) -> np.ndarray:
    """A hash of each row's ``attributes``: equal attributes, equal hash."""
    return pd.util.hash_pandas_object(rows[attributes], index=False).to_numpy()


class Scan:
    """One file checked a chunk at a time; what the whole-file rules need, kept between reads.

    :meth:`of` reads the file once (twice with ``strict``): counts, warnings, rejects (handed
    to ``on_rejects`` a chunk at a time, in file order), the entities, which valid rows are
    the first of their transaction key (``first``), and the distinct customer-product pairs
    (``pairs``, as entity codes). :meth:`rows` then reads it again and yields the valid
    rows chunk by chunk, each with its ``first`` flag, for a writer. Both reads see the same
    rows: validation is a pure function of the file.
    """

    def __init__(
        self,
        path: str | Path,
        encoding: str = DEFAULT_ENCODING,
        strict: bool = False,
        mapping: Mapping | None = None,
        chunk_rows: int = CHUNK_ROWS,
    ):
        self.path = Path(path)
        self.strict = strict
        self.mapping = mapping or default_mapping()
        self.mapped = Mapped(self.mapping, self.path, encoding, chunk_rows)  # header and mapping problems: now
        # a transaction is identified by its own row's typed values, not by attributes joined from side files
        self.read_columns = (*COLUMNS, *self.mapping.extra_columns)  # the graph model's, then the mapping's extras
        self.derived = REPORTING if self.mapping.reporting else ()  # money in the reporting currency
        self.columns = (*self.read_columns, *self.derived)
        self.key_props = [c.prop for c in self.read_columns if c.prop not in self.mapped.side_props]
        self.read = 0
        self.rejected = 0
        self.valid = 0
        self.unique = 0
        self.warnings: Counter = Counter()
        self.entities = {owner: Entities(owner, self.attributes(owner)) for owner in OWNER_KEYS}  # valid rows
        self.judges: dict[str, Entities] | None = None  # with strict: over rows without hard errors
        self.first = np.zeros(0, dtype=bool)
        self.pairs = np.zeros(0, dtype="int64")
        self.spool = Spool(self.columns)

    def attributes(self, owner: str) -> list[str]:
        """The properties of a Customer, Product or Transaction (but its ids), extras included."""
        return [c.prop for c in self.columns if c.owner == owner and c.kind != "id"]

    @property
    def transaction_props(self) -> list[str]:
        """What a Transaction node holds besides its key and date."""
        return [p for p in self.attributes("Transaction") if p != "date"] + ["transactionId"]

    @property
    def kinds(self) -> dict[str, str]:
        """Each property's kind (id, category, int, float, date)."""
        return {c.prop: c.kind for c in self.columns}

    @classmethod
    def of(
        cls,
        path: str | Path,
        encoding: str = DEFAULT_ENCODING,
        strict: bool = False,
        mapping: Mapping | None = None,
        chunk_rows: int = CHUNK_ROWS,
        on_rejects: Callable[[pd.DataFrame], None] | None = None,
    ) -> Scan:
        """Check a whole file: every count, warning and reject, and the state :meth:`rows` needs."""
        with _gc_paused():
            scan = cls(path, encoding, strict, mapping, chunk_rows)
            if strict:  # the winners first, so that the rows that lose can be rejected
                scan.judges = {owner: Entities(owner, scan.attributes(owner)) for owner in OWNER_KEYS}
                for chunk in scan.mapped:
                    rows, reasons, _, _ = scan._typed(chunk, vocabularies=False)
                    sound = rows[~_mask(reasons, len(rows))]
                    for entities in scan.judges.values():
                        entities.add(sound)
                    del rows, sound, chunk
                    gc.collect(0)
            scan._first_read(on_rejects)
        return scan

    @property
    def conflicts(self) -> dict[str, int]:
        """Entities whose rows disagree on their attributes (the latest row wins), by owner."""
        return {owner: e.conflicts for owner, e in (self.judges or self.entities).items()}

    @property
    def duplicates(self) -> int:
        return self.valid - self.unique

    def _first_read(self, on_rejects: Callable[[pd.DataFrame], None] | None) -> None:
        digests, pairs = [], []
        with Spool(self.columns) as spool, ThreadPoolExecutor(1) as checker:
            for read, rows, rejects, warnings, digest in self._checked_chunks(checker):
                self.read += read
                self.rejected += len(rejects)
                self.valid += len(rows)
                self.warnings += warnings
                if len(rejects) and on_rejects:
                    on_rejects(rejects)
                customer = self.entities["Customer"].add(rows)
                product = self.entities["Product"].add(rows)
                pairs.append(np.unique((customer << 32) | product))
                if len(pairs) == 32:  # as many as there are distinct pairs, however long the file
                    pairs = [np.unique(np.concatenate(pairs))]
                digests.append(digest)
                spool.write(rows)
                del rows, rejects
                gc.collect(0)  # the collector is paused for speed: the chunk's cycles (all young) go here
        self.spool = spool
        self.first = first_occurrences(digests)
        self.unique = int(self.first.sum())
        self.pairs = np.unique(np.concatenate(pairs)) if pairs else np.zeros(0, dtype="int64")
        if not self.strict:
            for owner, count in self.conflicts.items():
                if count:
                    self.warnings[f"{owner}s with conflicting attributes (latest row wins)"] = count

    def _checked_chunks(self, checker: ThreadPoolExecutor) -> Iterator[tuple]:
        """``(rows read, valid rows with their keys, rejects, warnings, digests)`` of each chunk, in file order.

        A pipeline: the checker thread types and keys the next chunk while the caller takes
        in the previous one and the next is read (Arrow's parsing, pyarrow's compute and
        hashing release the interpreter's lock): about a fifth less time on two cores, for
        one more chunk in memory. Checking reads only what the first read does not change.
        """
        pending: deque = deque()
        chunks = iter(self.mapped)
        while True:
            while len(pending) < 2:
                chunk = next(chunks, None)
                if chunk is None:
                    break
                pending.append(checker.submit(self._check_and_key, chunk))
            if not pending:
                return
            yield pending.popleft().result()

    def _check_and_key(self, chunk: Chunk) -> tuple:
        rows, rejects, warnings = self._check(chunk)
        digest, rows["transactionKey"] = _digests(rows, self.key_props)
        return len(chunk), rows, rejects, warnings, digest

    def rows(self, at_least: int = 0) -> Iterator[pd.DataFrame]:
        """The valid rows again, chunk by chunk, with ``transactionKey`` and ``first`` (from the spool).

        ``at_least``: join the spooled chunks into frames of at least this many rows (fewer,
        larger frames where per-frame costs dominate, as in the bulk importer's files).
        """
        done = 0
        for rows in self.spool.read(at_least):
            rows["first"] = self.first[done : done + len(rows)]
            done += len(rows)
            yield rows

    def close(self) -> None:
        """Remove the spool (also done when the scan is garbage-collected)."""
        self.spool.remove()

    def latest(self, rows: pd.DataFrame, owner: str) -> np.ndarray:
        """Which of these valid rows are their customer's (or product's) latest: its attributes."""
        entities = self.entities[owner]
        return entities.is_latest(rows, entities.lookup(rows[entities.key]))

    def pair_ids(self) -> pd.DataFrame:
        """The file's distinct customer-product pairs, as ``customerId``, ``productId``."""
        customers = np.asarray(self.entities["Customer"].ids, dtype=object)
        products = np.asarray(self.entities["Product"].ids, dtype=object)
        return pd.DataFrame({"customerId": customers[self.pairs >> 32], "productId": products[self.pairs & 0xFFFFFFFF]})

    def _check(self, chunk: Chunk) -> tuple[pd.DataFrame, pd.DataFrame, Counter]:
        """One chunk: its valid typed rows, its rejects (as in the file, with line and reasons), warnings."""
        rows, reasons, soft, warnings = self._typed(chunk, vocabularies=self.mapping.check_vocabularies)
        hard = _mask(reasons, len(rows))
        if self.strict:
            for owner, judges in self.judges.items():
                sound = np.flatnonzero(~hard)
                part = rows.iloc[sound]
                loses = judges.loses(part, judges.lookup(part[judges.key]))
                for i in sound[loses]:
                    soft[i].append(f"{owner} {_show(rows.at[i, judges.key])} has other attributes on a later row")
            bad = hard | _mask(soft, len(rows))
            warnings = Counter()
        else:
            bad = hard
        rejects = chunk.frame[bad].copy()
        rejects.insert(
            0,
            "reason",
            ["; ".join(reasons.get(i, []) + (soft.get(i, []) if self.strict else [])) for i in np.flatnonzero(bad)],
        )
        rejects.insert(0, "lineNumber", chunk.lines[bad])
        return rows[~bad].reset_index(drop=True), rejects.reset_index(drop=True), warnings

    def _typed(self, chunk: Chunk, vocabularies: bool) -> tuple[pd.DataFrame, dict, dict, Counter]:
        """Every row of a chunk typed, with its hard and soft problems by position."""
        reasons = defaultdict(list)  # row position -> hard problems; only bad rows get an entry
        width = len(self.mapped.reader.header)
        for i, found in chunk.ragged.items():
            reasons[i].append(f"expected {width} fields, found {found}")
        soft = defaultdict(list)
        warnings: Counter = Counter()
        required = self.mapping.required
        typed = {
            c.prop: _convert(c, chunk.frame[c.header], reasons, soft, warnings, c.prop in required, vocabularies)
            for c in self.read_columns
        }
        rows = pd.DataFrame(typed)
        if self.derived:
            rate = rows["currency"].map(self.mapping.rates).astype("float64")
            rows["amountReporting"] = rows["amount"] * rate
            rows["valueReporting"] = rows["value"] * rate
            unconverted = int((rate.isna() & (rows["amount"].notna() | rows["value"].notna())).sum())
            if unconverted:
                warnings[f"rows whose currency has no rate to {self.mapping.reporting} (money not converted)"] += (
                    unconverted
                )
        rows["line"] = chunk.lines
        return rows, reasons, soft, warnings


def first_occurrences(digests: list[np.ndarray]) -> np.ndarray:
    """Which rows are the first with their 16-byte key, the arrays' rows taken in order.

    Sorted by the keys' first 8 bytes only (a stable sort keeps file order among equals);
    the rare rows that share those with another are then told apart by all 16. About 40
    bytes a row at the peak, for the moment it takes.
    """
    keys = np.concatenate(digests) if digests else np.zeros(0, dtype="S16")
    digests.clear()
    words = keys.view(np.uint64).reshape(-1, 2)
    order = np.argsort(words[:, 0], kind="stable")
    high = words[order, 0]
    same = np.zeros(len(keys), dtype=bool)
    same[1:] = high[1:] == high[:-1]
    del high
    first = np.ones(len(keys), dtype=bool)
    shared = same.copy()
    shared[:-1] |= same[1:]  # every member of a group sharing the first 8 bytes
    if shared.any():
        members = order[shared]  # in file order within each group
        low, high = words[members, 1], words[members, 0]
        regroup = np.lexsort((members, low, high))
        by = members[regroup]
        repeat = np.zeros(len(by), dtype=bool)
        repeat[1:] = (high[regroup][1:] == high[regroup][:-1]) & (low[regroup][1:] == low[regroup][:-1])
        first[by[repeat]] = False
    return first


def _digests(rows: pd.DataFrame, props: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's transaction key, from its typed values: 16-byte digests and their hex text.

    Each value is written with its length (``5:hello``; missing: ``-``), so no two different
    rows encode alike whatever their text holds; typed (numbers as numbers, dates as
    instants), so the same row from a CSV and from a Parquet file has the same key.
    """
    if not len(rows):
        return np.zeros(0, dtype="S16"), np.zeros(0, dtype=object)
    try:
        fields = []
        for prop in props:
            values = rows[prop]
            if isinstance(values.dtype, pd.DatetimeTZDtype):
                text = pa.array(_us(values), mask=values.isna().to_numpy()).cast(pa.string())
            elif values.dtype == "float64":
                text = pa.array(values.to_numpy(), from_pandas=True).cast(pa.string())
            else:
                text = pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
            fields.append(pc.binary_join_element_wise(pc.utf8_length(text).cast(pa.string()), text, ":"))
        joined = pc.binary_join_element_wise(*fields, "", null_handling="replace", null_replacement="-")
    except (pa.ArrowException, UnicodeError):  # text pyarrow cannot hold (lone surrogates): the slow way
        return _digests_slowly(rows, props)
    offsets = np.frombuffer(joined.buffers()[1], dtype="int32")[joined.offset : joined.offset + len(joined) + 1]
    data = memoryview(joined.buffers()[2] or b"")
    blake2b = hashlib.blake2b
    digests = [blake2b(data[a:b], digest_size=16).digest() for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]
    return np.array(digests, dtype="S16"), np.array([d.hex() for d in digests], dtype=object)


def _digests_slowly(rows: pd.DataFrame, props: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_digests` value by value, in Python: the same keys."""
    columns = []
    for prop in props:
        values = rows[prop]
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            texts = [None if m else str(v) for v, m in zip(_us(values).tolist(), values.isna())]
        elif values.dtype == "float64":
            texts = pa.array(values.to_numpy(), from_pandas=True).cast(pa.string()).to_pylist()
        else:
            texts = [None if v is None else str(v) for v in values.to_numpy(dtype=object)]
        columns.append(texts)
    digests = [
        hashlib.blake2b(
            "".join("-" if t is None else f"{len(t)}:{t}" for t in values).encode("utf-8", "surrogatepass"),
            digest_size=16,
        ).digest()
        for values in zip(*columns)
    ]
    return np.array(digests, dtype="S16"), np.array([d.hex() for d in digests], dtype=object)


class Spool:
    """The valid typed rows of a file, kept on disk (compressed Arrow) between validating and writing.

    Writing reads the rows back from here rather than parsing and validating the file again;
    memory holds one chunk. The file lives in the temporary folder and is removed with the scan.
    """

    def __init__(self, columns: tuple[Column, ...] = COLUMNS) -> None:
        types = {"date": pa.timestamp("us", tz="UTC"), "float": pa.float64(), "int": pa.float64()}
        self.schema = pa.schema(
            [(c.prop, types.get(c.kind, pa.string())) for c in columns]
            + [("line", pa.int64()), ("transactionKey", pa.string())]
        )
        self.path: Path | None = None
        self._writer = None
        self._finalizer = None

    def __enter__(self) -> Spool:
        handle, name = tempfile.mkstemp(prefix="wbgraph-rows-", suffix=".arrow")
        os.close(handle)
        self.path = Path(name)
        self._finalizer = weakref.finalize(self, Path(name).unlink, missing_ok=True)
        options = pa.ipc.IpcWriteOptions(compression="lz4")
        self._writer = pa.ipc.new_file(str(self.path), self.schema, options=options)
        return self

    def write(self, rows: pd.DataFrame) -> None:
        self._writer.write_table(pa.Table.from_pandas(rows, schema=self.schema, preserve_index=False))

    def __exit__(self, kind, error, tb) -> None:
        self._writer.close()
        self._writer = None
        if kind is not None:
            self.remove()

    def read(self, at_least: int = 0) -> Iterator[pd.DataFrame]:
        """The rows back, a chunk (as written, or ``at_least`` rows) at a time; strings as objects, None if missing."""
        if self.path is None:
            return
        with pa.OSFile(str(self.path)) as source:  # not a memory map: its pages would count as resident memory
            reader = pa.ipc.open_file(source)
            pending: list[pa.RecordBatch] = []
            for i in range(reader.num_record_batches):
                pending.append(reader.get_batch(i))
                if sum(b.num_rows for b in pending) < at_least and i + 1 < reader.num_record_batches:
                    continue
                batch = pa.Table.from_batches(pending, schema=self.schema).combine_chunks()
                pending = []
                columns = {}
                for name, column in zip(batch.schema.names, batch.columns):
                    if pa.types.is_timestamp(column.type):
                        columns[name] = column.to_pandas()
                    elif pa.types.is_string(column.type):  # object, as validated: pandas would infer str
                        columns[name] = pd.Series(column.to_numpy(zero_copy_only=False), dtype=object)
                    else:
                        columns[name] = column.to_numpy(zero_copy_only=False)
                yield pd.DataFrame(columns)

    def remove(self) -> None:
        if self._finalizer is not None:
            self._finalizer()


def _empty_rows(columns: tuple[Column, ...]) -> pd.DataFrame:
    dtypes = {"date": "datetime64[us, UTC]", "float": "float64", "int": "float64"}
    frame = pd.DataFrame({c.prop: pd.Series([], dtype=dtypes.get(c.kind, object)) for c in columns})
    return frame.assign(line=pd.Series([], dtype="int64"), transactionKey=pd.Series([], dtype=object))


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame(columns=["lineNumber", "reason", *HEADERS])


def _mask(problems: dict, n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[[i for i, p in problems.items() if p]] = True
    return mask


def _convert(
    column: Column, values: pd.Series, reasons: dict, soft: dict, warnings: Counter, required: bool, vocabulary: bool
) -> pd.Series:
    """Typed values of one column; adds a reason per bad row (hard) or per soft problem.

    String work is done by pyarrow's compute functions on the column as one Arrow array
    (numpy's string functions where pyarrow cannot hold the text): several times faster than
    pandas' element-wise ``.str`` methods, and than numpy's on a million rows.
    """
    name = column.header
    try:
        text = pa.array(values, type=pa.string())  # no copy where the chunk's column is Arrow-backed already
        if isinstance(text, pa.ChunkedArray):
            text = text.combine_chunks()
        text = text.fill_null("")
    except (pa.ArrowException, UnicodeError):  # text pyarrow cannot hold (lone surrogates): numpy's strings
        text = None
    if text is None:
        strings = values.to_numpy(dtype=object).astype(STRING)
        stripped = np.strings.strip(strings).astype(object)
        empty = stripped == ""
        too_long = np.strings.str_len(strings) > MAX_ID_LENGTH
    else:
        stripped = pc.utf8_trim_whitespace(text)
        is_empty = pc.equal(stripped, "")
        empty = is_empty.to_numpy(zero_copy_only=False)
        too_long = pc.greater(pc.utf8_length(text), MAX_ID_LENGTH).to_numpy(zero_copy_only=False)
        if column.kind in ("int", "float"):  # numbers straight from Arrow: no Python string per value
            stripped = pc.if_else(is_empty, pa.scalar(None, pa.string()), stripped)
        else:
            stripped = stripped.to_numpy(zero_copy_only=False)
    if required:
        for i in np.flatnonzero(empty):
            reasons[i].append(f"missing {name}")

    if column.kind == "id":
        for i in np.flatnonzero(too_long):
            reasons[i].append(f"{name} longer than {MAX_ID_LENGTH} characters")
        return pd.Series(np.where(empty, None, values.to_numpy(dtype=object)), dtype=object)  # IDs kept as given

    if column.kind in ("int", "float"):
        return _number_column(column, stripped, empty, values, reasons)
    plain = stripped
    plain[empty] = None
    if column.kind == "category":
        if vocabulary and column.vocabulary:
            outside = ~empty & ~pd.Series(plain, dtype=object).isin(column.vocabulary).to_numpy()
            for i in np.flatnonzero(outside):
                soft[i].append(f"{name} {_show(plain[i])} is not a documented value")
            if outside.any():
                warnings[f"{name} outside the documented vocabulary"] += int(outside.sum())
        return pd.Series(plain, dtype=object)

    if column.kind == "date":
        parsed = pd.to_datetime(pd.Series(plain, dtype=object), format="ISO8601", utc=True, errors="coerce")
        for i in np.flatnonzero(~empty & parsed.isna().to_numpy()):
            reasons[i].append(f"{name} {_show(values.iat[i])} is not an ISO 8601 date")
        return parsed.dt.floor("us")  # dates are kept to the microsecond (pandas writes nanoseconds)
    raise ValueError(f"unknown kind {column.kind!r}")


def _number_column(column: Column, stripped, empty: np.ndarray, values: pd.Series, reasons: dict) -> pd.Series:
    """A number column's float64 values (NaN where empty or bad), with a reason per bad row."""
    name = column.header
    arr = _numbers(stripped, empty)
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


def _numbers(stripped, empty: np.ndarray) -> np.ndarray:
    """Stripped text (an Arrow array with nulls where empty, or objects) as float64, NaN where not a number.

    pyarrow's parser first (fast); it accepts a subset of what pandas accepts, with the same
    values, so where it refuses a value pandas decides the column and the result is the same.
    """
    if isinstance(stripped, pa.Array):
        try:
            return pc.cast(stripped, pa.float64()).to_numpy(zero_copy_only=False)
        except pa.ArrowException:
            stripped = stripped.to_numpy(zero_copy_only=False)
    plain = np.where(empty, None, stripped)
    return pd.to_numeric(pd.Series(plain, dtype=object), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _show(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)
