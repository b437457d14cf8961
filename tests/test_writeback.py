"""`wbgraph writeback` and `wbgraph recommend` against the real server: results in the graph."""

import json
import re
import signal

import pytest

from wbgraph.errors import QueryFailed

from helpers import paused

EDGES = """MATCH (c:Customer)-[r:RECOMMENDED]->(p) MATCH (run:Run {runId: r.runId})
           RETURN c.customerId AS c, p.productId AS p, r.rank AS rank, r.score AS score, run.createdAt AS at,
                  split(c.recommendationReasons[r.rank - 1], '\n') AS reasons, c.segment AS segment ORDER BY c, rank"""


@pytest.fixture(scope="module")
def runs(small_graph, tmp_path_factory):
    """Two trained runs on the small graph: the first and second."""
    from click.testing import CliRunner

    from wbgraph.cli import cli

    folder = tmp_path_factory.mktemp("runs")
    ids = []
    for seed in ("0", "1"):
        result = CliRunner().invoke(
            cli, ["train", "--epochs", "30", "--hidden", "16", "--seed", seed, "--runs-dir", str(folder), "--json"]
        )
        assert result.exit_code == 0, result.output
        ids.append(json.loads(result.output)["runId"])
    return folder, ids


def test_writeback_gives_each_customer_k_ranked_new_products_and_is_repeatable(cli, runs, driver):
    folder, (first, _) = runs
    result = cli("writeback", "--runs-dir", str(folder), "--run", first, "--top-k", "4", "--no-rules", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    customers = driver.execute_query("MATCH (c:Customer) RETURN count(c) AS n").records[0]["n"]
    assert (summary["customers"], summary["covered"], summary["edges"]) == (customers, customers, 4 * customers)
    assert summary["excluded"] == {}

    check = """
        MATCH (c:Customer)-[r:RECOMMENDED]->(p:Product)
        WITH c, collect(r.rank) AS ranks, collect(p) AS products, collect(DISTINCT r.runId) AS runs
        RETURN count(c) AS customers,
               all(x IN collect(size(ranks) = 4 AND all(k IN range(1, 4) WHERE k IN ranks)) WHERE x) AS ranked,
               sum(size([p IN products WHERE exists((c)-[:USES]->(p))])) AS held,
               collect(DISTINCT runs) AS runIds
    """
    record = driver.execute_query(check).records[0]
    assert record["customers"] == customers and record["ranked"] and record["held"] == 0
    assert record["runIds"] == [[first]]
    light = """MATCH (c:Customer)-[r:RECOMMENDED]->() RETURN collect(DISTINCT keys(r)) AS keys,
               min(size(c.recommendationReasons)) AS fewest, max(size(c.recommendationReasons)) AS most"""
    record = driver.execute_query(light).records[0]
    assert [sorted(k) for k in record["keys"]] == [["probability", "rank", "runId", "score"]]  # a light edge
    by_rank = """MATCH (c:Customer)-[r:RECOMMENDED]->() WITH c, r ORDER BY r.rank
                 WITH c, collect(r.probability) AS p
                 RETURN all(x IN p WHERE 0 <= x <= 1) AND all(i IN range(1, size(p) - 1) WHERE p[i] <= p[i - 1]) AS ok"""
    assert all(r["ok"] for r in driver.execute_query(by_rank).records)  # a chance, falling with the rank
    assert record["fewest"] == record["most"] == 4  # the reasons of each rank, on the customer
    run = driver.execute_query("MATCH (r:Run {runId: $id}) RETURN r", id=first).records[0]["r"]
    assert run["modelVersion"].startswith("wbgraph-") and run["createdAt"] is not None  # said once, for every edge

    before = [tuple(r.values()) for r in driver.execute_query(EDGES).records]
    assert (
        cli("writeback", "--runs-dir", str(folder), "--run", first, "--top-k", "4", "--no-rules", "--silent").exit_code
        == 0
    )
    assert [
        tuple(r.values()) for r in driver.execute_query(EDGES).records
    ] == before  # same run, same edges, same segments


def test_eligibility_rules_exclude_exactly_the_candidates_they_describe(cli, runs, driver, tmp_path):
    folder, (first, _) = runs
    rules = tmp_path / "rules.toml"
    rules.write_text("""
[[rule]]
name = "no-lending-high-risk"
customer = { riskRating = ["High"] }
product = { category = ["Lending"] }

[[rule]]
name = "first-product-london-only"
customer = { location = { not = ["London"] } }
product = { productId = ["PROD-001"] }

[[rule]]
name = "no-kyc-above-pd"
customer = { defaultProbability = { above = 0.01 } }
product = { regulations = ["KYC"] }
""")
    result = cli(
        "writeback", "--runs-dir", str(folder), "--run", first, "--top-k", "5", "--rules", str(rules), "--json"
    )
    assert result.exit_code == 0, result.output
    excluded = json.loads(result.output)["excluded"]

    # the same rules, written independently in Cypher over the graph's own facts
    expected = driver.execute_query("""
        MATCH (c:Customer), (p:Product) WHERE NOT exists((c)-[:USES]->(p))
        RETURN sum(CASE WHEN c.riskRating = 'High' AND p.category = 'Lending' THEN 1 ELSE 0 END) AS lending,
               sum(CASE WHEN c.location <> 'London' AND p.productId = 'PROD-001' THEN 1 ELSE 0 END) AS first,
               sum(CASE WHEN c.defaultProbability > 0.01 AND exists((p)-[:SUBJECT_TO]->(:Regulation {name: 'KYC'}))
                        THEN 1 ELSE 0 END) AS kyc""").records[0]
    assert excluded == {
        "no-lending-high-risk": expected["lending"],
        "first-product-london-only": expected["first"],
        "no-kyc-above-pd": expected["kyc"],
    }
    assert min(excluded.values()) > 0  # the crafted rules do bite on this data

    violations = driver.execute_query("""
        MATCH (c:Customer)-[:RECOMMENDED]->(p:Product)
        WHERE (c.riskRating = 'High' AND p.category = 'Lending')
           OR (c.location <> 'London' AND p.productId = 'PROD-001')
           OR (c.defaultProbability > 0.01 AND exists((p)-[:SUBJECT_TO]->(:Regulation {name: 'KYC'})))
        RETURN count(*) AS n""").records[0]["n"]
    assert violations == 0
    counts = driver.execute_query("""
        MATCH (c:Customer), (p:Product)
        WHERE NOT exists((c)-[:USES]->(p)) AND NOT (c.riskRating = 'High' AND p.category = 'Lending')
          AND NOT (c.location <> 'London' AND p.productId = 'PROD-001')
          AND NOT (c.defaultProbability > 0.01 AND exists((p)-[:SUBJECT_TO]->(:Regulation {name: 'KYC'})))
        WITH c, count(p) AS eligible
        RETURN eligible, COUNT { (c)-[:RECOMMENDED]->() } AS recommended""").records
    assert all(r["recommended"] == min(5, r["eligible"]) for r in counts)  # K each, fewer only when fewer are eligible
    assert sum(r["recommended"] == 5 for r in counts) > len(counts) / 3


def test_a_run_on_a_window_never_recommends_what_a_customer_bought_after_it(cli, small_graph, driver, tmp_path):
    runs = str(tmp_path / "runs")
    trained = cli("train", "--until", "2025-05-01", "--epochs", "5", "--hidden", "8", "--runs-dir", runs, "--silent")
    assert trained.exit_code == 0, trained.output
    assert cli("writeback", "--runs-dir", runs, "--top-k", "10", "--no-rules", "--silent").exit_code == 0
    later = driver.execute_query("""
        MATCH (c:Customer)-[:PERFORMED]->(t:Transaction)-[:OF_PRODUCT]->(p:Product) WITH c, p, min(t.date) AS first
        WHERE first >= datetime('2025-05-01') RETURN count(*) AS n""").records[0]["n"]
    assert later > 0  # customers did take up products after the window
    counts = driver.execute_query("""
        MATCH (c:Customer) WHERE EXISTS { (c)-[:RECOMMENDED]->() }
        WITH c, COUNT { (c)-[:RECOMMENDED]->() } AS shown, COUNT { (:Product) } - COUNT { (c)-[:USES]->() } AS eligible
        RETURN count(c) AS customers,
               sum(COUNT { (c)-[:RECOMMENDED]->(p) WHERE exists((c)-[:USES]->(p)) }) AS held,
               sum(CASE WHEN shown = CASE WHEN eligible < 10 THEN eligible ELSE 10 END THEN 1 ELSE 0 END) AS full
        """).records[0]
    assert counts["held"] == 0  # held products come from the whole graph, not the run's window
    assert counts["full"] == counts["customers"]


def test_bad_rules_files_are_one_line_errors(cli, runs, tmp_path):
    folder, (first, _) = runs
    for text, message in [
        ('[[rule]]\nname = "x"\ncustomer = { colour = ["red"] }\n', "no customer field 'colour'"),
        ('[[rule]]\nname = "x"\nproduct = { category = "Lending" }\n', "must be a list of values"),
        ('[[rule]]\ndescription = "nameless"\n', "rule 1 needs a name"),
        ("[[rule]\n", "cannot read the rules"),
    ]:
        path = tmp_path / "bad.toml"
        path.write_text(text)
        result = cli("writeback", "--runs-dir", str(folder), "--run", first, "--rules", str(path))
        assert result.exit_code == 1 and message in result.output and len(result.output.strip().splitlines()) == 1, (
            result.output
        )
    both = cli("writeback", "--runs-dir", str(folder), "--rules", str(path), "--no-rules")
    assert both.exit_code == 2


def test_segments_and_their_profiles_match_the_customers_in_them(cli, runs, driver):
    folder, (first, _) = runs
    result = cli("writeback", "--runs-dir", str(folder), "--run", first, "--segments", "4", "--no-rules", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["segments"] == 4
    rows = driver.execute_query("""
        MATCH (g:Segment)
        OPTIONAL MATCH (g)<-[:IN_SEGMENT]-(c:Customer)
        WITH g, collect(c) AS members
        CALL (members) { UNWIND members AS m WITH m.industry AS industry, count(*) AS n
                         RETURN industry ORDER BY n DESC, industry LIMIT 1 }
        RETURN g.segmentId AS id, g.runId AS run, g.size AS size, size(members) AS members,
               all(m IN members WHERE m.segment = g.segmentId) AS labelled, g.dominantIndustry AS dominant, industry,
               g.avgCreditScore AS avgScore, reduce(s = 0.0, m IN members | s + m.creditScore) / size(members) AS score,
               g.mostRecommended AS mostRecommended""").records
    assert sorted(r["id"] for r in rows) == [1, 2, 3, 4] and {r["run"] for r in rows} == {first}
    for r in rows:
        assert r["size"] == r["members"] > 0 and r["labelled"] and r["dominant"] == r["industry"]
        assert r["avgScore"] == pytest.approx(r["score"], abs=1e-3)
        assert r["mostRecommended"]
    ties = driver.execute_query("""MATCH (c:Customer) OPTIONAL MATCH (c)-[m:IN_SEGMENT]->() WITH c, count(m) AS n
                                   RETURN min(n) AS lo, max(n) AS hi""").records[0]
    assert (ties["lo"], ties["hi"]) == (1, 1)
    auto = json.loads(cli("writeback", "--runs-dir", str(folder), "--run", first, "--no-rules", "--json").output)
    assert 3 <= auto["segments"] <= 10 and -1 <= auto["silhouette"] <= 1
    assert driver.execute_query("MATCH (g:Segment) RETURN count(g) AS n").records[0]["n"] == auto["segments"]


def test_reasons_are_backed_by_the_graph(cli, runs, driver):
    folder, (first, _) = runs
    assert cli("writeback", "--runs-dir", str(folder), "--run", first, "--no-rules", "--silent").exit_code == 0
    records = driver.execute_query("""
        MATCH (c:Customer)-[r:RECOMMENDED]->(p:Product) RETURN c.customerId AS c, c.industry AS industry,
               c.segment AS segment, p.productId AS p, split(c.recommendationReasons[r.rank - 1], '\n') AS reasons,
               [i IN range(0, size(c.recommendationReasonRanks) - 1) WHERE c.recommendationReasonRanks[i] = r.rank] AS at,
               c.recommendationReasonKinds AS kinds, c.recommendationReasonCites AS cites,
               c.recommendationReasonShares AS shares, c.recommendationReasonCounts AS counts
        ORDER BY c, r.rank LIMIT 300""").records
    assert all(r["reasons"] for r in records)
    kind_of = {"often taken together": "together", "adopted by": "similar", "held by": "peers"}
    for r in records:  # each sentence's figures are on the customer too, in the same order, by rank
        kinds, cites, shares, counts = ([r[f][i] for i in r["at"]] for f in ("kinds", "cites", "shares", "counts"))
        assert kinds == [next(k for s, k in kind_of.items() if x.startswith(s)) for x in r["reasons"]], r
        for reason, kind, cited, share, count in zip(r["reasons"], kinds, cites, shares, counts, strict=True):
            if kind == "together":
                assert reason.startswith(f"often taken together with {cited} ") and f"of its {count} holders" in reason
                assert f"{share:.0%} of its" in reason
            elif kind == "similar":
                assert cited == f"{r['segment']}|{r['industry']}" and 0 < share <= 1
                assert f"adopted by {round(share * count)} " in reason
    checked = {"together": 0, "segment": 0}
    for r in records:
        for reason in r["reasons"]:
            if m := re.match(
                r"often taken together with (\S+) .*: (\d+)% of its (\d+) holders also use (\S+)$", reason
            ):
                other, share, holders, product = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)
                facts = driver.execute_query(
                    """
                    MATCH (q:Product {productId: $q})<-[:USES]-(h:Customer)
                    RETURN count(h) AS holders, sum(CASE WHEN exists((h)-[:USES]->(:Product {productId: $p})) THEN 1 ELSE 0 END) AS both,
                           exists((:Customer {customerId: $c})-[:USES]->(q)) AS uses""",
                    q=other,
                    p=product,
                    c=r["c"],
                ).records[0]
                assert product == r["p"] and facts["uses"] and facts["holders"] == holders
                assert share == round(100 * facts["both"] / holders)
                checked["together"] += 1
            elif m := re.match(r"adopted by (\d+) (\w+) customers? in segment (\d+),", reason):
                n = driver.execute_query(
                    """
                    MATCH (o:Customer {segment: $s, industry: $i})-[:USES]->(:Product {productId: $p}) RETURN count(o) AS n""",
                    s=int(m.group(3)),
                    i=m.group(2),
                    p=r["p"],
                ).records[0]["n"]
                assert (int(m.group(1)), m.group(2), int(m.group(3))) == (n, r["industry"], r["segment"])
                checked["segment"] += 1
    assert checked["together"] > 0 and checked["segment"] > 0

    customer = records[0]["c"]
    explained = cli("recommend", customer, "--top-k", "2", "--explain").output.splitlines()
    assert explained[0].startswith(customer) and "segment" in explained[0]
    assert explained[1].strip().startswith("1. PROD-") and explained[2].strip().startswith("- ")


def test_a_killed_writeback_leaves_complete_sets_and_a_rerun_converges(cli, runs, driver, tmp_path):
    folder, (first, second) = runs
    common = ["--runs-dir", str(folder), "--top-k", "3", "--no-rules", "--silent"]
    assert cli("writeback", *common, "--run", first).exit_code == 0
    customers = driver.execute_query("MATCH (c:Customer) RETURN count(c) AS n").records[0]["n"]
    # one worker, one customer per batch, held after its first batch: exactly one customer moved, then SIGKILL
    process, _ = paused(
        ["writeback", *common, "--run", second, "--batch-size", "1", "--workers", "1"], "write+1", tmp_path
    )
    process.send_signal(signal.SIGKILL)
    process.wait()

    sets = """MATCH (c:Customer) OPTIONAL MATCH (c)-[r:RECOMMENDED]->()
              WITH c, collect(r.runId) AS runs, collect(r.rank) AS ranks
              RETURN c.customerId AS c, runs, ranks"""
    state = driver.execute_query(sets).records
    assert len(state) == customers
    assert all(sorted(r["ranks"]) == [1, 2, 3] and len(set(r["runs"])) == 1 for r in state)  # complete old or new
    assert sum(1 for r in state if r["runs"][0] == second) == 1  # it really was killed in the middle

    rerun = cli("writeback", *common, "--run", second)  # takes over the dead writer's lock by itself
    assert rerun.exit_code == 0, rerun.output
    final = driver.execute_query(sets).records
    assert all(r["runs"] == [second] * 3 and sorted(r["ranks"]) == [1, 2, 3] for r in final)
    previous = driver.execute_query(
        """MATCH (c:Customer) RETURN count(c) AS n,
        sum(CASE WHEN c.previousRunId = $first AND size(c.previousRecommendations) = 3 THEN 1 ELSE 0 END) AS kept""",
        first=first,
    ).records[0]
    assert previous["kept"] == previous["n"]  # the old set is kept for "what changed" queries
    assert driver.execute_query("MATCH (g:Segment) RETURN collect(DISTINCT g.runId) AS runs").records[0]["runs"] == [
        second
    ]


def test_eight_readers_never_see_a_partial_mixed_or_empty_set_while_a_writeback_replaces_them(
    cli, runs, driver, backend, tmp_path
):
    import threading

    import wbgraph

    folder, (first, second) = runs
    common = ["--runs-dir", str(folder), "--top-k", "3", "--no-rules", "--silent", "--batch-size", "1"]
    assert cli("writeback", *common, "--run", first).exit_code == 0
    customers = [r["id"] for r in driver.execute_query("MATCH (c:Customer) RETURN c.customerId AS id").records]
    # held after its first customer, so the readers are reading before the rest is replaced
    process, flag = paused(["writeback", *common, "--run", second, "--workers", "2"], "write+1", tmp_path)
    seen, bad, stop = [], [], threading.Event()

    def reader(offset: int) -> None:
        i = offset
        while not stop.is_set():
            got = wbgraph.recommend(driver, backend.settings, customers[i % len(customers)], top_k=10)
            runs_ = {r["runId"] for r in got["recommendations"]}
            ranks = [r["rank"] for r in got["recommendations"]]
            seen.append(runs_)
            if len(runs_) != 1 or ranks != [1, 2, 3]:
                bad.append((got["customerId"], runs_, ranks))
            i += 8

    readers = [threading.Thread(target=reader, args=(k,)) for k in range(8)]
    for t in readers:
        t.start()
    flag.unlink()
    try:
        assert process.wait(timeout=300) == 0
    finally:
        stop.set()
        for t in readers:
            t.join()
    print(f"{len(seen)} reads by 8 clients while {len(customers)} customers were replaced one transaction each")
    assert not bad, bad[:5]
    assert len(seen) > len(customers) and {first} in seen and {second} in seen  # they read across the switch

    # read from the edges (--explain), a set met half-replaced is read again, never returned;
    # one that stays so is a one-line error. The snapshot is one property: read whole.
    customer = customers[0]
    driver.execute_query("MATCH (c:Customer {customerId: $id}) SET c.recommendationCount = 4", id=customer)
    with pytest.raises(QueryFailed, match="were being replaced during 51 reads in a row"):
        wbgraph.recommend(driver, backend.settings, customer, explain=True)
    assert [r["rank"] for r in wbgraph.recommend(driver, backend.settings, customer)["recommendations"]] == [1, 2, 3]
    driver.execute_query("MATCH (c:Customer {customerId: $id}) SET c.recommendationCount = 3", id=customer)
    explained = wbgraph.recommend(driver, backend.settings, customer, explain=True)["recommendations"]
    assert [r["rank"] for r in explained] == [1, 2, 3]


def test_the_serving_read_takes_one_node_whose_snapshot_is_the_set_the_edges_hold(cli, runs, driver, backend):
    import neo4j

    import wbgraph

    folder, (first, _) = runs
    assert cli("writeback", "--runs-dir", str(folder), "--run", first, "--top-k", "4", "--silent").exit_code == 0
    customers = [r["id"] for r in driver.execute_query("MATCH (c:Customer) RETURN c.customerId AS id").records]
    with driver.session(database=backend.settings.database, default_access_mode=neo4j.READ_ACCESS) as session:
        fast = {c: wbgraph.recommend(driver, backend.settings, c, top_k=3, session=session) for c in customers}
    assert all(len(f["recommendations"]) == 3 for f in fast.values())  # top_k of the 4 written
    assert all(0 <= r["probability"] <= 1 for f in fast.values() for r in f["recommendations"])
    # the same answer, field for field, from the edges: as a set written before the snapshot is read
    driver.execute_query("MATCH (c:Customer) REMOVE c.recommendationSnapshot")
    from_edges = {c: wbgraph.recommend(driver, backend.settings, c, top_k=3) for c in customers}
    assert fast == from_edges
    assert [list(f) for f in fast.values()] == [list(f) for f in from_edges.values()]  # same fields, same order


def test_one_writer_at_a_time_the_second_is_refused_naming_the_first(cli, runs, driver, small_graph, tmp_path):
    folder, (first, _) = runs
    writeback = ["writeback", "--runs-dir", str(folder), "--run", first, "--no-rules", "--silent"]
    process, flag = paused([*writeback, "--workers", "1"], "write+1", tmp_path)
    try:
        for args in (["ingest", str(small_graph / "g.csv"), "--silent"], ["db", "reset", "--yes"], writeback):
            refused = cli(*args)
            lines = refused.output.strip().splitlines()
            assert refused.exit_code == 13 and len(lines) == 1, refused.output
            assert f"is being written by wbgraph writeback (pid {process.pid} on " in lines[0]
            assert "clear its lock with `wbgraph db unlock`" in lines[0]
        writer = json.loads(cli("db", "status", "--json").output)["writer"]
        assert (writer["command"], writer["pid"]) == ("writeback", process.pid)
        assert driver.execute_query("MATCH (c:Customer) RETURN count(c) AS n").records[0]["n"] > 0  # reset refused
    finally:
        flag.unlink()
    assert process.wait(timeout=300) == 0, process.communicate()
    assert json.loads(cli("db", "status", "--json").output)["writer"] is None  # given back

    # a lock left on another machine: refused until `db unlock` clears it
    driver.execute_query(
        "CREATE (:WbgraphLock {name: 'writer', command: 'ingest', host: 'elsewhere', pid: 1, token: 't',"
        " since: datetime('2026-11-26T03:00:00Z')})"
    )
    refused = cli(*writeback)
    assert (
        refused.exit_code == 13 and "wbgraph ingest (pid 1 on elsewhere, since 2026-11-26T03:00:00)" in refused.output
    )
    cleared = cli("db", "unlock", "--yes")
    assert (
        cleared.output.strip()
        == "Cleared the writer lock of wbgraph ingest (pid 1 on elsewhere, since 2026-11-26T03:00:00)"
    )
    assert json.loads(cli("db", "unlock", "--json").output) == {"cleared": None}  # nobody holds it now
    assert cli(*writeback).exit_code == 0


def test_a_writer_that_died_on_this_machine_leaves_a_lock_the_next_writer_takes_over(cli, runs, tmp_path):
    folder, (first, _) = runs
    writeback = ["writeback", "--runs-dir", str(folder), "--run", first, "--no-rules"]
    process, _ = paused([*writeback, "--silent", "--workers", "1"], "write+1", tmp_path)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert json.loads(cli("db", "status", "--json").output)["writer"]["pid"] == process.pid
    taken = cli(*writeback)
    assert taken.exit_code == 0, taken.output
    assert f"Note: took over the writer lock left by wbgraph writeback (pid {process.pid} on " in taken.output
    assert json.loads(cli("db", "status", "--json").output)["writer"] is None


def test_recommend_reads_the_graph(cli, runs, driver):
    folder, (first, _) = runs
    assert cli("writeback", "--runs-dir", str(folder), "--run", first, "--top-k", "3", "--silent").exit_code == 0
    customer = driver.execute_query("MATCH (c:Customer) RETURN c.customerId AS id ORDER BY id LIMIT 1").records[0]["id"]
    result = cli("recommend", customer, "--top-k", "2", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["customerId"] == customer and [r["rank"] for r in body["recommendations"]] == [1, 2]
    assert all(r["reasons"] for r in body["recommendations"])
    text = cli("recommend", customer).output.splitlines()
    assert text[0].startswith(customer) and text[1].strip().startswith("1. PROD-")

    unknown = cli("recommend", "CUS-NOPE")
    assert unknown.exit_code == 8
    assert unknown.output.strip() == "Error: No customer 'CUS-NOPE' in the graph."


def test_a_writeback_that_would_change_the_sets_too_much_is_refused_and_runs_compare_says_how_much(cli, runs, driver):
    folder, (first, second) = runs
    assert cli("writeback", "--runs-dir", str(folder), "--run", first, "--top-k", "4", "--no-rules").exit_code == 0
    before = [tuple(r.values()) for r in driver.execute_query(EDGES).records]
    refused = cli("writeback", "--runs-dir", str(folder), "--run", second, "--top-k", "4", "--no-rules",
                  "--max-churn", "0")  # fmt: skip
    assert refused.exit_code == 20 and "The new sets would change too much: mean overlap@4" in refused.output
    assert [tuple(r.values()) for r in driver.execute_query(EDGES).records] == before  # nothing written

    allowed = cli("writeback", "--runs-dir", str(folder), "--run", second, "--top-k", "4", "--no-rules",
                  "--max-churn", "1", "--json")  # fmt: skip
    assert allowed.exit_code == 0, allowed.output
    churn = json.loads(allowed.output)["churn"]
    assert churn["against"] == [first] and churn["customers"] == len({r[0] for r in before})
    # the same overlap, counted in Cypher: each customer's new first 4 against the old ones
    old = {}
    for c, p, *_ in before:
        old.setdefault(c, set()).add(p)
    new = driver.execute_query(
        "MATCH (c:Customer)-[:RECOMMENDED]->(p) RETURN c.customerId AS c, collect(p.productId) AS ps"
    )
    shares = [len(old[r["c"]] & set(r["ps"])) / 4 for r in new.records]
    assert churn["meanOverlap"] == pytest.approx(sum(shares) / len(shares)) and churn["meanOverlap"] < 1

    compared = cli("runs", "compare", first, second, "--k", "4", "--runs-dir", str(folder), "--json")
    assert compared.exit_code == 0, compared.output
    result = json.loads(compared.output)
    assert result["runs"] == [first, second] and result["customers"] == churn["customers"]
    assert result["meanOverlap"] == pytest.approx(churn["meanOverlap"])  # the audit files say what the graph held
    assert result["changedMost"][0]["overlap"] == min(shares) and -1 <= result["rankCorrelation"] <= 1
    assert set(result["figures"]) >= {"recall@10", "ndcg@10"}
    drift = result["drift"]  # both runs learned from the same graph: every feature stable, no shift at all
    assert {"customerType", "productsHeld"} <= set(drift) and all(d["psi"] == 0 for d in drift.values())
    assert churn["drift"] == drift  # the writeback says it too, against the run whose sets it replaced
    shown = cli("runs", "compare", first, second, "--runs-dir", str(folder))
    assert "Feature drift from A to B" in shown.output and "productsHeld" in shown.output
