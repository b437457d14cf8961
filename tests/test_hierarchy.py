"""`wbgraph ingest --hierarchy`: corporate groups in the graph, against the session's real server."""

import json

import pandas as pd

from wbgraph import cypher
from wbgraph.db import read
from wbgraph.runs import Run

from helpers import graph_dump, row, write_csv

HEADER = "Customer ID,Parent ID,Share,Since,Parent Name\n"


def clients(path):
    """Three clients, each with a transaction: SUB-A, SUB-B and SUB-C."""
    rows = [row(Customer_ID=c, Transaction_ID=f"T-{c}") for c in ("SUB-A", "SUB-B", "SUB-C")]
    return write_csv(path, rows)


def stakes(path, body):
    path.write_text(HEADER + body)
    return path


def customers(driver):
    records = driver.execute_query(
        "MATCH (c:Customer) RETURN c.customerId AS id, c.client AS client, c.name AS name, "
        "c.ultimateParentId AS top, c.groupSize AS size ORDER BY id"
    ).records
    return {r["id"]: (r["client"], r["name"], r["top"], r["size"]) for r in records}


def edges(driver, kind):
    query = f"MATCH (c)-[r:{kind}]->(p) RETURN c.customerId AS c, p.customerId AS p, r.share AS share ORDER BY c, p"
    return [(r["c"], r["p"], r["share"]) for r in driver.execute_query(query).records]


GROUP_RULES = """
[[rule]]
name = "no-lending-risky-groups"
group = { riskRating = ["High"] }
product = { category = ["Lending"] }

[[rule]]
name = "no-loans-big-groups"
group = { exposure = { above = THRESHOLD } }
product = { productType = ["Loan"] }
"""

# the recommendations that break GROUP_RULES, counted in Cypher: a group is its clients under
# one ultimate parent (a customer alone: itself); a member's missing fact fails closed
BROKEN_GROUP_RULES = """
MATCH (c:Customer)-[:RECOMMENDED]->(p:Product)
WITH c, p, CASE WHEN c.ultimateParentId IS NULL THEN [c] ELSE COLLECT {
  MATCH (m:Customer {ultimateParentId: c.ultimateParentId}) WHERE m.client IS NULL RETURN m } END AS members
WITH p, any(m IN members WHERE m.riskRating IS NULL OR NOT m.riskRating IN ['Low', 'Medium'])  AS risky,
     reduce(s = 0.0, m IN members | s + coalesce(m.exposure, 0.0)) > $x
     OR any(m IN members WHERE m.exposure IS NULL) AS big
RETURN count(CASE WHEN risky AND p.category = 'Lending' THEN 1 END) AS riskyLending,
       count(CASE WHEN big AND p.productType = 'Loan' THEN 1 END) AS bigLoans, count(*) AS checked
"""

GROUP = (
    "SUB-A,HOLD,0.6,2024-01-31,ACME Holdings\n"  # HOLD is not a client: a holding company
    "SUB-A,SUB-C,0.4,,\n"
    "SUB-B,SUB-A,1,2023-06-30,\n"
    "SUB-B,SUB-B,1,,\n"  # a reject: owning itself
)


def test_a_hierarchy_gives_stakes_a_consolidation_tree_and_groups_and_owners_that_are_not_clients(
    cli, backend, empty_db, tmp_path
):
    loaded = cli(
        "ingest", str(clients(tmp_path / "rows.csv")), "--hierarchy", str(stakes(tmp_path / "g.csv", GROUP)), "--json"
    )
    assert loaded.exit_code == 0, loaded.output
    summary = json.loads(loaded.output)
    assert (summary["read"], summary["loaded"]) == (3, 3)
    h = summary["hierarchy"]
    assert (h["read"], h["loaded"], h["rejected"], h["entities"], h["notClientsCreated"]) == (4, 3, 1, 4, 1)
    assert (h["groups"], h["largestGroup"], h["subsidiaries"]) == (1, 3, 2)
    assert "an entity cannot own itself" in (tmp_path / "g.rejects.csv").read_text()

    assert edges(empty_db, "OWNED_BY") == [("SUB-A", "HOLD", 0.6), ("SUB-A", "SUB-C", 0.4), ("SUB-B", "SUB-A", 1.0)]
    assert edges(empty_db, "SUBSIDIARY_OF") == [("SUB-A", "HOLD", None), ("SUB-B", "SUB-A", None)]
    since = empty_db.execute_query("MATCH ()-[r:OWNED_BY]->(:Customer {customerId: 'HOLD'}) RETURN r.since AS d")
    assert since.records[0]["d"].iso_format() == "2024-01-31"
    assert customers(empty_db) == {
        "HOLD": (False, "ACME Holdings", "HOLD", 3),
        "SUB-A": (None, None, "HOLD", 3),
        "SUB-B": (None, None, "HOLD", 3),
        "SUB-C": (None, None, None, None),  # a minority owner: not in the consolidated group
    }
    # a holding company is no client: nobody trains on it or writes it a recommendation
    without = [r["customerId"] for r in read(empty_db, backend.settings, "writeback/customers_without_set")]
    assert sorted(without) == ["SUB-A", "SUB-B", "SUB-C"]

    # its first transaction makes it a client
    assert cli("ingest", str(write_csv(tmp_path / "hold.csv", [row(Customer_ID="HOLD")])), "--silent").exit_code == 0
    assert customers(empty_db)["HOLD"] == (None, "ACME Holdings", "HOLD", 3)


