"""Reading an input CSV: its header and records, and the file-level problems that stop an ingest.

A file-level problem (empty file, wrong delimiter, missing / unknown / duplicated columns,
bytes that are not in the file's encoding, broken quoting) raises :class:`InputFileError`
with one line naming it: nothing is loaded. Rows are checked by :mod:`.validate`.
"""

from __future__ import annotations

import csv
import gzip
from collections import Counter
from pathlib import Path
from typing import TextIO

from ..errors import InputFileError
from .columns import HEADERS

DEFAULT_ENCODING = "utf-8-sig"  # UTF-8, with or without a byte-order mark
OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}


def read_records(
    path: Path, encoding: str = DEFAULT_ENCODING, delimiter: str = ","
) -> tuple[list[str], list[list[str]], list[int]]:
    """The header, the records and the line each record starts on; file-level problems raise.

    A ``.parquet`` file is read with pyarrow, every value as text (empty where null), each
    record numbered by its row (1 for the first).
    """
    if Path(path).name.endswith(".parquet"):
        return _read_parquet(Path(path))
    encoding = encoding or DEFAULT_ENCODING
    records, lines = [], []
    try:
        with _open(path, encoding) as f:
            reader = csv.reader(f, strict=True, delimiter=delimiter)
            header = next(reader, None)
            previous = reader.line_num
            for record in reader:
                if record:  # a blank line is not a row
                    records.append(record)
                    lines.append(previous + 1)
                previous = reader.line_num
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise InputFileError(f"{path}: is a folder, not a CSV file.") from None
    except LookupError:
        raise InputFileError(f"Unknown encoding {encoding!r}.") from None
    except UnicodeDecodeError as e:
        raise InputFileError(
            f"{path}: byte 0x{e.object[e.start]:02x} at offset {e.start} is not valid {encoding}; "
            "name the file's encoding with --encoding (e.g. --encoding latin-1 or utf-16)."
        ) from None
    except csv.Error as e:
        raise InputFileError(f"{path}: line {reader.line_num}: malformed CSV ({e}).") from None
    if header is None or not any(h.strip() for h in header):
        raise InputFileError(f"{path}: the file is empty (expected a header row).")
    return [h.strip() for h in header], records, lines


def _read_parquet(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file.") from None
    except (OSError, pa.ArrowException) as e:
        raise InputFileError(f"{path}: not a readable Parquet file ({str(e).splitlines()[0][:200]}).") from None
    columns = []
    for name in table.column_names:
        try:
            text = pc.cast(table[name], pa.string())
        except pa.ArrowException:
            raise InputFileError(f"{path}: column {name!r} cannot be read as text (a nested type?).") from None
        columns.append(pc.fill_null(text, "").to_pylist())
    return (
        [str(n).strip() for n in table.column_names],
        [list(r) for r in zip(*columns)],
        list(range(1, table.num_rows + 1)),
    )


def _open(path: Path, encoding: str) -> TextIO:
    """A text file, or a gzip'd one (by its ``.gz`` name), read as it is."""
    if Path(path).name.endswith(".gz"):
        return gzip.open(path, "rt", encoding=encoding, newline="")
    return open(path, encoding=encoding, newline="")


def check_header(path: Path, header: list[str]) -> None:
    """Raise a one-line :class:`InputFileError` unless the header has exactly the 28 columns."""
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
