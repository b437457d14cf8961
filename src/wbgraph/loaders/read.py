"""Reading an input file in chunks: its header, then its records a chunk at a time.

A file-level problem (empty file, wrong delimiter, missing / unknown / duplicated columns,
bytes that are not in the file's encoding, broken quoting, an unreadable Parquet file)
raises :class:`InputFileError` with one line naming it: nothing is loaded. Rows are checked
by :mod:`.validate`. Memory is bounded by the chunk, not the file: a 5-million-row file is
read as 250 chunks of 20,000 rows.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from ..errors import InputFileError
from .columns import HEADERS

DEFAULT_ENCODING = "utf-8-sig"  # UTF-8, with or without a byte-order mark
OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}
CHUNK_ROWS = 20_000
FAST_BLOCK = 8 << 20  # bytes the Arrow reader parses at a time


@dataclass
class Chunk:
    """Consecutive records of a file as text columns ('' where empty), with where each starts.

    The columns hold Python strings (``object``) or pandas' Arrow-backed ``str``: both read alike.

    ``lines``: the line each record starts on (a Parquet row's number, from 1);
    ``ragged``: position in the chunk -> the number of fields of a record whose width
    differs from the header's (it is padded or cut to the header's width here).
    """

    frame: pd.DataFrame
    lines: np.ndarray
    ragged: dict[int, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frame)


class Reader:
    """A file opened for reading in chunks: ``header`` at once, then ``for chunk in reader``.

    A ``.parquet`` file is read with pyarrow's batch reader, every value as text (empty where
    null); a ``.gz`` file is gunzipped on the fly; anything else is delimited text.
    """

    def __init__(
        self, path: Path, encoding: str = DEFAULT_ENCODING, delimiter: str = ",", chunk_rows: int = CHUNK_ROWS
    ):
        self.path = Path(path)
        self.encoding = encoding or DEFAULT_ENCODING
        self.delimiter = delimiter
        self.chunk_rows = max(1, int(chunk_rows))
        self.parquet = self.path.name.endswith(".parquet")
        self.header = self._parquet_header() if self.parquet else self._csv_header()

    def __iter__(self) -> Iterator[Chunk]:
        return self._parquet_chunks() if self.parquet else self._csv_chunks()

    # -- delimited text -------------------------------------------------------------------
    def _csv_header(self) -> list[str]:
        with self._errors():
            with _open(self.path, self.encoding) as f:
                header = next(csv.reader(f, strict=True, delimiter=self.delimiter), None)
        if header is None or not any(h.strip() for h in header):
            raise InputFileError(f"{self.path}: the file is empty (expected a header row).")
        return [h.strip() for h in header]

    def _csv_chunks(self) -> Iterator[Chunk]:
        if self._fast():
            yield from self._fast_chunks()
            return
        yield from self._python_chunks()

    def _python_chunks(self, start: int = 0, first_line: int = 1, carry: tuple = ([], [])) -> Iterator[Chunk]:
        """Python's csv module from byte ``start`` (a record's start on line ``first_line``; 0: the header).

        ``carry``: records already read (and their lines) that the first chunk begins with.
        """
        width = len(self.header)
        with self._errors(), _open(self.path, self.encoding, start) as f:
            reader = csv.reader(f, strict=True, delimiter=self.delimiter)
            self._reader = reader
            if start == 0:
                next(reader, None)
            records, lines, ragged = list(carry[0]), list(carry[1]), {}
            offset = first_line - 1
            self._line_offset = offset
            previous = reader.line_num + offset
            for record in reader:
                if record:  # a blank line is not a row
                    if len(record) != width:
                        ragged[len(records)] = len(record)
                        record = (record + [""] * width)[:width]
                    records.append(record)
                    lines.append(previous + 1)
                    if len(records) == self.chunk_rows:
                        yield self._chunk(records, lines, ragged)
                        records, lines, ragged = [], [], {}
                previous = reader.line_num + offset
            if records:
                yield self._chunk(records, lines, ragged)

    # -- delimited text, the fast path ----------------------------------------------------
    def _fast(self) -> bool:
        """Whether the Arrow reader may take the file: UTF-8, a one-byte delimiter, a header without quotes."""
        if codecs.lookup(self.encoding).name not in ("utf-8", "utf-8-sig") or len(self.delimiter.encode()) != 1:
            return False
        with self._errors(), _open_binary(self.path) as f:
            first = f.readline()
        return b'"' not in first and b"\r" not in first.rstrip(b"\r\n")

    def _fast_chunks(self) -> Iterator[Chunk]:
        """The records of a file read as blocks of bytes by pyarrow's CSV parser (several times faster).

        Only for blocks it reads exactly as Python's csv module would: no quote character, no
        carriage return but before a newline, every non-blank line as wide as the header, valid
        UTF-8. At the first block that is not, the rest of the file goes to :meth:`_python_chunks`
        from that block's first record: same records, same line numbers, same errors.
        """
        import pyarrow as pa
        import pyarrow.csv as pacsv

        width, delimiter = len(self.header), ord(self.delimiter)
        names = [str(i) for i in range(width)]
        read_options = pacsv.ReadOptions(column_names=names, block_size=1 << 26)
        parse_options = pacsv.ParseOptions(delimiter=self.delimiter, quote_char=False, ignore_empty_lines=True)
        convert_options = pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names}, strings_can_be_null=False, quoted_strings_can_be_null=False
        )
        pending: list = []  # (arrow table, lines) not yet handed out
        with self._errors(), _open_binary(self.path) as f:
            header = f.readline()
            start, line = len(header), 2  # byte offset and line number of the block's first byte
            rest = b""
            while True:
                data = f.read(FAST_BLOCK)
                block = rest + data
                if not data:
                    if block and not block.endswith(b"\n"):
                        block += b"\n"  # the last line without its newline
                    rest = b""
                else:
                    cut = block.rfind(b"\n") + 1
                    block, rest = block[:cut], block[cut:]
                if not block:
                    if not data:
                        break
                    continue
                lines = _fast_lines(block, width, delimiter, line)
                table = None
                if lines is not None:
                    try:
                        table = pacsv.read_csv(pa.py_buffer(block), read_options, parse_options, convert_options)
                    except pa.ArrowException:
                        table = None
                if table is None or table.num_rows != len(lines):
                    yield from self._python_chunks(start, line, self._records(pending))
                    return
                pending.append((table, lines))
                yield from self._emit(pending, final=False)
                start += len(block)
                line += block.count(b"\n")
                if not data:
                    break
        yield from self._emit(pending, final=True)

    @staticmethod
    def _records(pending: list) -> tuple[list, list]:
        """The pending tables' records as lists of text, and their lines (fewer than a chunk)."""
        if not pending:
            return [], []
        import pyarrow as pa

        table = pa.concat_tables([t for t, _ in pending])
        columns = [c.to_pylist() for c in table.columns]
        return [list(r) for r in zip(*columns)], np.concatenate([n for _, n in pending]).tolist()

    def _emit(self, pending: list, final: bool) -> Iterator[Chunk]:
        """Whole chunks of ``chunk_rows`` records from the pending tables (and the remainder if ``final``)."""
        import pyarrow as pa

        held = sum(len(n) for _, n in pending)
        if not held or (held < self.chunk_rows and not final):
            return
        table = pa.concat_tables([t for t, _ in pending])
        lines = np.concatenate([n for _, n in pending])
        pending.clear()
        done = 0
        while held - done >= self.chunk_rows or (final and done < held):
            n = min(self.chunk_rows, held - done)
            part = table.slice(done, n)
            frame = part.to_pandas()  # text columns backed by the Arrow buffers: no Python string per value
            frame.columns = self.header
            yield Chunk(frame, lines[done : done + n])
            done += n
        if done < held:
            pending.append((table.slice(done), lines[done:]))

    def _chunk(self, records: list, lines: list, ragged: dict) -> Chunk:
        frame = pd.DataFrame(records, columns=range(len(self.header)), dtype=object)
        frame.columns = self.header
        return Chunk(frame, np.asarray(lines, dtype="int64"), ragged)

    # -- Parquet ---------------------------------------------------------------------------
    def _parquet_file(self):
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(self.path)
        except FileNotFoundError:
            raise InputFileError(f"{self.path}: no such file.") from None
        except (OSError, pa.ArrowException) as e:
            raise InputFileError(f"{self.path}: not a readable Parquet file ({_first_line(e)}).") from None

    def _parquet_header(self) -> list[str]:
        return [str(n).strip() for n in self._parquet_file().schema_arrow.names]

    def _parquet_chunks(self) -> Iterator[Chunk]:
        import pyarrow as pa
        import pyarrow.compute as pc

        done = 0
        batches = self._parquet_file().iter_batches(batch_size=self.chunk_rows)
        while True:
            try:
                batch = next(batches, None)
            except (OSError, pa.ArrowException) as e:
                raise InputFileError(f"{self.path}: not a readable Parquet file ({_first_line(e)}).") from None
            if batch is None:
                return
            columns = {}
            for name, column in zip(self.header, batch.columns):
                try:
                    text = pc.cast(column, pa.string())
                except pa.ArrowException:
                    raise InputFileError(
                        f"{self.path}: column {name!r} cannot be read as text (a nested type?)."
                    ) from None
                columns[name] = pc.fill_null(text, "").to_pandas()
            frame = pd.DataFrame(columns, columns=self.header) if columns else pd.DataFrame(index=range(batch.num_rows))
            yield Chunk(frame, np.arange(done + 1, done + batch.num_rows + 1, dtype="int64"))
            done += batch.num_rows

    # -- errors -----------------------------------------------------------------------------
    def _errors(self):
        return _FileErrors(self)