def test_a_mappings_hierarchy_table_loads_the_banks_file_after_the_rows_or_alone(cli, backend, empty_db, tmp_path):
    (tmp_path / "ownership.csv").write_text(
        "ENTITY,OWNER,FRACTION,SINCE,OWNER_NAME\nSUB-A,HOLD,0.6,31/01/2024,ACME Holdings\nSUB-B,SUB-A,1,,\n"
    )
    mapping = tmp_path / "bank.toml"
    mapping.write_text(
        '[columns]\ncustomerId = "Customer ID"\nproductId = "Product ID"\ndate = "Transaction Date"\n'
        '[hierarchy]\nfile = "ownership.csv"\nchild = "ENTITY"\nparent = "OWNER"\nshare = "FRACTION"\n'
        'since = { column = "SINCE", format = "%d/%m/%Y" }\nname = "OWNER_NAME"\n'
    )
    loaded = cli("ingest", str(clients(tmp_path / "rows.csv")), "--mapping", str(mapping), "--json")
    assert loaded.exit_code == 0, loaded.output
    assert json.loads(loaded.output)["hierarchy"]["loaded"] == 2
    assert edges(empty_db, "SUBSIDIARY_OF") == [("SUB-A", "HOLD", None), ("SUB-B", "SUB-A", None)]
    since = empty_db.execute_query("MATCH ()-[r:OWNED_BY]->(:Customer {customerId: 'HOLD'}) RETURN r.since AS d")
    assert since.records[0]["d"].iso_format() == "2024-01-31"
    before = graph_dump(backend.settings)
    alone = cli("ingest", "--mapping", str(mapping), "--json")  # no files: the hierarchy only
    assert alone.exit_code == 0 and json.loads(alone.output)["hierarchy"]["read"] == 2, alone.output
    assert graph_dump(backend.settings) == before


def test_loading_again_changes_nothing_and_a_new_majority_owner_moves_the_entity(cli, backend, empty_db, tmp_path):
    clients(tmp_path / "rows.csv")
    assert (
        cli("ingest", str(tmp_path / "rows.csv"), "--hierarchy", str(stakes(tmp_path / "g.csv", GROUP))).exit_code == 0
    )
    before = graph_dump(backend.settings)
    assert cli("ingest", "--hierarchy", str(tmp_path / "g.csv"), "--silent").exit_code == 0
    assert graph_dump(backend.settings) == before

    # SUB-A now belongs to SUB-C (70%); HOLD keeps 30%: the group is SUB-C's, HOLD alone
    moved = stakes(tmp_path / "g2.csv", "SUB-A,HOLD,0.3,,\nSUB-A,SUB-C,0.7,,\n")
    shown = cli("ingest", "--hierarchy", str(moved))
    assert shown.exit_code == 0 and "Groups" in shown.output, shown.output
    assert edges(empty_db, "SUBSIDIARY_OF") == [("SUB-A", "SUB-C", None), ("SUB-B", "SUB-A", None)]
    assert edges(empty_db, "OWNED_BY") == [("SUB-A", "HOLD", 0.3), ("SUB-A", "SUB-C", 0.7), ("SUB-B", "SUB-A", 1.0)]
    found = customers(empty_db)
    assert found["HOLD"] == (False, "ACME Holdings", None, None)  # left without subsidiaries: no group facts
    assert [found[c][2:] for c in ("SUB-A", "SUB-B", "SUB-C")] == [("SUB-C", 3)] * 3


