"""Reading in chunks: the outcome of a file never depends on where its chunks begin and end."""

import pandas as pd
import pytest

from wbgraph.loaders.validate import Scan, validate

from helpers import row, write_csv


def _same(a, b):
    assert a.read == b.read and a.warnings == b.warnings and a.conflicts == b.conflicts
    assert a.duplicates == b.duplicates
    pd.testing.assert_frame_equal(a.rows, b.rows)
    pd.testing.assert_frame_equal(a.rejects.astype(str), b.rejects.astype(str))


@pytest.mark.parametrize("strict", [False, True])
def test_chunk_size_changes_nothing_on_the_seed_notebook(seed_csv, strict):
    whole = validate(seed_csv, strict=strict)
    for chunk_rows in (41, 250):
        _same(validate(seed_csv, strict=strict, chunk_rows=chunk_rows), whole)


def test_a_duplicate_in_a_later_chunk_is_still_a_duplicate_and_the_latest_row_wins_across_chunks(tmp_path):
    rows = [
        row(Transaction_ID="T1", Transaction_Date="2025-01-01", Industry="Energy"),
        row(Transaction_ID="T2", Transaction_Date="2025-06-01", Industry="Finance"),  # latest: its attributes win
        row(Transaction_ID="T3", Transaction_Date="2025-02-01", Industry="Energy"),
        row(Transaction_ID="T1", Transaction_Date="2025-01-01", Industry="Energy"),  # the first row again
        row(Transaction_ID="T4", Transaction_Date="2025-06-01", Industry="Technology"),  # same date, later line
    ]
    path = write_csv(tmp_path / "f.csv", rows)
    scan = Scan.of(path, chunk_rows=1)
    assert (scan.read, scan.valid, scan.unique, scan.duplicates) == (5, 5, 4, 1)
    assert scan.conflicts == {"Customer": 1, "Product": 0}
    chunks = list(scan.rows())
    assert [c["first"].tolist() for c in chunks] == [[True], [True], [True], [False], [True]]
    latest = [scan.latest(c, "Customer").tolist() for c in chunks]
    assert latest == [[False], [False], [False], [False], [True]]  # the tie goes to the later line
    assert chunks[0]["transactionKey"].iat[0] == chunks[3]["transactionKey"].iat[0]
    strict = validate(path, strict=True, chunk_rows=2)
    assert strict.rejects["lineNumber"].tolist() == [2, 3, 4, 5]
    assert strict.rows["industry"].tolist() == ["Technology"]


def test_different_rows_never_share_a_key_whatever_their_text_holds(tmp_path):
    # joined with a separator, these two rows would read alike: "C\x1fCorporate" + "Finance" vs "C" + "Corporate\x1fFinance"
    rows = [
        row(Customer_ID="C\x1fCorporate", Customer_Type="Finance"),
        row(Customer_ID="C", Customer_Type="Corporate\x1fFinance"),
    ]
    v = validate(write_csv(tmp_path / "f.csv", rows))
    assert len(v.rows) == 2 and v.rows["transactionKey"].nunique() == 2 and v.duplicates == 0


def test_the_key_is_of_the_typed_values_so_spelling_does_not_matter(tmp_path):
    rows = [
        row(),
        row(Transaction_Amount="1000.50", Transaction_Date="2025-03-01T10:17:08.752682Z", Company_Size="2922.0"),
    ]
    v = validate(write_csv(tmp_path / "f.csv", rows))
    assert v.duplicates == 1


def test_the_rejects_keep_file_order_and_every_reason_across_chunks(tmp_path):
    rows = [row(Transaction_ID=f"T{i}", Transaction_Amount="x" if i % 3 == 0 else "1") for i in range(10)]
    v = validate(write_csv(tmp_path / "f.csv", rows), chunk_rows=4)
    assert v.rejects["lineNumber"].tolist() == [2, 5, 8, 11]
    assert set(v.rejects["reason"]) == {"Transaction Amount 'x' is not a finite number"}
    assert v.read == len(v.rows) + len(v.rejects) == 10


def test_the_fast_and_the_slow_key_agree(seed_csv):
    from wbgraph.loaders.validate import _digests, _digests_slowly

    rows = validate(seed_csv).rows
    props = [c for c in rows.columns if c not in ("line", "transactionKey")]
    fast, slow = _digests(rows, props), _digests_slowly(rows, props)
    assert (fast[0] == slow[0]).all() and list(fast[1]) == list(slow[1]) == rows["transactionKey"].tolist()


def test_first_occurrences_tell_keys_apart_by_all_their_bytes():
    import numpy as np

    from wbgraph.loaders.validate import first_occurrences

    same_start = [b"\x01" * 8 + bytes([i]) * 8 for i in (1, 2, 1, 3, 2)]  # equal first 8 bytes
    other = [b"\x02" * 16, b"\x00" * 16, b"\x02" * 16]
    keys = [np.array(same_start[:3] + other[:1], dtype="S16"), np.array(same_start[3:] + other[1:], dtype="S16")]
    assert first_occurrences(keys).tolist() == [True, True, False, True, True, False, True, False]
    assert first_occurrences([]).tolist() == []
