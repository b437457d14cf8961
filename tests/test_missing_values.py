"""Every optional value may be missing: a file whose optional columns are empty goes through
every command, and randomly blanked columns go through the whole pipeline (real server)."""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wbgraph
from wbgraph.config import TrainConfig
from wbgraph.db import open_driver
from wbgraph.loaders.columns import COLUMNS
from wbgraph.loaders.generate import write

OPTIONAL = [c.header for c in COLUMNS if not c.required]


def blanked(path, seed: int, blanks: dict[str, float]):
    """A small generated file with each column of ``blanks`` emptied on that share of its rows."""
    data = wbgraph.generate(900, seed=seed, customers=60, products=12, truth=False)
    rng = np.random.default_rng(seed)
    for column, share in blanks.items():
        data.rows[column] = data.rows[column].astype(object)
        data.rows.loc[rng.random(len(data.rows)) < share, column] = ""
    write(data, path)
    return data.rows


@pytest.fixture(scope="module")
def empty_optionals(backend, tmp_path_factory):
    """Every optional column empty on every row, ingested once for this module (its tests only read)."""
    folder = tmp_path_factory.mktemp("empty-optionals")
    rows = blanked(folder / "empty.csv", seed=4, blanks=dict.fromkeys(OPTIONAL, 1.0))
    with open_driver(backend.settings) as driver:
        driver.execute_query("MATCH (n) DETACH DELETE n")
    return (
        folder,
        rows["Customer ID"].nunique(),
        sorted(rows["Customer ID"].unique())[0],
        sorted(rows["Product ID"].unique())[0],
    )


def test_every_command_works_when_every_optional_column_is_empty(cli, empty_optionals, driver, tmp_path):
    folder, customers, customer, product = empty_optionals
    runs = str(folder / "runs")
    ingested = cli("ingest", str(folder / "empty.csv"), "--json", "--silent")
    assert ingested.exit_code == 0, ingested.output
    assert json.loads(ingested.output)["loaded"] == 900

    trained = cli("train", "--epochs", "5", "--hidden", "8", "--runs-dir", runs, "--json", "--silent")
    assert trained.exit_code == 0, trained.output
    notes = json.loads(trained.output)["notes"]
    assert any(note.startswith("industry: no value") for note in notes)
    text = cli("train", "--epochs", "2", "--hidden", "8", "--runs-dir", runs, "--silent")
    assert "Note: creditScore: no value in the data, left out of the model" in text.output

    assert cli("evaluate", "--runs-dir", runs).exit_code == 0
    written = cli("writeback", "--no-rules", "--runs-dir", runs, "--segments", "2", "--json", "--silent")
    assert written.exit_code == 0, written.output
    body = json.loads(written.output)
    full = driver.execute_query(
        "MATCH (c:Customer) WHERE COUNT { (c)-[:USES]->() } = COUNT { (:Product) } RETURN count(c) AS n"
    ).records[0]["n"]
    assert body["customers"] == customers and body["covered"] == customers - full  # all but who holds everything

    shown = cli("recommend", customer, "--explain")
    assert shown.exit_code == 0 and " 1. PROD-" in shown.output and "None" not in shown.output, shown.output
    assert cli("recommend", customer, "--json").exit_code == 0
    for args in ((customer,), ("--product", product), ("--segment", "1")):
        drawn = cli("visualize", *args, "--output", str(tmp_path / "v.html"))
        assert drawn.exit_code == 0, drawn.output
    reported = cli("report", "--runs-dir", runs, "--output", str(tmp_path / "report"))
    assert reported.exit_code == 0, reported.output
    for text in wbgraph.cypher.analyst_queries().values():
        params = {"customerId": customer, "productId": product, "segmentId": 1, "limit": 5}
        params |= {"kind": "peers", "minShare": 0.0}  # recommendations_by_reason
        needed = {k: v for k, v in params.items() if f"${k}" in text}
        driver.execute_query(text, needed)  # runs without an error on a graph without optional facts


OPTIONAL_BLANKS = st.dictionaries(st.sampled_from(OPTIONAL), st.sampled_from([0.3, 1.0]), min_size=1, max_size=12)


@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
@given(blanks=OPTIONAL_BLANKS, seed=st.integers(0, 1000))
def test_randomly_blanked_columns_go_through_the_whole_pipeline(backend, tmp_path_factory, blanks, seed):
    folder = tmp_path_factory.mktemp("blanked")
    blanked(folder / "data.csv", seed, blanks)
    with wbgraph.connect(settings=backend.settings) as (driver, settings_):
        driver.execute_query("MATCH (n) DETACH DELETE n")
        loaded = wbgraph.ingest(driver, settings_, folder / "data.csv")
        assert loaded.read == loaded.loaded + loaded.rejected == 900
        wbgraph.train(driver, settings_, TrainConfig(epochs=3, hidden=8), runs_dir=folder / "runs")
        evaluation = wbgraph.evaluate(driver, settings_, runs_dir=folder / "runs")
        assert np.isfinite(evaluation.metrics["gat"]["ndcg@10"])
        written = wbgraph.writeback(driver, settings_, rules=None, segments=2, runs_dir=folder / "runs")
        assert written.covered > 0
        query = "MATCH (c:Customer) WHERE EXISTS { (c)-[:RECOMMENDED]->() } RETURN min(c.customerId) AS id"
        customer = driver.execute_query(query).records[0]["id"]
        assert wbgraph.recommend(driver, settings_, customer, explain=True)["recommendations"]