def test_a_consolidation_cycle_refuses_the_file_in_one_line_with_nothing_written(cli, backend, empty_db, tmp_path):
    clients(tmp_path / "rows.csv")
    assert cli("ingest", str(tmp_path / "rows.csv"), "--silent").exit_code == 0
    before = graph_dump(backend.settings)
    cycle = stakes(
        tmp_path / "cycle.csv", "SUB-A,SUB-B,0.8,,\nSUB-B,SUB-C,0.9,,\nSUB-C,SUB-A,0.51,,\nSUB-C,NEW,0.2,,\n"
    )
    refused = cli("ingest", "--hierarchy", str(cycle))
    lines = refused.output.strip().splitlines()
    assert refused.exit_code == 3 and len(lines) == 1, refused.output
    assert "a consolidation cycle, SUB-A -> SUB-B -> SUB-C -> SUB-A" in lines[0] and "nothing loaded" in lines[0]
    assert graph_dump(backend.settings) == before  # not even the new owner NEW

    # a cycle with what the graph holds already is refused too
    assert cli("ingest", "--hierarchy", str(stakes(tmp_path / "a.csv", "SUB-A,SUB-B,1,,\n"))).exit_code == 0
    closing = cli("ingest", "--hierarchy", str(stakes(tmp_path / "b.csv", "SUB-B,SUB-A,0.6,,\n")))
    assert closing.exit_code == 3 and "SUB-A -> SUB-B -> SUB-A" in closing.output


def test_hierarchy_rejects_count_against_max_rejects_and_bulk_refuses_a_hierarchy(cli, backend, empty_db, tmp_path):
    rows = clients(tmp_path / "rows.csv")
    bad = stakes(tmp_path / "bad.csv", "SUB-A,HOLD,1.5,,\nSUB-B,HOLD,1,,\n")
    refused = cli("ingest", str(rows), "--hierarchy", str(bad), "--max-rejects", "0")
    assert refused.exit_code == 4 and "1 of 5 rows rejected" in refused.output, refused.output
    assert empty_db.execute_query("MATCH (n) RETURN count(n) AS n").records[0]["n"] == 0  # nothing loaded
    bulk = cli("ingest", str(rows), "--bulk", "--hierarchy", str(bad))
    assert bulk.exit_code == 2 and "--hierarchy loads online" in bulk.output
    assert cli("ingest").exit_code == 2  # nothing to load


def test_forgetting_a_member_takes_its_stakes_and_the_rest_of_the_group_gets_its_facts_again(
    cli, backend, empty_db, tmp_path
):
    clients(tmp_path / "rows.csv")
    assert (
        cli("ingest", str(tmp_path / "rows.csv"), "--hierarchy", str(stakes(tmp_path / "g.csv", GROUP))).exit_code == 0
    )
    assert "SUB-B" in (tmp_path / "g.rejects.csv").read_text()
    forgotten = cli("forget", "SUB-B", "--yes", "--json")
    assert forgotten.exit_code == 0 and json.loads(forgotten.output)["found"] == ["SUB-B"], forgotten.output
    assert edges(empty_db, "SUBSIDIARY_OF") == [("SUB-A", "HOLD", None)]
    assert {c: facts[2:] for c, facts in customers(empty_db).items()} == {
        "HOLD": ("HOLD", 2),  # was 3
        "SUB-A": ("HOLD", 2),
        "SUB-C": (None, None),
    }
    assert "SUB-B" not in (tmp_path / "g.rejects.csv").read_text()  # its rejected stake is erased too


