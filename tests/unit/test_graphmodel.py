"""The graph model owns every property: a new model feature is one entry in ``graphmodel.PROPERTIES``.

The validator, the importers, the exporter, the model's encoders, the boosted tree and the
eligibility rules all read the table, so the feature needs nothing else to reach all of them.
"""

import json
import subprocess
import sys
from pathlib import Path

from wbgraph import graphmodel
from wbgraph.gnn import boosted, data
from wbgraph.loaders import columns
from wbgraph.writeback import eligibility

GRAPHMODEL = Path(graphmodel.__file__)
ENTRY = '    Property("Board Size", "boardSize", "Customer", "int", low=0, model="log"),\n'

# Runs in a fresh interpreter: graphmodel.py with ENTRY added is the graph model every module imports.
PROGRAM = """
import json, sys, types
path, entry, folder = sys.argv[1:4]
source = open(path).read().replace("PROPERTIES = (\\n", "PROPERTIES = (\\n" + entry, 1)
module = types.ModuleType("wbgraph.graphmodel")
module.__file__ = path
sys.modules["wbgraph.graphmodel"] = module
exec(compile(source, path, "exec"), module.__dict__)

import wbgraph
from wbgraph.gnn import boosted, export
from wbgraph.gnn.data import prepare_tables
from wbgraph.loaders import columns
from wbgraph.loaders.validate import validate
from wbgraph.writeback import eligibility

rows = wbgraph.generate(600, seed=3, customers=40, products=8, truth=False).rows
empty = rows["Board Size"].isna().all()  # the generator writes the new column, empty: it does not draw it
rows["Board Size"] = rows["Customer ID"].str[-3:].astype(int) % 7 + 3
rows.to_csv(folder + "/extract.csv", index=False)
checked = validate(folder + "/extract.csv")  # the default format: the new column is one of its columns
prepared = prepare_tables(export.tables_from_rows(checked.rows))
without = prepare_tables(export.tables_from_rows(checked.rows), ignore=("boardSize",))
print(json.dumps({
    "generatedEmpty": bool(empty),
    "headers": len(columns.HEADERS),
    "stored": "boardSize" in checked.rows.columns,
    "exported": "boardSize" in export.CUSTOMER_COLUMNS,
    "scale": prepared.encoders.scales.get("boardSize"),
    "added": prepared.train_graph["customer"].x.shape[1] - without.train_graph["customer"].x.shape[1],
    "tree": "boardSize" in boosted.CUSTOMER_NUMBERS,
    "rules": "boardSize" in eligibility.NUMERIC_FIELDS and "boardSize" in eligibility.CUSTOMER_FIELDS,
}))
"""


def test_the_derived_tables_are_the_graph_models():
    assert columns.COLUMNS is graphmodel.PROPERTIES
    assert data.CUSTOMER_NUMBERS == {
        "companySize": True,
        "creditScore": False,
        "defaultProbability": False,
        "exposure": True,
    }
    assert data.CUSTOMER_CATEGORIES == ("customerType", "industry", "location", "relationshipManager", "riskRating")
    assert data.PRODUCT_CATEGORIES == ("productType", "category", "subcategory", "features")
    assert boosted.PRODUCT_CATEGORIES == ("productType", "category")  # subcategory and features: tree = False
    assert eligibility.NUMERIC_FIELDS == ("companySize", "creditScore", "defaultProbability", "exposure")


def test_a_new_model_feature_is_one_entry_in_the_graph_model(tmp_path):
    assert ENTRY not in GRAPHMODEL.read_text()
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(GRAPHMODEL), ENTRY, str(tmp_path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["headers"] == len(columns.HEADERS) + 1
    assert found["generatedEmpty"] and found["stored"] and found["exported"]
    assert found["scale"] is not None  # the encoders scale it (log1p, as the entry says)
    assert found["tree"] and found["rules"]  # the boosted tree reads it; a rule may bound it
    assert found["added"] == 1  # one more column of customer features: the model reads it


def test_a_file_with_a_column_the_graph_model_lacks_is_refused_in_one_line(tmp_path):
    import wbgraph
    from wbgraph.errors import InputFileError
    from wbgraph.loaders.validate import validate

    rows = wbgraph.generate(200, seed=3, customers=20, products=6, truth=False).rows
    rows["Board Size"] = 5
    rows.to_csv(tmp_path / "extract.csv", index=False)
    try:
        validate(tmp_path / "extract.csv")
    except InputFileError as e:
        assert "unknown columns: 'Board Size'" in str(e) and "\n" not in str(e)
    else:
        raise AssertionError("a column outside the graph model was read")
