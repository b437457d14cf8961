"""`wbgraph writeback` and `wbgraph recommend` against the real server."""

import json


def test_writeback_gives_each_customer_k_ranked_new_products_and_is_repeatable(cli, backend, small_graph, driver, tmp_path):
    runs = tmp_path / "runs"
    assert cli("train", "--epochs", "3", "--hidden", "16", "--runs-dir", str(runs), "--silent").exit_code == 0
    result = cli("writeback", "--runs-dir", str(runs), "--top-k", "4", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    customers = driver.execute_query("MATCH (c:Customer) RETURN count(c) AS n").records[0]["n"]
    assert (summary["customers"], summary["edges"]) == (customers, 4 * customers)

    check = """
        MATCH (c:Customer)-[r:RECOMMENDED]->(p:Product)
        WITH c, collect(r.rank) AS ranks, collect(p) AS products, collect(DISTINCT r.runId) AS runs
        RETURN count(c) AS customers,
               all(x IN collect(apoc.coll.sort(ranks) = [1, 2, 3, 4]) WHERE x) AS ranked,
               sum(size([p IN products WHERE exists((c)-[:USES]->(p))])) AS held,
               collect(DISTINCT runs) AS runIds
    """
    record = driver.execute_query(check).records[0]
    assert record["customers"] == customers and record["ranked"] and record["held"] == 0
    assert record["runIds"] == [[summary["run_id"]]]

    edges = "MATCH (c:Customer)-[r:RECOMMENDED]->(p) RETURN c.customerId AS c, p.productId AS p, r.rank AS rank, r.score AS score, r.createdAt AS at ORDER BY c, rank"
    before = [tuple(r.values()) for r in driver.execute_query(edges).records]
    assert cli("writeback", "--runs-dir", str(runs), "--top-k", "4", "--silent").exit_code == 0
    assert [tuple(r.values()) for r in driver.execute_query(edges).records] == before  # same run, same edges


def test_recommend_reads_the_graph(cli, backend, small_graph, driver, tmp_path):
    runs = tmp_path / "runs"
    assert cli("train", "--epochs", "2", "--hidden", "8", "--runs-dir", str(runs), "--silent").exit_code == 0
    assert cli("writeback", "--runs-dir", str(runs), "--top-k", "3", "--silent").exit_code == 0
    customer = driver.execute_query("MATCH (c:Customer) RETURN c.customerId AS id ORDER BY id LIMIT 1").records[0]["id"]
    result = cli("recommend", customer, "--top-k", "2", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["customerId"] == customer and [r["rank"] for r in body["recommendations"]] == [1, 2]
    text = cli("recommend", customer).output.splitlines()
    assert text[0].startswith(customer) and text[1].strip().startswith("1. PROD-")

    unknown = cli("recommend", "CUS-NOPE")
    assert unknown.exit_code == 8
    assert unknown.output.strip() == "Error: No customer 'CUS-NOPE' in the graph."