def test_a_run_on_a_graph_with_groups_links_members_to_their_groups_holdings_and_writes_back_to_clients_only(
    cli, backend, empty_db, tmp_path
):
    rows, groups, runs = tmp_path / "rows.csv", tmp_path / "groups.csv", tmp_path / "runs"
    made = cli("generate", "--rows", "3000", "--seed", "4", "--output", str(rows), "--groups", str(groups), "--json")
    assert json.loads(made.output)["hierarchyRows"] > 0
    assert cli("ingest", str(rows), "--hierarchy", str(groups), "--silent").exit_code == 0
    threshold = empty_db.execute_query(  # the median group's exposure: a rule that excludes some
        "MATCH (c:Customer) WHERE c.ultimateParentId IS NOT NULL AND c.client IS NULL "
        "WITH c.ultimateParentId AS g, sum(c.exposure) AS e RETURN percentileCont(e, 0.5) AS x"
    ).records[0]["x"]
    rules = tmp_path / "group-rules.toml"
    rules.write_text(GROUP_RULES.replace("THRESHOLD", repr(float(threshold))))
    # the scheduled refresh: the hierarchy again (nothing changes), train, evaluate, write back
    refreshed = cli(
        "run", "--hierarchy", str(groups), "--epochs", "3", "--no-gate", "--rules", str(rules),
        "--runs-dir", str(runs), "--silent", "--json",
    )  # fmt: skip
    assert refreshed.exit_code == 0, refreshed.output
    summary = json.loads(refreshed.output)
    assert summary["ingest"]["hierarchy"]["read"] == json.loads(made.output)["hierarchyRows"]
    run = runs / summary["runId"]
    assert json.loads((run / "encoders.json").read_text())["groups"]  # the model reads the group edges
    excluded = {r["rule"]: r["excluded"] for r in summary["writeback"]["rules"]}
    assert excluded["no-lending-risky-groups"] > 0 and excluded["no-loans-big-groups"] > 0, excluded
    broken = empty_db.execute_query(BROKEN_GROUP_RULES, x=float(threshold)).records[0]
    assert (broken["riskyLending"], broken["bigLoans"], broken["checked"] > 0) == (0, 0, True)
    holdings = empty_db.execute_query(
        "MATCH (c:Customer {client: false}) RETURN count(c) AS n, sum(count { (c)-[:RECOMMENDED]->() }) AS recommended"
    ).records[0]
    assert holdings["n"] > 0 and holdings["recommended"] == 0  # holding companies get no recommendation
    members = empty_db.execute_query(
        "MATCH (c:Customer) WHERE c.groupSize > 1 AND c.client IS NULL RETURN count(c) AS n, "
        "sum(count { (c)-[:RECOMMENDED]->() }) AS recommended"
    ).records[0]
    assert members["n"] > 0 and members["recommended"] > 0  # members are recommended to, as every client
    holding = empty_db.execute_query("MATCH (c:Customer {client: false}) RETURN c.customerId AS id LIMIT 1")
    shown = json.loads(cli("recommend", holding.records[0]["id"], "--runs-dir", str(runs), "--json").output)
    assert shown["recommendations"] == [] and shown["source"] is None  # not scored live either

    # an analyst sees a member's whole group: the tree, each entity's sets, its white space
    member = empty_db.execute_query(
        "MATCH (c:Customer)-[:SUBSIDIARY_OF]->(:Customer) WHERE c.groupSize >= 4 AND c.client IS NULL "
        "RETURN c.customerId AS id ORDER BY c.groupSize DESC, id LIMIT 1"
    ).records[0]["id"]
    shown = cli("recommend", member, "--group", "--no-live", "--json")
    assert shown.exit_code == 0, shown.output
    group = json.loads(shown.output)["group"]
    top = group["ultimateParentId"]
    assert group["members"][0]["customerId"] == top and group["members"][0]["depth"] == 0
    ids = [m["customerId"] for m in group["members"]]
    in_graph = empty_db.execute_query(
        "MATCH (m:Customer {ultimateParentId: $top}) RETURN collect(m.customerId) AS ids", top=top
    ).records[0]["ids"]
    assert sorted(ids) == sorted(in_graph) and member in ids
    depth = {m["customerId"]: m["depth"] for m in group["members"]}
    assert all(depth[m["customerId"]] == depth[m["parentId"]] + 1 for m in group["members"][1:])
    white = empty_db.execute_query(cypher.analyst_queries()["group_white_space"], customerId=member, limit=100).records
    assert group["whiteSpace"] and [(w["productId"], len(w["usedBy"])) for w in group["whiteSpace"]] == [
        (r["product"], r["members"]) for r in white
    ]
    text = cli("recommend", member, "--group", "--no-live")
    assert f"Group of {top}: {len(ids)} entities" in text.output and " *" in text.output
    tree = empty_db.execute_query(cypher.analyst_queries()["group_tree"], customerId=member).records[0]
    assert len(tree["members"]) == len(ids) and tree["tree"]
    drawn = cli("visualize", "--group", member, "--output", str(tmp_path / "group.html"), "--json")
    assert drawn.exit_code == 0 and json.loads(drawn.output)["nodes"] >= len(ids), drawn.output

    # a member is told what its group uses; erasing the member it cites drops those reasons
    cited = empty_db.execute_query(
        "MATCH (c:Customer) UNWIND range(0, size(coalesce(c.recommendationReasonKinds, [])) - 1) AS i "
        "WITH c, i WHERE c.recommendationReasonKinds[i] = 'group' "
        "RETURN c.recommendationReasonCites[i] AS cites, count(*) AS n, "
        "collect(c.recommendationReasons[c.recommendationReasonRanks[i] - 1])[0] AS text ORDER BY n DESC"
    ).records
    assert cited and cited[0]["text"].startswith("in its corporate group: "), cited[:1]
    parent = next(r["cites"] for r in cited if "its parent " in r["text"])
    label = empty_db.execute_query(
        "MATCH (c:Customer {customerId: $id}) RETURN coalesce(c.name, c.customerId) AS n", id=parent
    ).records[0]["n"]
    said = f"its parent {label} has used"

    def audited():
        audit = pd.concat(pd.read_parquet(f) for f in Run(run).audit_files())
        return sum(said in x for texts in audit["reasons"] for x in texts)

    assert audited() > 0
    assert cli("forget", parent, "--yes", "--runs-dir", str(runs), "--silent").exit_code == 0
    left = empty_db.execute_query(
        "MATCH (c:Customer) WHERE $id IN c.recommendationReasonCites "
        "OR any(t IN c.recommendationReasons WHERE t CONTAINS $said) RETURN count(c) AS n",
        id=parent,
        said=said,
    ).records[0]["n"]
    assert left == 0
    lists = empty_db.execute_query(
        "MATCH (c:Customer) WHERE c.recommendationReasonKinds IS NOT NULL RETURN count(c) AS n, "
        "count(CASE WHEN size(c.recommendationReasonKinds) = size(c.recommendationReasonCites) "
        "= size(c.recommendationReasonRanks) THEN 1 END) AS parallel"
    ).records[0]
    assert lists["n"] == lists["parallel"] > 0
    assert audited() == 0


