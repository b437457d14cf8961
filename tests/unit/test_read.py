"""Reading a delimited file: the fast (Arrow) reader gives exactly what Python's csv module gives.

Every record with the same fields, the same line number and the same ragged width; the same
one-line error for a file that cannot be read. The Arrow reader takes blocks it can read
exactly and hands the rest of the file to the csv module, so each case is read with blocks
small enough to put a boundary everywhere.
"""

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from wbgraph.errors import InputFileError
from wbgraph.loaders import read
from wbgraph.loaders.columns import HEADERS
from wbgraph.loaders.read import Reader

HOSTILE = Path(__file__).parent.parent / "data" / "hostile"
EXPECTED = json.loads((HOSTILE / "expected.json").read_text())


def outcome(path, monkeypatch, fast: bool, block: int = 1 << 20, chunk_rows: int = 3, encoding=None):
    """What reading ``path`` gives: each chunk's records, lines and ragged widths, or the error's text."""
    monkeypatch.setattr(read, "FAST_BLOCK", block)
    if not fast:
        monkeypatch.setattr(Reader, "_fast", lambda self: False)
    try:
        reader = Reader(path, encoding or read.DEFAULT_ENCODING, chunk_rows=chunk_rows)
        return [
            (c.frame.astype(object).values.tolist(), c.lines.tolist(), c.ragged, list(c.frame.columns)) for c in reader
        ]
    except InputFileError as e:
        return str(e).split(" at offset")[0]  # a decoding error's offset counts from where the decoder began
    finally:
        monkeypatch.undo()


def both(path, monkeypatch, **kwargs):
    slow = outcome(path, monkeypatch, fast=False, **kwargs)
    for block in (7, 64, 1000, 1 << 20):
        assert outcome(path, monkeypatch, fast=True, block=block, **kwargs) == slow, f"block {block}"
    return slow


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_hostile_file_reads_the_same_either_way(name, monkeypatch):
    options = EXPECTED[name]["options"]
    encoding = options[options.index("--encoding") + 1] if "--encoding" in options else None
    both(HOSTILE / f"{name}.csv", monkeypatch, encoding=encoding)


HEADER = ",".join(HEADERS)
LINE = ",".join(f"v{i}" for i in range(len(HEADERS)))


@pytest.mark.parametrize(
    "body,lines,ragged",
    [
        (f"{LINE}\n{LINE}\n", [2, 3], {}),
        (f"{LINE}\n{LINE}", [2, 3], {}),  # no newline at the end
        (f"\n{LINE}\n\n\n{LINE}\n\n", [3, 6], {}),  # blank lines are not records, but count as lines
        (f"{LINE}\r\n\r\n{LINE}\r\n", [2, 4], {}),  # Windows line ends, a blank one among them
        (  # quotes midway: a record over two lines, the next one's line after them
            f"{LINE}\n{LINE}\n" + LINE.replace("v3", '"a, ""quoted""\nvalue"') + f"\n{LINE}\n",
            [2, 3, 4, 6],
            {},
        ),
        (f"{LINE}\n{LINE},extra\n{LINE}\n", [2, 3, 4], {3: len(HEADERS) + 1}),  # a ragged row midway
        (f"{LINE}\n{LINE}\rv0\n{LINE}\n", [2, 3, 4, 5], {4: 1}),  # a lone carriage return is a line end to csv
        (f"{LINE}\n" + LINE.replace("v5", "é ü 中文 🙂") + "\n", [2, 3], {}),
        (f"{LINE}\n   \n{LINE}\n", [2, 3, 4], {3: 1}),  # spaces are a record of one field, not a blank line
    ],
)
def test_tricky_text_reads_the_same_either_way(body, lines, ragged, tmp_path, monkeypatch):
    path = tmp_path / "f.csv"
    path.write_bytes((HEADER + "\n" + body).encode())
    chunks = both(path, monkeypatch)  # (records, their lines, ragged widths by place in the chunk, columns)
    assert [line for chunk in chunks for line in chunk[1]] == lines  # each record at its line in the file
    assert {chunk[1][i]: width for chunk in chunks for i, width in chunk[2].items()} == ragged
    records = [record for chunk in chunks for record in chunk[0]]
    assert all(len(record) == len(HEADERS) for record in records)
    if "quoted" in body:
        assert records[2][3] == 'a, "quoted"\nvalue'
    if "中文" in body:
        assert records[1][5] == "é ü 中文 🙂"


def test_invalid_utf8_midway_is_the_same_one_line_error(tmp_path, monkeypatch):
    path = tmp_path / "f.csv"
    path.write_bytes((HEADER + "\n" + (LINE + "\n") * 50).encode() + b"\xff\xfe" + (LINE + "\n").encode())
    assert both(path, monkeypatch).endswith(": byte 0xff")


def test_a_gzipped_file_with_a_byte_order_mark_reads_the_same_either_way(tmp_path, monkeypatch):
    path = tmp_path / "f.csv.gz"
    path.write_bytes(gzip.compress(("\ufeff" + HEADER + "\n" + (LINE + "\n") * 10).encode()))
    chunks = both(path, monkeypatch)
    assert chunks[0][3] == list(HEADERS) and sum(len(c[0]) for c in chunks) == 10


def test_chunks_hold_chunk_rows_records_whatever_the_blocks(tmp_path, monkeypatch):
    path = tmp_path / "f.csv"
    path.write_text(HEADER + "\n" + "\n".join([LINE] * 23) + "\n")
    chunks = outcome(path, monkeypatch, fast=True, block=100, chunk_rows=5)
    assert [len(c[0]) for c in chunks] == [5, 5, 5, 5, 3]
    assert [n for c in chunks for n in c[1]] == list(range(2, 25))
    assert pd.Series([r for c in chunks for r in c[0]]).map(len).eq(len(HEADERS)).all()