DEFAULT_RULES_IN_CYPHER = """
    MATCH (c:Customer), (p:Product) WHERE NOT exists((c)-[:USES]->(p))
    WITH c, p, COLLECT { MATCH (p)-[:SUBJECT_TO]->(g:Regulation) RETURN g.name } AS regs
    WITH c, p,
         (c.riskRating IS NULL OR c.riskRating = 'High') AND (p.category IS NULL OR p.category = 'Lending') AS risk,
         (c.defaultProbability IS NULL OR c.defaultProbability > 0.05)
             AND (p.category IS NULL OR p.category = 'Lending') AS pd,
         (c.customerType IS NULL OR c.customerType = 'Government')
             AND (p.productType IS NULL OR p.productType = 'Trade Finance') AS trade,
         (c.location IS NULL OR NOT c.location IN ['USA', 'New York'])
             AND (size(regs) = 0 OR 'Dodd-Frank' IN regs) AS dodd
    RETURN sum(toInteger(risk)) AS risk, sum(toInteger(pd)) AS pd, sum(toInteger(trade)) AS trade,
           sum(toInteger(dodd)) AS dodd,
           sum(CASE WHEN (risk OR pd OR trade OR dodd) AND exists((c)-[:RECOMMENDED]->(p)) THEN 1 ELSE 0 END)
               AS violations"""


def test_the_default_rules_fail_closed_on_missing_facts_recounted_in_cypher(cli, backend, driver, tmp_path):
    # risk, PD, type, location and regulations blank on part of the rows: some customers and products lack them
    blanks = dict.fromkeys(
        ["Risk Rating", "Default Probability", "Customer Type", "Location", "Regulatory Requirements"], 0.6
    )
    blanked(tmp_path / "data.csv", seed=7, blanks=blanks)
    driver.execute_query("MATCH (n) DETACH DELETE n")
    assert cli("ingest", str(tmp_path / "data.csv"), "--silent").exit_code == 0
    missing = driver.execute_query(
        "MATCH (c:Customer) RETURN sum(CASE WHEN c.riskRating IS NULL THEN 1 ELSE 0 END) AS risk, "
        "sum(CASE WHEN c.location IS NULL THEN 1 ELSE 0 END) AS location"
    ).records[0]
    assert missing["risk"] > 0 and missing["location"] > 0  # the rules do meet missing facts

    runs = str(tmp_path / "runs")
    assert cli("train", "--epochs", "3", "--hidden", "8", "--runs-dir", runs, "--silent").exit_code == 0
    written = cli("writeback", "--runs-dir", runs, "--segments", "2", "--json", "--silent")
    assert written.exit_code == 0, written.output
    excluded = json.loads(written.output)["excluded"]
    expected = driver.execute_query(DEFAULT_RULES_IN_CYPHER).records[0]
    assert excluded == {
        "no-lending-high-risk": expected["risk"],
        "no-lending-above-pd-5pct": expected["pd"],
        "no-trade-finance-government": expected["trade"],
        "dodd-frank-us-only": expected["dodd"],
    }
    assert expected["violations"] == 0


def test_rules_blind_to_most_facts_are_announced_before_writing(cli, backend, driver, tmp_path):
    blanked(tmp_path / "data.csv", seed=8, blanks={"Risk Rating": 1.0, "Default Probability": 1.0})
    driver.execute_query("MATCH (n) DETACH DELETE n")
    assert cli("ingest", str(tmp_path / "data.csv"), "--silent").exit_code == 0
    runs = str(tmp_path / "runs")
    assert cli("train", "--epochs", "3", "--hidden", "8", "--runs-dir", runs, "--silent").exit_code == 0
    written = cli("writeback", "--runs-dir", runs, "--segments", "2", "--json", "--silent")
    assert written.exit_code == 0, written.output
    warnings = json.loads(written.output)["warnings"]
    assert "rule 'no-lending-high-risk' reads riskRating, missing for 100% of customers" in " ".join(warnings)
    assert "rule 'no-lending-above-pd-5pct' reads defaultProbability, missing for 100% of customers" in " ".join(
        warnings
    )
    shown = cli("writeback", "--runs-dir", runs, "--segments", "2")
    assert "Warning: rule 'no-lending-high-risk' reads riskRating, missing for 100% of customers" in shown.output
    lending = driver.execute_query(
        "MATCH (:Customer)-[:RECOMMENDED]->(p:Product) WHERE p.category = 'Lending' RETURN count(*) AS n"
    ).records[0]["n"]
    assert lending == 0  # nobody's risk is known: no lending for anyone
