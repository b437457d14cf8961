"""`wbgraph outcomes ingest`: offers and their outcomes in the graph, against the session's real server."""

import json
from collections import Counter
from pathlib import Path

from helpers import graph_dump, row, write_csv

HEADER = "customerId,productId,offeredAt,outcome,decidedAt,channel,rm,runId,rank\n"


def clients(path):
    """C1 takes P1 in 2025-03 and P2 in 2025-08; C2 takes P1 in 2025-01."""
    rows = [
        row(Customer_ID="C1", Product_ID="P1", Transaction_ID="T1", Transaction_Date="2025-03-10"),
        row(Customer_ID="C1", Product_ID="P2", Transaction_ID="T2", Transaction_Date="2025-08-20"),
        row(Customer_ID="C1", Product_ID="P2", Transaction_ID="T3", Transaction_Date="2025-09-01"),
        row(Customer_ID="C2", Product_ID="P1", Transaction_ID="T4", Transaction_Date="2025-01-05"),
    ]
    return write_csv(path, rows)


OFFERS = (
    "C1,P1,2025-02-01,accepted,2025-02-10,branch,RM-001,run-1,1\n"  # converted: its first P1 on 2025-03-10
    "C1,P2,2025-03-01,accepted,,,,,\n"  # its first P2 173 days later: not within 90 days
    "C2,P1,2025-02-01,declined,,,,run-2,\n"  # it held P1 before: not converted by the offer
    "C2,P2,2025-02-01,no-response,,,,,\n"
    "C9,P1,2025-02-01,accepted,,,,,\n"  # line 6: unknown customer
    "C1,P1,2025-02-01,declined,,,,,\n"  # line 7: the same offer again
    "C2,P1,2025-02-02,perhaps,,,,,\n"  # line 8
)


def test_offers_and_outcomes_land_in_the_graph_with_conversions_and_rejects(cli, backend, empty_db, tmp_path):
    assert cli("ingest", str(clients(tmp_path / "rows.csv")), "--silent").exit_code == 0
    empty_db.execute_query("CREATE (:Run {runId: 'run-1'})")
    offers = tmp_path / "offers.csv"
    offers.write_text(HEADER + OFFERS)
    loaded = cli("outcomes", "ingest", str(offers), "--json")
    assert loaded.exit_code == 0, loaded.output
    summary = json.loads(loaded.output)
    assert (summary["read"], summary["loaded"], summary["rejected"]) == (7, 4, 3)
    assert (summary["offers"], summary["accepted"], summary["declined"], summary["noResponse"]) == (4, 2, 1, 1)
    assert summary["converted"] == 1
    rejects = (tmp_path / "offers.rejects.csv").read_text()
    assert (
        "6,no customer C9 in the graph" in rejects and "7,the offer of P1 to C1 on 2025-02-01 is on line 2" in rejects
    )
    assert '8,"outcome perhaps is not one of accepted, declined, no-response"' in rejects  # quoted: commas

    graph = empty_db.execute_query(
        "MATCH (c:Customer)-[:RECEIVED]->(o:Offer)-[:FOR]->(p:Product) "
        "OPTIONAL MATCH (o)-[:CONVERTED_TO]->(t:Transaction) OPTIONAL MATCH (o)-[:FROM_RUN]->(r:Run) "
        "RETURN c.customerId AS c, p.productId AS p, o.outcome AS outcome, toString(o.offeredAt) AS at, "
        "t.transactionId AS converted, r.runId AS run ORDER BY c, p"
    ).records
    assert [tuple(r.values()) for r in graph] == [
        ("C1", "P1", "accepted", "2025-02-01", "T1", "run-1"),
        ("C1", "P2", "accepted", "2025-03-01", None, None),
        ("C2", "P1", "declined", "2025-02-01", None, None),  # run-2 is no run the graph knows
        ("C2", "P2", "no-response", "2025-02-01", None, None),
    ]
    before = graph_dump(backend.settings)
    assert cli("outcomes", "ingest", str(offers), "--silent").exit_code == 0  # again: nothing changes
    assert graph_dump(backend.settings) == before

    # the same offers in the bank's own headers and dates, through a mapping's [outcomes]: the same graph
    bank = tmp_path / "crm.csv"
    bank.write_text("CLIENT,PRODUCT,OFFERED,RESULT\nC1,P1,01/02/2025,accepted\nC2,P2,01/02/2025,no-response\n")
    mapping = tmp_path / "bank.toml"
    mapping.write_text(
        '[columns]\ncustomerId = "Customer ID"\nproductId = "Product ID"\ndate = "Transaction Date"\n'
        '[outcomes]\ncustomerId = "CLIENT"\nproductId = "PRODUCT"\noutcome = "RESULT"\n'
        'offeredAt = { column = "OFFERED", format = "%d/%m/%Y" }\n'
    )
    mapped = cli("outcomes", "ingest", str(bank), "--mapping", str(mapping), "--json")
    assert mapped.exit_code == 0 and json.loads(mapped.output)["offers"] == 4, mapped.output
    keys = "MATCH (o:Offer) RETURN o.offerKey AS k, o.outcome AS outcome ORDER BY k"
    assert [tuple(r.values()) for r in empty_db.execute_query(keys).records] == [
        ("C1|P1|2025-02-01", "accepted"),
        ("C1|P2|2025-03-01", "accepted"),
        ("C2|P1|2025-02-01", "declined"),
        ("C2|P2|2025-02-01", "no-response"),
    ]

    too_many = cli("outcomes", "ingest", str(offers), "--max-rejects", "2")
    assert too_many.exit_code == 4 and "3 of 7 rows rejected" in too_many.output

    forgotten = json.loads(cli("forget", "C2", "--yes", "--json").output)
    assert forgotten["offers"] == 2
    left = empty_db.execute_query("MATCH (o:Offer) RETURN collect(o.offerKey) AS keys").records[0]["keys"]
    assert sorted(left) == ["C1|P1|2025-02-01", "C1|P2|2025-03-01"]
    assert "C2" not in (tmp_path / "offers.rejects.csv").read_text()  # its rejected row is erased too