class _FileErrors:
    """Turn the ways reading a text file fails into one-line :class:`InputFileError`."""

    def __init__(self, reader: Reader):
        self.reader = reader

    def __enter__(self):
        return self

    def __exit__(self, kind, e, tb):
        path, encoding = self.reader.path, self.reader.encoding
        if kind is None or kind is GeneratorExit:
            return False
        if issubclass(kind, FileNotFoundError):
            raise InputFileError(f"{path}: no such file.") from None
        if issubclass(kind, IsADirectoryError):
            raise InputFileError(f"{path}: is a folder, not a CSV file.") from None
        if issubclass(kind, LookupError) and not issubclass(kind, UnicodeError):
            raise InputFileError(f"Unknown encoding {encoding!r}.") from None
        if issubclass(kind, UnicodeDecodeError):
            raise InputFileError(
                f"{path}: byte 0x{e.object[e.start]:02x} at offset {e.start} is not valid {encoding}; "
                "name the file's encoding with --encoding (e.g. --encoding latin-1 or utf-16)."
            ) from None
        if issubclass(kind, csv.Error):
            line = getattr(getattr(self.reader, "_reader", None), "line_num", None)
            line = "?" if line is None else line + getattr(self.reader, "_line_offset", 0)
            raise InputFileError(f"{path}: line {line}: malformed CSV ({e}).") from None
        if issubclass(kind, (EOFError, gzip.BadGzipFile)):
            raise InputFileError(f"{path}: not a readable gzip file ({e}).") from None
        return False


