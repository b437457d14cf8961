"""The Cypher queries the README offers analysts run and return rows."""

import json
import re
from pathlib import Path

README = (Path(__file__).parent.parent / "README.md").read_text()


def readme_statements() -> list[str]:
    statements = []
    for block in re.findall(r"```cypher\n(.*?)```", README, re.S):
        body = "\n".join(line for line in block.splitlines() if not line.strip().startswith("//"))
        statements += [s.strip() for s in body.split(";") if s.strip()]
    return statements


def test_readme_queries_return_rows(backend, small_graph, driver):
    statements = readme_statements()
    assert len(statements) == 3
    customer = driver.execute_query("MATCH (c:Customer) RETURN c.customerId AS id ORDER BY id LIMIT 1").records[0]["id"]
    for statement in statements:
        assert driver.execute_query(statement, customerId=customer).records, statement


def test_analyst_query_library_runs_and_returns_rows(cli, backend, small_graph, driver, tmp_path):
    from wbgraph import cypher

    runs = tmp_path / "runs"
    for seed in ("0", "1"):  # two runs written one after the other: something changed
        assert (
            cli(
                "train", "--epochs", "2", "--hidden", "8", "--seed", seed, "--runs-dir", str(runs), "--silent"
            ).exit_code
            == 0
        )
        assert cli("writeback", "--runs-dir", str(runs), "--top-k", "5", "--silent").exit_code == 0
    customer, product = driver.execute_query(
        "MATCH (c:Customer)-[:RECOMMENDED {rank: 1}]->(p:Product) RETURN c.customerId AS c, p.productId AS p ORDER BY c LIMIT 1"
    ).records[0]
    params = {"customerId": customer, "productId": product, "limit": 25, "kind": "similar", "minShare": 0.0}
    queries = cypher.analyst_queries()
    assert set(queries) == {
        "recommendations_for_customer",
        "best_prospects_for_product",
        "similar_customers_using_product",
        "segment_overview",
        "why_this_recommendation",
        "recommendations_changed",
        "recommendations_graph",
        "recommendations_by_reason",
        "group_tree",
        "group_white_space",
    }
    for name, text in queries.items():
        assert text.startswith("// "), name  # says what it answers
        assert "Parameters:" in text, name  # and which parameters it takes
        records = driver.execute_query(text, params).records
        if name == "group_white_space":  # no corporate groups here: tests/test_hierarchy.py runs it on some
            assert records == [], name
        else:
            assert records, name


def test_bloom_perspective_covers_the_graph_and_its_search_phrases_run(cli, backend, small_graph, driver, tmp_path):
    import json

    perspective = json.loads((Path(__file__).parent.parent / "bloom" / "wbgraph-perspective.json").read_text())
    runs = tmp_path / "runs"
    for seed in ("0", "1"):
        assert (
            cli(
                "train", "--epochs", "2", "--hidden", "8", "--seed", seed, "--runs-dir", str(runs), "--silent"
            ).exit_code
            == 0
        )
        assert cli("writeback", "--runs-dir", str(runs), "--top-k", "5", "--silent").exit_code == 0
    labels = set(driver.execute_query("CALL db.labels() YIELD label RETURN collect(label) AS l").records[0]["l"])
    types = set(
        driver.execute_query(
            "CALL db.relationshipTypes() YIELD relationshipType RETURN collect(relationshipType) AS t"
        ).records[0]["t"]
    )
    assert labels <= {label for c in perspective["categories"] for label in c["labels"]}  # every label has a colour
    assert types <= {r["name"] for r in perspective["relationshipTypes"]}
    customer, product, segment = driver.execute_query("""
        MATCH (g:Segment)<-[:IN_SEGMENT]-(c:Customer)-[:RECOMMENDED {rank: 1}]->(p:Product)
        RETURN c.customerId AS c, p.productId AS p, g.name AS g ORDER BY c LIMIT 1""").records[0]
    values = {"customerId": customer, "productId": product, "segmentName": segment}
    for template in perspective["templates"]:
        params = {p["name"]: values[p["name"]] for p in template["params"]}
        assert set(params) == set(re.findall(r"\$(\w+)", template["text"])), template["name"]
        assert driver.execute_query(template["cypher"], params).records, template["name"]


def test_the_cli_runs_a_shipped_query_by_name_or_a_query_file(cli, backend, small_graph, driver, tmp_path):
    runs = tmp_path / "runs"
    assert cli("train", "--epochs", "2", "--hidden", "8", "--runs-dir", str(runs), "--silent").exit_code == 0
    assert cli("writeback", "--runs-dir", str(runs), "--top-k", "3", "--silent").exit_code == 0
    customer = driver.execute_query("MATCH (c:Customer) RETURN c.customerId AS id ORDER BY id LIMIT 1").records[0]["id"]
    by_name = cli("query", "--name", "recommendations_for_customer", "-p", f"customerId={customer}", "--format", "json")
    assert by_name.exit_code == 0, by_name.output
    assert [row["rank"] for row in json.loads(by_name.output)] == [1, 2, 3]

    question = tmp_path / "question.cypher"
    question.write_text("// my own question\nMATCH (c:Customer {customerId: $id}) RETURN c.customerId AS id\n")
    by_file = cli("query", "--file", str(question), "-p", f"id={customer}", "--format", "csv")
    assert by_file.exit_code == 0 and by_file.output.splitlines() == ["id", customer]

    unknown = cli("query", "--name", "nope")
    assert unknown.exit_code == 1 and "No shipped query named 'nope'" in unknown.output
    assert "recommendations_for_customer" in unknown.output
    assert cli("query", "RETURN 1", "--name", "segment_overview").exit_code == 2