def test_writeback_keeps_away_what_customers_declined_lately_or_never_answered(cli, backend, empty_db, tmp_path):
    import datetime as dt

    rows, runs = tmp_path / "rows.csv", tmp_path / "runs"
    truth = tmp_path / "truth.json"
    assert cli("generate", "--rows", "2000", "--seed", "3", "--output", str(rows), "--truth", str(truth)).exit_code == 0
    assert cli("ingest", str(rows), "--silent").exit_code == 0
    assert cli("train", "--epochs", "2", "--runs-dir", str(runs), "--silent").exit_code == 0
    assert cli("writeback", "--runs-dir", str(runs), "--no-rules", "--silent").exit_code == 0
    top = empty_db.execute_query(
        "MATCH (c:Customer)-[:RECOMMENDED {rank: 1}]->(p:Product) "
        "RETURN c.customerId AS c, p.productId AS p ORDER BY c LIMIT 3"
    ).records
    (declined, p1), (ignored, p2), (old, p3) = [(r["c"], r["p"]) for r in top]
    day = dt.date.today()
    lately, long_ago = (day - dt.timedelta(days=10)).isoformat(), (day - dt.timedelta(days=200)).isoformat()
    offers = tmp_path / "offers.csv"
    offers.write_text(
        HEADER
        + f"{declined},{p1},{lately},declined,{lately},,,,\n"
        + "".join(f"{ignored},{p2},{(day - dt.timedelta(days=d)).isoformat()},no-response,,,,,\n" for d in (5, 40, 80))
        + f"{old},{p3},{long_ago},declined,{long_ago},,,,\n"  # outside the 90 days: proposed again
    )
    assert cli("outcomes", "ingest", str(offers), "--silent").exit_code == 0

    def first_picks():
        return dict(
            empty_db.execute_query(
                "MATCH (c:Customer)-[:RECOMMENDED]->(p:Product) WHERE c.customerId IN $ids "
                "RETURN c.customerId AS c, collect(p.productId) AS picks",
                ids=[declined, ignored, old],
            ).records
        )

    written = cli("writeback", "--runs-dir", str(runs), "--no-rules", "--silent", "--json")
    assert written.exit_code == 0, written.output
    suppression = json.loads(written.output)["suppression"]
    assert suppression == {"declinedDays": 90, "noResponseMax": 3, "declined": 1, "noResponse": 1}
    picks = first_picks()
    assert p1 not in picks[declined] and p2 not in picks[ignored] and p3 in picks[old]

    # an offer that cannot be read stops the writeback, unless it is told to go on without offers
    empty_db.execute_query("MATCH (o:Offer) WITH o LIMIT 1 SET o.decidedAt = 'last Tuesday'")
    stopped = cli("writeback", "--runs-dir", str(runs), "--no-rules", "--silent")
    assert stopped.exit_code == 14 and "The offers cannot be read for suppression" in stopped.output
    assert len(stopped.output.strip().splitlines()) == 1
    assert first_picks() == picks  # nothing written
    without = cli("writeback", "--runs-dir", str(runs), "--no-rules", "--no-suppression", "--silent", "--json")
    assert without.exit_code == 0 and json.loads(without.output)["suppression"] is None
    assert p1 in first_picks()[declined]

    # what became of the offers, in the report and beside the evaluation: 5 offers, none accepted
    reported = json.loads(cli("report", "--runs-dir", str(runs), "--output", str(tmp_path / "r"), "--json").output)
    assert "outcomes" not in reported["missing"]
    page = (tmp_path / "r" / "index.html").read_text()
    assert "5 offers, 0 accepted: 0.0% (95% interval 0.0%–43.4%); 2 declined, 3 without an answer" in page
    evaluated = cli("evaluate", "--runs-dir", str(runs), "--baselines", "popularity", "--outcomes", "--json")
    assert evaluated.exit_code == 0, evaluated.output
    rates = json.loads(evaluated.output)["outcomes"]
    assert (rates["overall"]["offers"], rates["overall"]["declined"], rates["overall"]["noResponse"]) == (5, 2, 3)
    expected = Counter([p1, p2, p2, p2, p3])  # the offers written above, per product (two may be one)
    assert {r["value"]: r["offers"] for r in rates["product"]} == expected and rates["run"] == []

    # the loop on generated data: the run's sets offered, outcomes drawn from the truth, loaded back
    drawn = cli("simulate", "offers", "--truth", str(truth), "--output", str(tmp_path / "sim.csv"),
                "--runs-dir", str(runs), "--share", "1", "--json")  # fmt: skip
    assert drawn.exit_code == 0, drawn.output
    simulated = json.loads(drawn.output)
    assert simulated["offers"] == 3 * simulated["customers"] > 0 and simulated["notInTruth"] == 0
    assert simulated["accepted"] + simulated["declined"] + simulated["noResponse"] == simulated["offers"]
    loaded = json.loads(cli("outcomes", "ingest", str(tmp_path / "sim.csv"), "--json").output)
    assert (loaded["loaded"], loaded["rejected"]) == (simulated["offers"], 0)
    rates = json.loads(cli("evaluate", "--runs-dir", str(runs), "--baselines", "popularity", "--outcomes",
                           "--json").output)["outcomes"]  # fmt: skip
    (by_run,) = rates["run"]
    assert (by_run["offers"], by_run["accepted"]) == (simulated["offers"], simulated["accepted"])

    # declines as hard negatives: an unreadable one stops training in one line; readable, each is read
    empty_db.execute_query("MATCH (o:Offer) WHERE o.decidedAt = 'last Tuesday' SET o.decidedAt = o.offeredAt")
    empty_db.execute_query("MATCH (o:Offer {outcome: 'declined'}) WITH o LIMIT 1 SET o.decidedAt = 'soon', o.was = 1")
    hard = ["train", "--epochs", "2", "--hard-negatives", "--runs-dir", str(runs)]
    stopped = cli(*hard, "--silent")
    assert stopped.exit_code == 14 and "The declined offers cannot be read for --hard-negatives" in stopped.output
    assert len(stopped.output.strip().splitlines()) == 1
    empty_db.execute_query("MATCH (o:Offer {was: 1}) SET o.decidedAt = o.offeredAt REMOVE o.was")
    declines = empty_db.execute_query("MATCH (o:Offer {outcome: 'declined'}) RETURN count(o) AS n").records[0]["n"]
    trained = cli(*hard, "--json")
    assert trained.exit_code == 0, trained.output
    metrics = json.loads((Path(json.loads(trained.output)["runDir"]) / "metrics.json").read_text())
    assert metrics["hardNegatives"] == declines > 0