def read_table(
    path: Path, encoding: str = DEFAULT_ENCODING, delimiter: str = ",", limit: int | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    """A whole (small) file as text columns with each record's line: side files, samples."""
    reader = Reader(path, encoding, delimiter, chunk_rows=limit or CHUNK_ROWS)
    frames, lines = [], []
    for chunk in reader:
        frames.append(chunk.frame)
        lines.append(chunk.lines)
        if limit:
            break
    if not frames:
        return pd.DataFrame({h: pd.Series([], dtype=object) for h in reader.header}), np.zeros(0, dtype="int64")
    return pd.concat(frames, ignore_index=True), np.concatenate(lines)


def _open(path: Path, encoding: str, start: int = 0) -> TextIO:
    """A text file, or a gzip'd one (by its ``.gz`` name), read as it is, from byte ``start``."""
    if start:
        f = _open_binary(path)
        f.seek(start)
        return io.TextIOWrapper(f, encoding="utf-8" if encoding == "utf-8-sig" else encoding, newline="")
    if Path(path).name.endswith(".gz"):
        return gzip.open(path, "rt", encoding=encoding, newline="")
    return open(path, encoding=encoding, newline="")


def _open_binary(path: Path):
    """The file's bytes (gunzipped on the fly for a ``.gz`` name)."""
    if Path(path).name.endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


def _fast_lines(block: bytes, width: int, delimiter: int, first: int) -> np.ndarray | None:
    """The line number of each record of a block of whole lines, or None if Arrow may not read it.

    None when a quote character, a carriage return not before a newline or a line of another
    width is in the block; blank lines (empty, or a lone carriage return) are not records.
    """
    if b'"' in block or block.count(b"\r") != block.count(b"\r\n"):
        return None
    raw = np.frombuffer(block, dtype=np.uint8)
    ends = np.flatnonzero(raw == 10)
    starts = np.concatenate(([0], ends[:-1] + 1))
    length = ends - starts - (raw[np.maximum(ends - 1, 0)] == 13)
    fields = np.diff(np.searchsorted(np.flatnonzero(raw == delimiter), ends), prepend=0) + 1
    blank = length <= 0
    if (fields[~blank] != width).any():
        return None
    return (first + np.arange(len(ends)))[~blank].astype("int64")


def _first_line(e: Exception) -> str:
    return (str(e).splitlines() or [type(e).__name__])[0][:200]


def check_header(path: Path, header: list[str]) -> None:
    """Raise a one-line :class:`InputFileError` unless the header has exactly the default columns."""
    if len(header) == 1:
        for delimiter, name in OTHER_DELIMITERS.items():
            if delimiter in header[0]:
                raise InputFileError(
                    f"{path}: the header is separated by {name}s; wbgraph reads comma-separated files "
                    f"unless told otherwise: --delimiter {delimiter!r}."
                )
    counts = Counter(header)
    problems = []
    missing = [h for h in HEADERS if h not in counts]
    unknown = [h for h in header if h not in HEADERS]
    duplicated = [h for h, n in counts.items() if n > 1]
    if missing:
        problems.append("missing columns: " + ", ".join(missing))
    if unknown:
        problems.append("unknown columns: " + ", ".join(repr(h) for h in unknown))
    if duplicated:
        problems.append("duplicated columns: " + ", ".join(duplicated))
    if problems:
        raise InputFileError(f"{path}: " + "; ".join(problems) + ".")
