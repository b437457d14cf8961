"""Validation: file-level errors name the problem; bad rows are quarantined with line and reason."""

import pytest

from wbgraph.errors import InputFileError
from wbgraph.loaders.columns import HEADERS
from wbgraph.loaders.validate import validate

from helpers import GOOD, row, write_csv


def test_seed_notebook_csv_is_all_valid_with_soft_warnings(seed_csv):
    v = validate(seed_csv)
    assert (v.read, len(v.rows), len(v.rejects)) == (1000, 1000, 0)
    assert v.warnings["Regulatory Requirements outside the documented vocabulary"] == 999
    assert v.warnings["Product Features outside the documented vocabulary"] == 999
    assert v.conflicts["Customer"] > 0 and v.conflicts["Product"] > 0


def test_repeated_transaction_ids_get_distinct_keys_identical_rows_the_same(tmp_path):
    path = write_csv(tmp_path / "f.csv", [row(), row(Transaction_Amount="5"), row()])
    v = validate(path)
    keys = v.rows["transactionKey"].tolist()
    assert keys[0] != keys[1] and keys[0] == keys[2]
    assert v.duplicates == 1


def test_bad_rows_are_rejected_with_line_and_every_reason(tmp_path):
    rows = [
        row(),
        row(Customer_ID=""),
        row(Transaction_Amount="1,000", Default_Probability="1.5"),
        row(Transaction_Date="2025-02-30"),
        row(Credit_Score="nan"),
        row(Company_Size="12.5"),
        row(Transaction_Amount="-3"),
        row(Product_ID="P" * 300),
    ]
    v = validate(write_csv(tmp_path / "f.csv", rows))
    assert v.read == 8 and len(v.rows) == 1 and len(v.rejects) == 7
    reasons = dict(zip(v.rejects["lineNumber"], v.rejects["reason"]))
    assert reasons[3] == "missing Customer ID"
    assert (
        reasons[4] == "Transaction Amount '1,000' is not a finite number; Default Probability '1.5' is outside [0, 1]"
    )
    assert reasons[5] == "Transaction Date '2025-02-30' is not an ISO 8601 date"
    assert reasons[6] == "Credit Score 'nan' is not a finite number"
    assert reasons[7] == "Company Size '12.5' is not a whole number"
    assert reasons[8] == "Transaction Amount '-3' is outside [0, inf]"
    assert reasons[9] == "Product ID longer than 256 characters"
    assert v.rejects.loc[0, "Customer ID"] == ""  # original values kept


def test_dates_with_and_without_microseconds_or_time_zone(tmp_path):
    dates = [
        "2025-03-01",
        "2025-03-01 10:17:08",
        "2025-03-01T10:17:08.752682",
        "2025-03-01T10:17:08+02:00",
        "2025-03-01T10:17:08Z",
        "2025-03-01 10:17:08.752682999",  # nanoseconds, as pandas writes them: kept to the microsecond
    ]
    v = validate(
        write_csv(tmp_path / "f.csv", [row(Transaction_Date=d, Transaction_ID=str(i)) for i, d in enumerate(dates)])
    )
    assert len(v.rejects) == 0
    assert v.rows["date"].dt.strftime("%H:%M").tolist() == ["00:00", "10:17", "10:17", "08:17", "10:17", "10:17"]
    assert v.rows["date"].iloc[-1].microsecond == 752682 and v.rows["date"].iloc[-1].nanosecond == 0


def test_line_numbers_count_quoted_newlines_and_crlf(tmp_path):
    path = tmp_path / "f.csv"
    write_csv(path, [row(Relationship_Manager="Jane,\nDoe"), row(Transaction_Amount="x")], lineterminator="\r\n")
    v = validate(path)
    assert v.rows["relationshipManager"].tolist() == ["Jane,\nDoe"]
    assert v.rejects["lineNumber"].tolist() == [4]


def test_utf8_bom_and_other_encodings(tmp_path):
    bom = write_csv(tmp_path / "bom.csv", [row(Customer_ID="CUS-ü")], encoding="utf-8-sig")
    assert validate(bom).rows["customerId"].tolist() == ["CUS-ü"]
    latin = write_csv(tmp_path / "latin.csv", [row(Customer_ID="CUS-é")], encoding="latin-1")
    with pytest.raises(InputFileError, match=r"is not valid utf-8-sig; name the file's encoding with --encoding"):
        validate(latin)
    assert validate(latin, encoding="latin-1").rows["customerId"].tolist() == ["CUS-é"]
    utf16 = write_csv(tmp_path / "u16.csv", [row()], encoding="utf-16")
    assert len(validate(utf16, encoding="utf-16").rows) == 1


def test_soft_problems_become_rejects_when_strict(tmp_path):
    path = write_csv(tmp_path / "f.csv", [row(Regulatory_Requirements="A"), row(Transaction_ID="T2")])
    assert len(validate(path).rows) == 2
    strict = validate(path, strict=True)
    assert len(strict.rows) == 1
    assert strict.rejects["reason"].tolist() == ["Regulatory Requirements 'A' is not a documented value"]


