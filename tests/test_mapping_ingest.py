"""An extract in its own shape, loaded through a mapping and taken through the pipeline (real server)."""

import json

import pytest

import wbgraph

MAPPING = """
[columns]
customerId = "userId"
productId = "movieId"
date = { column = "timestamp", format = "epoch-seconds" }
amount = { column = "rating", required = true }

[products]
file = "movies.csv"
key = "movieId"
[products.columns]
productType = { column = "genres", split = "|", take = "first" }
category = { column = "genres", split = "|", take = "first", case = "upper" }
[products.extra]
year = { column = "year", type = "int", model = true }
[extra.Customer]
cohort = { column = "cohort", model = true }
"""


def test_a_ratings_file_with_a_product_catalogue_goes_through_ingest_train_evaluate_writeback(cli, empty_db, tmp_path):
    rows = wbgraph.generate(2000, seed=6, customers=80, products=15, truth=False).rows
    ratings = rows.assign(timestamp=rows["Transaction Date"].astype("int64") // 10**9)  # nanoseconds -> epoch seconds
    ratings = ratings.rename(columns={"Customer ID": "userId", "Product ID": "movieId", "Product Usage": "rating"})
    ratings["cohort"] = "c" + (ratings["userId"].str[-1:].astype(int) % 3).astype(str)  # a model feature
    ratings[["userId", "movieId", "rating", "timestamp", "cohort"]].to_csv(tmp_path / "ratings.csv", index=False)
    movies = rows.drop_duplicates("Product ID")[["Product ID", "Product Type", "Product Category"]]
    movies = movies.assign(genres=movies["Product Type"] + "|" + movies["Product Category"])
    movies["year"] = 1990 + movies["Product ID"].str[-2:].astype(int)
    catalogue = movies.rename(columns={"Product ID": "movieId"})[["movieId", "genres", "year"]]
    catalogue.to_csv(tmp_path / "movies.csv", index=False)
    (tmp_path / "movielens.toml").write_text(MAPPING)

    checked = cli("mapping", "check", str(tmp_path / "movielens.toml"))
    assert checked.exit_code == 0 and "Required in every row: amount, customerId, date, productId" in checked.output
    described = json.loads(cli("mapping", "check", str(tmp_path / "movielens.toml"), "--json").output)
    assert described == json.loads(json.dumps(described)) and described  # the same mapping, as data
    loaded = cli(
        "ingest", str(tmp_path / "ratings.csv"), "--mapping", str(tmp_path / "movielens.toml"), "--json", "--silent"
    )
    assert loaded.exit_code == 0, loaded.output
    summary = json.loads(loaded.output)
    assert summary["read"] == summary["loaded"] == 2000 and summary["rejected"] == 0
    counts = empty_db.execute_query(
        "MATCH (p:Product) RETURN count(p) AS products, count(p.productType) AS typed, collect(DISTINCT p.category) AS cats"
    ).records[0]
    assert counts["products"] == counts["typed"] == movies["Product ID"].nunique()
    assert all(c == c.upper() for c in counts["cats"])
    usage = empty_db.execute_query("MATCH ()-[u:USES]->() RETURN sum(u.transactionCount) AS n").records[0]["n"]
    assert (
        usage == 2000 - ratings.duplicated(["userId", "movieId", "rating", "timestamp"]).sum()
    )  # same values, one row

    runs = str(tmp_path / "runs")
    assert cli("train", "--epochs", "5", "--hidden", "8", "--runs-dir", runs, "--silent").exit_code == 0
    (run,) = (tmp_path / "runs").glob("*/encoders.json")  # the mapping's model = true properties reached the model
    encoders = json.loads(run.read_text())
    assert encoders["extras"] == {"Customer": {"cohort": "category"}, "Product": {"year": "number"}}
    assert encoders["vocabularies"]["Customer.cohort"] == ["c0", "c1", "c2"] and "Product.year" in encoders["scales"]
    assert cli("evaluate", "--runs-dir", runs).exit_code == 0
    written = cli("writeback", "--no-rules", "--runs-dir", runs, "--silent", "--json")
    assert written.exit_code == 0 and json.loads(written.output)["edges"] > 0


def test_a_mapping_that_names_a_missing_column_writes_nothing(cli, empty_db, tmp_path):
    (tmp_path / "t.csv").write_text("client,item,when\nA,X,2025-01-01\n")
    (tmp_path / "m.toml").write_text('[columns]\ncustomerId = "client"\nproductId = "product"\ndate = "when"\n')
    result = cli("ingest", str(tmp_path / "t.csv"), "--mapping", str(tmp_path / "m.toml"))
    assert result.exit_code == 3 and result.output.startswith("Error: ") and "has no column 'product'" in result.output
    assert empty_db.execute_query("MATCH (n) RETURN count(n) AS n").records[0]["n"] == 0


def test_extra_columns_land_as_typed_properties_of_their_nodes(cli, empty_db, tmp_path):
    (tmp_path / "t.csv").write_text(
        "client,product,booked,segment,channel,fee\nC1,P1,2025-01-02,mid,web,1.5\nC2,P1,2025-01-03,,branch,\n"
    )
    (tmp_path / "clients.csv").write_text("client,since\nC1,31/12/2019\n")
    (tmp_path / "m.toml").write_text(
        "[columns]\ncustomerId = 'client'\nproductId = 'product'\ndate = 'booked'\n"
        "[extra.Customer]\nsegment = 'segment'\n"
        "[extra.Transaction]\nchannel = 'channel'\nfee = { column = 'fee', type = 'float' }\n"
        "[customers]\nfile = 'clients.csv'\nkey = 'client'\n"
        "[customers.extra]\nonboarded = { column = 'since', type = 'date', format = '%d/%m/%Y' }\n"
    )
    loaded = cli("ingest", str(tmp_path / "t.csv"), "--mapping", str(tmp_path / "m.toml"), "--json", "--silent")
    assert loaded.exit_code == 0, loaded.output
    rows = empty_db.execute_query(
        "MATCH (c:Customer)-[:PERFORMED]->(t:Transaction) RETURN c.customerId AS id, c.segment AS segment, "
        "c.onboarded AS onboarded, t.channel AS channel, t.fee AS fee ORDER BY id"
    ).records
    first, second = (r.data() for r in rows)
    assert (first["segment"], first["channel"], first["fee"]) == ("mid", "web", 1.5)
    assert first["onboarded"].iso_format().startswith("2019-12-31T00:00:00")
    assert (second["segment"], second["onboarded"], second["fee"], second["channel"]) == (None, None, None, "branch")


def test_a_rate_table_puts_money_in_the_reporting_currency_on_transactions_and_uses(cli, empty_db, tmp_path):
    (tmp_path / "t.csv").write_text(
        "client,product,booked,amount,value,ccy\nC1,P1,2025-01-02,100,10,EUR\nC1,P1,2025-01-03,1000,20,JPY\n"
    )
    (tmp_path / "m.toml").write_text(
        "[columns]\ncustomerId = 'client'\nproductId = 'product'\ndate = 'booked'\namount = 'amount'\n"
        "value = 'value'\ncurrency = 'ccy'\n[currency]\nreporting = 'USD'\nrates = { EUR = 1.1, JPY = 0.0065 }\n"
    )
    loaded = cli("ingest", str(tmp_path / "t.csv"), "--mapping", str(tmp_path / "m.toml"), "--json", "--silent")
    assert loaded.exit_code == 0, loaded.output
    uses = empty_db.execute_query("MATCH ()-[u:USES]->() RETURN properties(u) AS u").records[0]["u"]
    assert uses["totalAmountReporting"] == pytest.approx(116.5) and uses["totalValueReporting"] == pytest.approx(11.13)
    assert "totalAmount" not in uses and "currency" not in uses  # EUR and JPY are never added as they are
    converted = empty_db.execute_query("MATCH (t:Transaction) RETURN sum(t.amountReporting) AS s").records[0]["s"]
    assert converted == pytest.approx(116.5)


REGULATIONS = "MATCH (p:Product)-[:SUBJECT_TO]->(g:Regulation) WITH p, g ORDER BY g.name RETURN p.productId AS p, collect(g.name) AS regs ORDER BY p"


@pytest.mark.parametrize(
    "mode,first,second",
    [
        # every regulation a product was traded under (the default)
        (
            "accumulate",
            {"P1": ["AML", "KYC"], "P2": ["Basel III", "CCAR"]},
            {"P1": ["AML", "Dodd-Frank", "KYC"], "P2": ["Basel III", "CCAR", "KYC"]},
        ),
        # the latest row's, replaced only by a later row (P1's row in the second file is older)
        ("latest", {"P1": ["AML"], "P2": ["Basel III"]}, {"P1": ["AML"], "P2": ["KYC"]}),
    ],
)
def test_a_products_regulations_accumulate_or_follow_its_latest_row_as_the_mapping_says(
    cli, empty_db, tmp_path, mode, first, second
):
    mapping = f'regulations = "{mode}"\n[columns]\ncustomerId = "c"\nproductId = "p"\ndate = "d"\nregulation = "r"\n'
    (tmp_path / "m.toml").write_text(mapping)
    (tmp_path / "a.csv").write_text(
        "c,p,d,r\nC1,P1,2025-01-01,KYC\nC2,P1,2025-03-01,AML\nC1,P2,2025-02-01,Basel III\nC2,P2,2025-01-15,CCAR\n"
    )
    (tmp_path / "b.csv").write_text("c,p,d,r\nC3,P1,2025-02-15,Dodd-Frank\nC3,P2,2025-04-01,KYC\n")
    for name, expected in (("a.csv", first), ("b.csv", second)):
        loaded = cli("ingest", str(tmp_path / name), "--mapping", str(tmp_path / "m.toml"), "--silent")
        assert loaded.exit_code == 0, loaded.output
        assert {r["p"]: r["regs"] for r in empty_db.execute_query(REGULATIONS).records} == expected, name
