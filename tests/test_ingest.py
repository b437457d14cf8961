"""`wbgraph ingest` against the real server: nothing lost, nothing doubled, safe to re-run."""

import json

import pandas as pd
import pytest

from wbgraph.loaders.columns import HEADERS

from helpers import row, write_csv


def graph_totals(driver):
    record = driver.execute_query(
        "CALL () { MATCH (c:Customer) RETURN count(c) AS customers } "
        "CALL () { MATCH (p:Product) RETURN count(p) AS products } "
        "CALL () { MATCH (t:Transaction) RETURN count(t) AS transactions, sum(t.amount) AS amount } "
        "CALL () { MATCH ()-[u:USES]->() RETURN count(u) AS uses, sum(u.transactionCount) AS usesCount, sum(u.totalAmount) AS usesAmount } "
        "RETURN customers, products, transactions, amount, uses, usesCount, usesAmount"
    ).records[0]
    return dict(record)


def ingest_json(cli, *args):
    result = cli("ingest", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_seed_notebook_csv_lands_whole_and_reingest_changes_nothing(cli, empty_db, seed_csv):
    frame = pd.read_csv(seed_csv)
    summary = ingest_json(cli, str(seed_csv), "--batch-size", "300")
    assert (summary["read"], summary["loaded"], summary["rejected"], summary["created"]) == (1000, 1000, 0, 1000)
    assert summary["peakRssMb"] > 0  # the process's own peak, for the memory benchmarks
    totals = graph_totals(empty_db)
    assert totals["customers"] == frame["Customer ID"].nunique()
    assert totals["products"] == frame["Product ID"].nunique()
    assert totals["transactions"] == len(frame)
    assert abs(totals["amount"] - frame["Transaction Amount"].sum()) < 1e-6 * frame["Transaction Amount"].sum()
    assert totals["uses"] == frame.groupby(["Customer ID", "Product ID"]).ngroups
    pairs = frame.groupby(["Customer ID", "Product ID"])
    one_currency = pairs["Transaction Currency"].transform("nunique") == 1  # money never added across currencies
    assert totals["usesCount"] == 1000
    assert abs(totals["usesAmount"] - frame.loc[one_currency, "Transaction Amount"].sum()) < 1e-3

    again = ingest_json(cli, str(seed_csv))
    assert (again["created"], again["alreadyInGraph"], again["nodesCreated"], again["relationshipsCreated"]) == (
        0,
        1000,
        0,
        0,
    )
    assert graph_totals(empty_db) == totals


def test_transaction_properties_are_typed(cli, empty_db, tmp_path):
    ingest_json(cli, str(write_csv(tmp_path / "f.csv", [row()])))
    t = empty_db.execute_query(
        "MATCH (c:Customer)-[:PERFORMED]->(t:Transaction)-[:OF_PRODUCT]->(p:Product) "
        "RETURN t.transactionId AS id, t.amount AS amount, t.date AS date, c.companySize AS size, p.category AS category"
    ).records[0]
    assert t["id"] == "TRAN-001" and t["amount"] == 1000.5 and t["size"] == 2922 and t["category"] == "Lending"
    assert t["date"].iso_format() == "2025-03-01T10:17:08.752682000+00:00"


def test_bad_rows_are_quarantined_and_good_rows_load(cli, empty_db, tmp_path):
    path = write_csv(
        tmp_path / "in.csv", [row(), row(Transaction_ID="T2", Transaction_Amount="abc"), row(Transaction_ID="T3")]
    )
    summary = ingest_json(cli, str(path))
    assert (summary["read"], summary["loaded"], summary["rejected"]) == (3, 2, 1)
    rejects = pd.read_csv(tmp_path / "in.rejects.csv", dtype=str)
    assert rejects.columns.tolist() == ["lineNumber", "reason", *HEADERS]
    assert rejects[["lineNumber", "reason", "Transaction Amount"]].values.tolist() == [
        ["3", "Transaction Amount 'abc' is not a finite number", "abc"]
    ]
    assert graph_totals(empty_db)["transactions"] == 2


def test_too_many_rejects_loads_nothing_exit_4(cli, empty_db, tmp_path):
    path = write_csv(tmp_path / "in.csv", [row(), row(Transaction_ID="T2", Customer_ID="")])
    result = cli("ingest", str(path), "--max-rejects", "0", "--rejects", str(tmp_path / "bad.csv"))
    assert result.exit_code == 4
    assert (
        result.output.strip()
        == f"Error: 1 of 2 rows rejected, more than --max-rejects 0; nothing loaded (reasons in {tmp_path / 'bad.csv'})."
    )
    assert graph_totals(empty_db)["transactions"] == 0


def test_file_level_error_loads_nothing_exit_3(cli, empty_db, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(",".join(h for h in HEADERS if h != "Industry") + "\n")
    result = cli("ingest", str(path))
    assert result.exit_code == 3
    assert result.output.strip() == f"Error: {path}: missing columns: Industry."
    assert graph_totals(empty_db)["customers"] == 0


def test_second_file_adds_to_usage_and_latest_attributes_win(cli, empty_db, tmp_path):
    first = write_csv(tmp_path / "a.csv", [row(Transaction_Date="2025-01-01", Product_Usage="2")])
    second = write_csv(
        tmp_path / "b.csv",
        [
            row(
                Transaction_ID="T2",
                Transaction_Date="2025-06-01",
                Industry="Energy",
                Product_Usage="4",
                Transaction_Amount="10",
            )
        ],
    )
    ingest_json(cli, str(second))
    ingest_json(cli, str(first))  # older file after newer: its attributes must not win
    record = empty_db.execute_query(
        "MATCH (c:Customer)-[u:USES]->(:Product) MATCH (c)-[:IN_INDUSTRY]->(i) "
        "RETURN c.industry AS industry, collect(i.name) AS industries, u.transactionCount AS n, u.meanUsage AS usage, "
        "u.totalAmount AS amount, toString(date(u.firstDate)) AS first, toString(date(u.lastDate)) AS last"
    ).records[0]
    assert dict(record) == {
        "industry": "Energy",
        "industries": ["Energy"],
        "n": 2,
        "usage": 3.0,
        "amount": 1010.5,
        "first": "2025-01-01",
        "last": "2025-06-01",
    }


def test_exact_duplicate_rows_map_to_one_transaction(cli, empty_db, tmp_path):
    summary = ingest_json(cli, str(write_csv(tmp_path / "f.csv", [row(), row(), row(Transaction_Amount="7")])))
    assert (summary["read"], summary["loaded"], summary["duplicates"], summary["created"]) == (3, 3, 1, 2)
    assert graph_totals(empty_db)["transactions"] == 2


def test_ids_are_stored_literally(cli, empty_db, tmp_path):
    hostile = "x'}) DETACH DELETE n //`{}\\"
    ingest_json(cli, str(write_csv(tmp_path / "f.csv", [row(Customer_ID=hostile)])))
    assert empty_db.execute_query("MATCH (c:Customer) RETURN c.customerId AS id").records[0]["id"] == hostile


def test_human_summary_reports_warnings(cli, empty_db, seed_csv):
    result = cli("ingest", str(seed_csv), "--silent")
    assert result.exit_code == 0
    assert "Rows read              1,000" in result.output
    assert "Warning: 999 x Regulatory Requirements outside the documented vocabulary" in result.output


ENTITIES = """
MATCH (n) WHERE n:Customer OR n:Product
OPTIONAL MATCH (n)-[r]->(m) WHERE NOT m:Transaction AND NOT m:Product
WITH n, r, m ORDER BY type(r), m.name
WITH n, collect([type(r), m.name]) AS links
WITH n, links ORDER BY coalesce(n.customerId, n.productId)
RETURN collect([labels(n), properties(n), links]) AS entities
"""


def test_customers_and_products_are_written_in_batches_with_the_graph_of_one_transaction(cli, empty_db, seed_csv):
    ingest_json(cli, str(seed_csv))  # customers and products in one batch of 10,000
    whole = empty_db.execute_query(ENTITIES).records[0]["entities"]
    empty_db.execute_query("MATCH (n) DETACH DELETE n")
    ingest_json(cli, str(seed_csv), "--batch-size", "7")  # ... and in batches of 7
    assert empty_db.execute_query(ENTITIES).records[0]["entities"] == whole
    totals = graph_totals(empty_db)
    empty_db.execute_query("MATCH (n) DETACH DELETE n")
    summary = ingest_json(cli, str(seed_csv), "--batch-size", "7", "--chunk-rows", "37")  # read 37 rows at a time
    assert empty_db.execute_query(ENTITIES).records[0]["entities"] == whole
    assert graph_totals(empty_db) == pytest.approx(totals, rel=1e-12)  # sums of floats: order may differ
    assert (summary["read"], summary["loaded"], summary["duplicates"]) == (1000, 1000, 0)


def test_a_parquet_file_loads_the_graph_its_csv_loads(cli, empty_db, seed_csv, tmp_path):
    pd.read_csv(seed_csv, dtype=str, keep_default_na=False).to_parquet(tmp_path / "seed.parquet")
    summary = ingest_json(cli, str(tmp_path / "seed.parquet"), "--silent")
    assert (summary["read"], summary["loaded"], summary["rejected"]) == (1000, 1000, 0)
    from_parquet = graph_totals(empty_db)
    again = ingest_json(cli, str(seed_csv), "--silent")  # the same rows as CSV: nothing new
    assert again["created"] == 0 and graph_totals(empty_db) == from_parquet


def test_several_files_or_a_folder_load_as_one_with_one_summary(cli, empty_db, seed_csv, tmp_path):
    frame = pd.read_csv(seed_csv, dtype=str, keep_default_na=False)
    folder = tmp_path / "extracts"
    folder.mkdir()
    frame.iloc[:400].to_csv(folder / "a.csv", index=False)
    frame.iloc[400:].to_parquet(folder / "b.parquet")
    bad = frame.iloc[:2].copy()
    bad["Transaction Amount"] = "n/a"
    bad.to_csv(tmp_path / "bad.csv", index=False)

    refused = cli("ingest", str(folder), str(tmp_path / "bad.csv"), "--max-rejects", "1")
    assert refused.exit_code == 4 and "2 of 1002 rows rejected" in refused.output  # counted over every file
    assert graph_totals(empty_db)["transactions"] == 0  # ... and nothing of any file was loaded

    summary = ingest_json(cli, str(folder), str(tmp_path / "bad.csv"), "--silent")
    assert (summary["read"], summary["loaded"], summary["rejected"], summary["created"]) == (1002, 1000, 2, 1000)
    assert [f["read"] for f in summary["files"]] == [400, 600, 2]
    assert summary["rejectsFile"] == str(tmp_path / "bad.rejects.csv")
    assert graph_totals(empty_db)["transactions"] == 1000
    assert cli("ingest", str(seed_csv), str(seed_csv), "--rejects", str(tmp_path / "r.csv")).exit_code == 1