def test_conflicting_attributes_latest_row_wins_and_losers_flagged_when_strict(tmp_path):
    rows = [
        row(Industry="Energy", Transaction_Date="2025-05-01"),
        row(Transaction_ID="T2", Transaction_Date="2025-01-01"),
    ]
    v = validate(write_csv(tmp_path / "f.csv", rows))
    assert v.conflicts == {"Customer": 1, "Product": 0}
    strict = validate(tmp_path / "f.csv", strict=True)
    assert strict.rejects["lineNumber"].tolist() == [3]
    assert strict.rejects["reason"].tolist() == ["Customer 'CUS-001' has other attributes on a later row"]


def test_header_only_file_is_valid_and_empty(tmp_path):
    v = validate(write_csv(tmp_path / "f.csv", []))
    assert (v.read, len(v.rows), len(v.rejects)) == (0, 0, 0)


def test_ragged_rows_are_rejected(tmp_path):
    path = write_csv(tmp_path / "f.csv", [row()])
    with open(path, "a") as f:
        f.write("CUS-9,too,few\n")
    v = validate(path)
    assert v.rejects["reason"].tolist() == [
        "expected 28 fields, found 3; missing Product ID; missing Transaction ID; missing Transaction Date; missing Transaction Amount"
    ]


@pytest.mark.parametrize(
    "content,message",
    [
        ("", "the file is empty"),
        (";".join(HEADERS) + "\n", "the header is separated by semicolons"),
        (
            ",".join(h for h in HEADERS if h not in ("Industry", "Exposure")) + "\n",
            "missing columns: Industry, Exposure.",
        ),
        (",".join(HEADERS) + ",Extra\n", "unknown columns: 'Extra'."),
        (",".join(HEADERS) + ",Industry\n", "duplicated columns: Industry."),
        (",".join(HEADERS) + "\n" + ",".join(GOOD.values()) + ',"unterminated\n', "malformed CSV"),
    ],
)
def test_file_level_errors_name_the_problem(tmp_path, content, message):
    path = tmp_path / "f.csv"
    path.write_text(content)
    with pytest.raises(InputFileError, match=message):
        validate(path)


def test_missing_file(tmp_path):
    with pytest.raises(InputFileError, match="no such file"):
        validate(tmp_path / "nope.csv")


def test_a_gzipped_file_and_another_delimiter_read_like_the_plain_file(tmp_path, seed_csv):
    import dataclasses
    import gzip

    from wbgraph.loaders.mapping import default_mapping

    plain = validate(seed_csv)
    zipped = tmp_path / "seed.csv.gz"
    zipped.write_bytes(gzip.compress(seed_csv.read_bytes()))
    assert validate(zipped).rows.equals(plain.rows)
    semicolons = tmp_path / "seed-semicolons.csv"
    write_csv(semicolons, [row()], delimiter=";")
    with pytest.raises(InputFileError, match="--delimiter ';'"):
        validate(semicolons)
    mapping = dataclasses.replace(default_mapping(), delimiter=";")
    assert len(validate(semicolons, mapping=mapping).rows) == 1


def test_a_parquet_file_reads_like_its_csv_with_rows_numbered(tmp_path, seed_csv):
    import pandas as pd

    plain = validate(seed_csv)
    frame = pd.read_csv(seed_csv, dtype=str, keep_default_na=False)
    frame.loc[3, "Transaction Amount"] = "lots"  # one bad row
    frame.to_parquet(tmp_path / "seed.parquet")
    v = validate(tmp_path / "seed.parquet")
    assert v.read == 1000 and len(v.rows) == 999
    assert v.rejects["lineNumber"].tolist() == [4] and "'lots' is not a finite number" in v.rejects["reason"].iat[0]
    kept = plain.rows.drop(index=3).reset_index(drop=True)
    assert v.rows.drop(columns="line").equals(kept.drop(columns="line"))  # same values, same keys
    typed = pd.read_csv(seed_csv)  # numbers as numbers, not text: the values still arrive
    typed.to_parquet(tmp_path / "typed.parquet")
    assert validate(tmp_path / "typed.parquet").rows["amount"].tolist() == plain.rows["amount"].tolist()
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(InputFileError, match="not a readable Parquet file"):
        validate(tmp_path / "broken.parquet")


def test_money_is_never_added_across_currencies():
    import pandas as pd

    from wbgraph.loaders.usage import usage_table

    t = pd.DataFrame(
        {
            "customerId": ["A", "A", "B", "B", "C", "C"],
            "productId": ["P"] * 6,
            "transactionKey": list("123456"),
            "date": pd.to_datetime(["2025-01-01"] * 6, utc=True),
            "amount": [1.0, 2.0, 10.0, 20.0, 5.0, 6.0],
            "value": [1.0, 1.0, 1.0, 1.0, None, None],
            "currency": ["USD", "USD", "USD", "EUR", None, None],
            "productUsage": [1.0] * 6,
            "customerEngagement": [1.0] * 6,
        }
    )
    usage = usage_table(t).set_index("customerId")
    assert (usage.at["A", "totalAmount"], usage.at["A", "currency"]) == (3.0, "USD")
    assert (
        pd.isna(usage.at["B", "totalAmount"])
        and pd.isna(usage.at["B", "totalValue"])
        and pd.isna(usage.at["B", "currency"])
    )
    assert usage.at["C", "totalAmount"] == 11.0 and pd.isna(usage.at["C", "currency"])  # no currency named at all
    assert usage["transactionCount"].tolist() == [2, 2, 2]
