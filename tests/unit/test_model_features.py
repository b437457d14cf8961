"""A mapping's extra property marked ``model = true`` reaches the model, as a number or a category by its type."""

import numpy as np
import pandas as pd

import wbgraph
from wbgraph.config import TrainConfig
from wbgraph.gnn import boosted
from wbgraph.gnn.data import prepare_tables
from wbgraph.gnn.export import tables_from_rows
from wbgraph.gnn.train import fit
from wbgraph.loaders.mapping import load_mapping
from wbgraph.loaders.validate import validate

MAPPING = """
[columns]
customerId = "Customer ID"
productId = "Product ID"
date = "Transaction Date"
amount = "Transaction Amount"
customerType = "Customer Type"
[extra.Customer]
sector = { column = "sector", model = true }
score = { column = "score", type = "float", model = true }
note = "note"
[extra.Product]
launched = { column = "launched", type = "int", model = true }
"""


def mapped(tmp_path, mapping=MAPPING):
    rows = wbgraph.generate(1500, seed=3, customers=60, products=12, truth=False).rows
    number = rows["Customer ID"].str[-3:].astype(int)
    rows["sector"] = np.array(["agri", "tech", "retail"])[number % 3]
    rows["score"] = number * 1.5
    rows["note"] = "call back"
    rows["launched"] = 2000 + rows["Product ID"].str[-3:].astype(int)
    rows.to_csv(tmp_path / "extract.csv", index=False)
    (tmp_path / "m.toml").write_text(mapping)
    chosen = load_mapping(tmp_path / "m.toml")
    return chosen, validate(tmp_path / "extract.csv", mapping=chosen).rows


def test_a_model_property_is_a_category_or_a_number_by_its_type_and_the_others_stay_out(tmp_path):
    mapping, rows = mapped(tmp_path)
    assert mapping.model_features == ["Customer.sector:category", "Customer.score:number", "Product.launched:number"]
    data = prepare_tables(tables_from_rows(rows, features=mapping.model_features))
    assert data.encoders.extras == {
        "Customer": {"sector": "category", "score": "number"},
        "Product": {"launched": "number"},
    }
    assert data.encoders.vocabularies["Customer.sector"] == ["agri", "retail", "tech"]
    plain = prepare_tables(tables_from_rows(rows))  # the same rows, nothing marked for the model
    x, x0 = data.train_graph["customer"].x, plain.train_graph["customer"].x
    assert x.shape[1] == x0.shape[1] + 3 + 1  # sector one-hot, score standardised; note is not there
    assert torch_equal(x[:, : x0.shape[1]], x0)
    sector = data.customers()["sector"].to_numpy()
    assert (x[:, x0.shape[1] + 2].numpy() == (sector == "tech")).all()  # "tech" is the third word
    score = x[:, x0.shape[1] + 3].numpy()
    assert np.corrcoef(score, data.customers()["score"].astype(float))[0, 1] > 0.999
    assert "x" not in plain.train_graph["product"]  # no product attribute mapped: products are their IDs alone
    assert data.train_graph["product"].x.shape[1] == 1  # ... and the launch year


def test_the_boosted_tree_gets_the_same_properties(tmp_path):
    mapping, rows = mapped(tmp_path)
    data = prepare_tables(tables_from_rows(rows, features=mapping.model_features))
    features, _, _ = boosted.pair_features(data.val, data.side(), 50.0, np.arange(data.n_customers))
    assert isinstance(features["customer_sector"].dtype, pd.CategoricalDtype)
    assert features["customer_score"].dtype == "float64" and features["product_launched"].dtype == "float64"
    assert "customer_note" not in features


def test_a_model_property_with_no_value_is_noted_and_left_out_and_the_model_trains(tmp_path):
    mapping, rows = mapped(tmp_path)
    rows["score"] = np.nan
    data = prepare_tables(tables_from_rows(rows, features=mapping.model_features))
    assert "Customer.score: no value in the data, left out of the model" in data.encoders.notes()
    assert "score" not in data.side().features["Customer"]
    fitted = fit(data, TrainConfig(epochs=2, hidden=8, patience=2))
    assert np.isfinite(fitted.val["ndcg@10"])


def test_a_category_value_of_under_one_customer_in_a_hundred_has_no_column_of_its_own(tmp_path):
    mapping, rows = mapped(tmp_path)
    first = sorted(rows["customerId"].unique())[0]
    rows["sector"] = np.where(rows["customerId"] == first, "mining", "tech")
    data = prepare_tables(tables_from_rows(rows, features=mapping.model_features))
    assert data.encoders.vocabularies["Customer.sector"] == ["mining", "tech"]  # 1 customer of 60: not rare
    many = copies(rows, "abcd")  # 240 customers, 4 of them mining
    data = prepare_tables(tables_from_rows(many, features=mapping.model_features))
    assert data.encoders.vocabularies["Customer.sector"] == ["mining", "tech"]
    many.loc[many["customerId"] != first + "a", "sector"] = "tech"  # 1 mining customer of 240: rare
    data = prepare_tables(tables_from_rows(many, features=mapping.model_features))
    assert data.encoders.vocabularies["Customer.sector"] == ["tech"]
    x = data.train_graph["customer"].x
    tech = x.shape[1] - 2  # the sector's one column, before the score
    miner, other = data.encoders.customer_index([first + "a", first + "b"])
    assert (x[miner, tech].item(), x[other, tech].item()) == (0.0, 1.0)  # the rare value: as if missing


def test_a_category_whose_every_value_is_rare_is_noted_and_left_out(tmp_path):
    mapping, rows = mapped(tmp_path)
    many = copies(rows, "abc")
    many["sector"] = many["customerId"]  # 180 customers, each its own sector
    data = prepare_tables(tables_from_rows(many, features=mapping.model_features))
    assert "Customer.sector" in data.encoders.dropped
    note = "Customer.sector: every value held by under 1% of the customers, left out of the model"
    assert note in data.encoders.notes()


def copies(rows: pd.DataFrame, suffixes: str) -> pd.DataFrame:
    """The rows once per suffix, each copy's customers (and transactions) told apart by it."""
    keys = ("customerId", "transactionId", "transactionKey")
    return pd.concat([rows.assign(**{k: rows[k].astype(str) + s for k in keys}) for s in suffixes], ignore_index=True)


def torch_equal(a, b) -> bool:
    return bool((a == b).all())
