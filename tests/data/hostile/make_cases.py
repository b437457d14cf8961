"""Writes the hostile-input corpus in this folder: run it again after changing a case.

Each case is a CSV file and an entry in ``expected.json``: the documented outcome of
``wbgraph ingest`` on it (exit status; rows read, loaded and rejected, or the one-line
error), which ``tests/test_hostile_input.py`` checks against the real server.
"""

import csv
import io
import json
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent.parent))
from helpers import GOOD, row  # noqa: E402

from wbgraph.loaders.columns import HEADERS  # noqa: E402


def text(rows, headers=HEADERS, delimiter=",", lineterminator="\n"):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=lineterminator)
    writer.writerow(headers)
    for i, r in enumerate(rows):
        writer.writerow([r.get(h, "") for h in headers])
    return out.getvalue()


def rows_with(column, values):
    return [row(**{column.replace(" ", "_"): v, "Transaction_ID": f"T{i}"}) for i, v in enumerate(values)]


INJECTIONS = ["}) DETACH DELETE n //", "' OR 1=1 //", "\") MATCH (n) DETACH DELETE n //", "$customerId",
              "CALL dbms.shutdown()", "`Customer`", "{id: 1}", "\\'; DROP DATABASE neo4j; //"]
CASES = {}  # name -> (bytes, expected)