def test_neo4j_browser_draws_a_customers_group_with_the_shipped_style(cli, backend, empty_db, tmp_path):
    import os
    import shutil

    import pytest
    from chromium import Chromium
    from test_visualize import browser_login, browser_run, svg_texts

    if backend.server is None:
        pytest.skip("Neo4j Browser is checked on the local server wbgraph manages (this session uses another)")
    loaded = cli("ingest", str(clients(tmp_path / "rows.csv")), "--hierarchy", str(stakes(tmp_path / "g.csv", GROUP)))
    assert loaded.exit_code == 0, loaded.output
    with Chromium() as page:
        browser_login(page, backend.server)
        browser_run(page, ":style " + cypher.browser_style())
        page.wait_for("document.body.innerText.includes('relationship.SUBSIDIARY_OF')", what="the style frame")
        browser_run(page, ":param customerId => 'SUB-B'")
        page.wait_for('document.body.innerText.includes(\'"customerId": "SUB-B"\')', what="the parameter")
        browser_run(page, cypher.analyst_queries()["group_tree"])
        page.wait_for(
            "Array.from(document.querySelectorAll('svg text')).some(t => t.textContent.includes('SUBSIDIARY_OF'))",
            what="the group's graph view",
        )
        shown = svg_texts(page)
        png = page.screenshot(tmp_path / "browser-group.png")
    assert {"HOLD", "SUB-A", "SUB-B"} <= {t.split(" ·")[0] for t in shown}  # the group's three entities
    assert "SUB-C" not in {t.split(" ·")[0] for t in shown} or "0.4" in shown  # a minority owner only by its stake
    tree = [t for t in shown if t.startswith("SUBSI")]  # a short link's caption ends in an ellipsis
    assert len(tree) == 2 and "0.6" in shown  # the tree, and a stake captioned by its share
    if os.environ.get("WBGRAPH_SCREENSHOTS"):  # refresh the README's picture
        shutil.copy(png, os.path.join(os.path.dirname(os.environ["WBGRAPH_SCREENSHOTS"]), "browser-group.png"))
