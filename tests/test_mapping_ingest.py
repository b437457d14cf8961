"""An extract in its own shape, loaded through a mapping and taken through the pipeline (real server)."""

import json

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
"""


def test_a_ratings_file_with_a_product_catalogue_goes_through_ingest_train_evaluate_writeback(cli, empty_db, tmp_path):
    rows = wbgraph.generate(2000, seed=6, customers=80, products=15, truth=False).rows
    ratings = rows.assign(timestamp=rows["Transaction Date"].astype("int64") // 10**9)  # nanoseconds -> epoch seconds
    ratings = ratings.rename(columns={"Customer ID": "userId", "Product ID": "movieId", "Product Usage": "rating"})
    ratings[["userId", "movieId", "rating", "timestamp"]].to_csv(tmp_path / "ratings.csv", index=False)
    movies = rows.drop_duplicates("Product ID")[["Product ID", "Product Type", "Product Category"]]
    movies = movies.assign(genres=movies["Product Type"] + "|" + movies["Product Category"])
    movies.rename(columns={"Product ID": "movieId"})[["movieId", "genres"]].to_csv(tmp_path / "movies.csv", index=False)
    (tmp_path / "movielens.toml").write_text(MAPPING)

    checked = cli("mapping", "check", str(tmp_path / "movielens.toml"))
    assert checked.exit_code == 0 and "Required in every row: amount, customerId, date, productId" in checked.output
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
    assert cli("evaluate", "--runs-dir", runs).exit_code == 0
    written = cli("writeback", "--no-rules", "--runs-dir", runs, "--silent", "--json")
    assert written.exit_code == 0 and json.loads(written.output)["edges"] > 0


def test_a_mapping_that_names_a_missing_column_writes_nothing(cli, empty_db, tmp_path):
    (tmp_path / "t.csv").write_text("client,item,when\nA,X,2025-01-01\n")
    (tmp_path / "m.toml").write_text('[columns]\ncustomerId = "client"\nproductId = "product"\ndate = "when"\n')
    result = cli("ingest", str(tmp_path / "t.csv"), "--mapping", str(tmp_path / "m.toml"))
    assert result.exit_code == 3 and result.output.startswith("Error: ") and "has no column 'product'" in result.output
    assert empty_db.execute_query("MATCH (n) RETURN count(n) AS n").records[0]["n"] == 0