def case(name, content, exit=0, read=None, loaded=None, rejected=0, transactions=None, error=None, options=(), literal=None,
         rejects=()):
    """``rejects``: (line number, text its reason contains) for every rejected row, in file order."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    assert len(rejects) == rejected or exit == 4, name  # exit 4: nothing loaded, the rejects file is written
    CASES[name] = (data, {"exit": exit, "read": read, "loaded": loaded, "rejected": rejected,
                          "transactions": transactions if transactions is not None else loaded,
                          "error": error, "options": list(options), "literal": literal,
                          "rejects": [list(r) for r in rejects]})


def bad(column, values, lines, reason):
    """The rejects of a ``rows_with(column, values)`` file: the rows at those file lines (the header is line 1)."""
    return [(line, f"{column} '{values[line - 2]}' {reason}") for line in lines]


good = [row(Transaction_ID=f"T{i}") for i in range(3)]
case("empty", "", exit=3, error="the file is empty")
case("header_only", text([]), read=0, loaded=0)
case("missing_columns", text(good, [h for h in HEADERS if h != "Exposure"]), exit=3, error="missing columns: Exposure")
case("extra_column", text(good, [*HEADERS, "Notes"]), exit=3, error="unknown columns: 'Notes'")
case("duplicated_column", text(good, [*HEADERS, "Industry"]), exit=3, error="duplicated columns: Industry")
case("renamed_column", text(good).replace("Customer ID", "Cust ID", 1), exit=3, error="missing columns: Customer ID")
case("semicolon_delimiter", text(good, delimiter=";"), exit=3, error="separated by semicolons")
case("utf16_without_encoding", text(good).encode("utf-16"), exit=3, error="--encoding")
case("utf16_with_encoding", text(good).encode("utf-16"), read=3, loaded=3, options=["--encoding", "utf-16"])
case("latin1_without_encoding", text(rows_with("Customer ID", ["CUS-é"])).encode("latin-1"), exit=3, error="--encoding")
case("latin1_with_encoding", text(rows_with("Customer ID", ["CUS-é"])).encode("latin-1"), read=1, loaded=1,
     options=["--encoding", "latin-1"], literal={"customers": ["CUS-é"]})
case("utf8_bom", text(good).encode("utf-8-sig"), read=3, loaded=3)
case("crlf_line_ends", text(good, lineterminator="\r\n"), read=3, loaded=3)
case("quoted_newlines", text(rows_with("Relationship Manager", ["Jane,\nDoe", "Line1\r\nLine2"])), read=2, loaded=2)
case("unterminated_quote", text(good) + ",".join(GOOD.values()) + ',"unterminated\n', exit=3, error="malformed CSV")
AMOUNTS = ["1,000", "1 000", "1.000,50", "12"]
case("thousands_separators", text(rows_with("Transaction Amount", AMOUNTS)), read=4, loaded=1, rejected=3,
     rejects=bad("Transaction Amount", AMOUNTS, [2, 3, 4], "is not a finite number"))
# "1e3" is a number (1000): scientific notation is accepted
SIZES = ["twelve", "1e3", "ten thousand", "250"]
case("numbers_as_words", text(rows_with("Company Size", SIZES)), read=4, loaded=2, rejected=2,
     rejects=bad("Company Size", SIZES, [2, 4], "is not a finite number"))
VALUES = ["NaN", "inf", "-inf", "Infinity", "5"]
case("nan_and_inf", text(rows_with("Transaction Value", VALUES)), read=5, loaded=1, rejected=4,
     rejects=bad("Transaction Value", VALUES, [2, 3, 4, 5], "is not a finite number"))
NEGATIVE = ["-1", "-0.01", "0", "3"]
case("negative_amounts", text(rows_with("Transaction Amount", NEGATIVE)), read=4, loaded=2, rejected=2,
     rejects=bad("Transaction Amount", NEGATIVE, [2, 3], "is outside [0, inf]"))
PROBABILITIES = ["1.5", "-0.1", "1", "0"]
case("probabilities_above_one", text(rows_with("Default Probability", PROBABILITIES)), read=4, loaded=2, rejected=2,
     rejects=bad("Default Probability", PROBABILITIES, [2, 3], "is outside [0, 1]"))
DATES = ["2025-03-01", "2025-03-01 10:17:08", "2025-03-01T10:17:08.752682", "2025-03-01T10:17:08+02:00",
         "2025-03-01T10:17:08Z", "03/01/2025", "1 March 2025", "20250301", "Mar 1, 2025"]
case("many_date_formats", text(rows_with("Transaction Date", DATES)), read=9, loaded=6, rejected=3,  # 20250301: ISO basic
     rejects=bad("Transaction Date", DATES, [7, 8, 10], "is not an ISO 8601 date"))
IMPOSSIBLE = ["2025-02-30", "2025-13-01", "2025-00-10", "2025-04-31", "2025-03-01 25:00:00", "2024-02-29"]
case("impossible_dates", text(rows_with("Transaction Date", IMPOSSIBLE)), read=6, loaded=1, rejected=5,
     rejects=bad("Transaction Date", IMPOSSIBLE, [2, 3, 4, 5, 6], "is not an ISO 8601 date"))
case("empty_ids", text([row(Customer_ID="", Transaction_ID="T1"), row(Product_ID="", Transaction_ID="T2"),
                        row(Transaction_ID=""), row(Customer_ID="   ", Transaction_ID="T4"), row(Transaction_ID="T5")]),
     read=5, loaded=1, rejected=4, rejects=[(2, "missing Customer ID"), (3, "missing Product ID"),
                                            (4, "missing Transaction ID"), (5, "missing Customer ID")])
case("ten_thousand_character_ids", text(rows_with("Customer ID", ["C" * 10_000, "P" * 257, "CUS-OK"])), read=3, loaded=1,
     rejected=2, rejects=[(2, "Customer ID longer than 256 characters"), (3, "Customer ID longer than 256 characters")])
case("quotes_in_ids", text(rows_with("Customer ID", ["CUS-'1'", 'CUS-"2"', "O'Brien & Co"])), read=3, loaded=3,
     literal={"customers": ["CUS-'1'", 'CUS-"2"', "O'Brien & Co"]})
case("backslashes_in_ids", text(rows_with("Customer ID", ["CUS\\1", "CUS\\\\2", "C:\\\\path\\n"])), read=3, loaded=3,
     literal={"customers": ["CUS\\1", "CUS\\\\2", "C:\\\\path\\n"]})
case("braces_and_backticks_in_ids", text(rows_with("Product ID", ["{PROD}", "`PROD`", "PROD-${x}", "[PROD]"])), read=4, loaded=4,
     literal={"products": ["{PROD}", "`PROD`", "PROD-${x}", "[PROD]"]})
case("cypher_looking_ids", text(rows_with("Customer ID", INJECTIONS)), read=len(INJECTIONS), loaded=len(INJECTIONS),
     literal={"customers": INJECTIONS})
case("non_latin_scripts", text(rows_with("Customer ID", ["客户-001", "عميل-٠٠٢", "Клиент-3", "顧客🙂4", "ग्राहक-5"])), read=5, loaded=5,
     literal={"customers": ["客户-001", "عميل-٠٠٢", "Клиент-3", "顧客🙂4", "ग्राहक-5"]})
case("ragged_rows", text(good) + "CUS-9,too,few\n" + ",".join(GOOD.values()) + ",extra,fields\n", read=5, loaded=3, rejected=2,
     rejects=[(5, "expected 28 fields, found 3"), (6, "expected 28 fields, found 30")])
case("identical_rows", text([row()] * 100), read=100, loaded=100, transactions=1)
case("binary_garbage", bytes(range(256)) * 40, exit=3, error="--encoding")
case("too_many_rejects", text([row(Transaction_Amount="x", Transaction_ID=f"T{i}") for i in range(5)] + good),
     exit=4, error="5 of 8 rows rejected, more than --max-rejects 2; nothing loaded", options=["--max-rejects", "2"], transactions=0,
     rejects=[(line, "Transaction Amount 'x' is not a finite number") for line in range(2, 7)])


if __name__ == "__main__":
    expected = {}
    for name, (data, outcome) in CASES.items():
        (HERE / f"{name}.csv").write_bytes(data)
        expected[name] = outcome
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(CASES)} cases written to {HERE}")
