"""What a writeback would write, planned on in-memory tables: top K, rules, segments, reasons."""

import re

import numpy as np
import pandas as pd
import pytest

from wbgraph.config import TrainConfig
from wbgraph.errors import ConfigError
from wbgraph.gnn.data import prepare_tables
from wbgraph.gnn.restore import Restored
from wbgraph.gnn.train import fit
from wbgraph.runs import Run
from wbgraph.writeback.eligibility import Rule, exclusions, impact, load_rules, missing_facts
from wbgraph.writeback.explain import reasons
from wbgraph.writeback.plan import plan_restored
from wbgraph.writeback.segments import profiles, segment

RULES = """
[[rule]]
name = "no-loans-for-high-risk"
customer = { riskRating = ["High"] }
product = { productType = ["Loan"] }
"""


@pytest.fixture(scope="module")
def restored(generated, tmp_path_factory):
    data = prepare_tables(generated["tables"])
    config = TrainConfig(epochs=20, hidden=16)
    fitted = fit(data, config)
    run = Run.create(
        tmp_path_factory.mktemp("runs"),
        "20261125-000000-s0",
        fitted.model,
        data.encoders,
        config,
        {"history": fitted.history, "trainedAt": "2026-11-25T00:00:00+00:00"},
    )
    return Restored(run, config, data, fitted.model)


def test_each_customer_gets_k_ranked_products_it_does_not_hold_none_a_rule_excludes(restored, tmp_path):
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text(RULES)
    planned = plan_restored(restored, top_k=5, segments=3, rules=load_rules(rules_file))
    data = restored.data
    held = data.everything.held().numpy()
    customers, products = data.customers(), data.products()
    loans = set(products.loc[products["productType"] == "Loan", "productId"])
    high_risk = set(customers.loc[customers["riskRating"] == "High", "customerId"])
    position = {p: i for i, p in enumerate(data.encoders.product_ids)}
    assert len(planned.rows) == data.n_customers
    for i, row in enumerate(planned.rows):
        picks = [r["productId"] for r in row["recommendations"]]
        assert [r["rank"] for r in row["recommendations"]] == list(range(1, len(picks) + 1))
        assert not any(held[i, position[p]] for p in picks)
        assert row["customerId"] not in high_risk or not loans & set(picks)
        eligible = (~held[i]).sum() - (
            len(loans - {p for p in loans if held[i, position[p]]}) if row["customerId"] in high_risk else 0
        )
        assert len(picks) == min(5, eligible)
        scores = [r["score"] for r in row["recommendations"]]
        assert scores == sorted(scores, reverse=True)
        assert all(r["reasons"] for r in row["recommendations"])
    assert planned.excluded["no-loans-for-high-risk"] == int(
        sum(
            (~held[i, [position[p] for p in loans]]).sum()
            for i, c in enumerate(data.encoders.customer_ids)
            if c in high_risk
        )
    )
    assert {row["segment"] for row in planned.rows} == {1, 2, 3} and len(planned.segments) == 3


def test_rules_match_values_lists_thresholds_and_negations():
    customers = pd.DataFrame(
        {
            "riskRating": ["High", "Low", "Low"],
            "defaultProbability": [0.2, 0.01, 0.03],
            "location": ["London", "USA", "Tokyo"],
        }
    )
    products = pd.DataFrame({"productType": ["Loan", "Deposit"], "regulations": [["Dodd-Frank", "KYC"], ["KYC"]]})
    assert load_rules(None) == []  # --no-rules
    excluded = exclusions(
        [
            Rule("pd", customer={"defaultProbability": {"above": 0.05}}, product={"productType": ["Loan"]}),
            Rule("low-pd", customer={"defaultProbability": {"below": 0.02}}, product={"productType": ["Deposit"]}),
            Rule("us-only", customer={"location": {"not": ["USA"]}}, product={"regulations": ["Dodd-Frank"]}),
        ],
        customers,
        products,
    )
    assert excluded["pd"].tolist() == [[True, False], [False, False], [False, False]]
    assert excluded["low-pd"].tolist() == [[False, False], [False, True], [False, False]]
    assert excluded["us-only"].tolist() == [[True, False], [False, False], [True, False]]


def test_rules_fail_closed_on_missing_facts_unless_a_rule_allows_them():
    # customer 0 has every fact; customer 1 none; product 0 has its facts, product 1 none
    customers = pd.DataFrame(
        {"riskRating": ["Low", None], "defaultProbability": [0.01, np.nan], "location": ["USA", None]}
    )
    products = pd.DataFrame({"category": ["Lending", None], "regulations": [["Dodd-Frank"], []]})
    rules = [
        Rule("risk", customer={"riskRating": ["High"]}, product={"category": ["Lending"]}),
        Rule("pd", customer={"defaultProbability": {"above": 0.05}}, product={"category": ["Lending"]}),
        Rule("us-only", customer={"location": {"not": ["USA", "New York"]}}, product={"regulations": ["Dodd-Frank"]}),
        Rule("allowing", customer={"riskRating": ["High"]}, product={"category": ["Lending"]}, missing="allow"),
    ]
    excluded = exclusions(rules, customers, products)
    # a missing fact on either side matches, `not` conditions included
    assert excluded["risk"].tolist() == [[False, False], [True, True]]
    assert excluded["pd"].tolist() == [[False, False], [True, True]]
    assert excluded["us-only"].tolist() == [[False, False], [True, True]]
    assert excluded["allowing"].tolist() == [[False, False], [False, False]]  # missing = "allow": never matches
    warned = missing_facts(rules, customers, products)
    assert any("'risk' reads riskRating, missing for 50% of customers" in w for w in warned) is False  # half: not most
    mostly = missing_facts(rules, customers.iloc[[1, 1, 0]].reset_index(drop=True), products)
    assert "rule 'risk' reads riskRating, missing for 67% of customers" in " ".join(mostly)


def test_group_rules_read_the_groups_summed_exposure_and_worst_rating_and_fail_closed():
    # group A: both facts known; B1 alone (a group of one); C: a member without exposure or
    # rating; D: a member without facts, but a known exposure already above and a High rating
    customers = pd.DataFrame(
        {
            "customerId": ["A1", "A2", "B1", "C1", "C2", "D1", "D2"],
            "ultimateParentId": ["A1", "A1", None, "C1", "C1", "D1", "D1"],
            "exposure": [3e8, 3e8, 6e8, 1e8, np.nan, 6e8, np.nan],
            "riskRating": ["Low", "Medium", "High", "Low", None, "High", None],
        }
    )
    products = pd.DataFrame({"category": ["Lending"]})
    big = {"exposure": {"above": 5e8}}
    rules = [
        Rule("big", group=big, product={"category": ["Lending"]}),
        Rule("big-allowing", group=big, missing="allow"),
        Rule("small", group={"exposure": {"below": 2e8}}),
        Rule("risky", group={"riskRating": ["High"]}),
        Rule("risky-allowing", group={"riskRating": ["High"]}, missing="allow"),
        Rule("medium-big", group={"riskRating": ["Medium"], **big}),
    ]
    excluded = {name: m[:, 0].tolist() for name, m in exclusions(rules, customers, products).items()}
    assert excluded["big"] == [True, True, True, True, True, True, True]  # C: 1e8 known, the rest unknown
    assert excluded["big-allowing"] == [True, True, True, False, False, True, True]
    assert excluded["small"] == [False, False, False, True, True, False, False]  # D: 6e8 known is not below
    assert excluded["risky"] == [False, False, True, True, True, True, True]
    assert excluded["risky-allowing"] == [False, False, True, False, False, True, True]  # D: High whatever D2 is
    assert excluded["medium-big"] == [True, True, False, True, True, False, False]
    warned = missing_facts([rules[3]], customers, products)
    assert warned == []  # C's 2 of 7 customers: not most (D's answer does not depend on D2's rating)
    warned = missing_facts([rules[3]], customers.iloc[[3, 4, 0]].reset_index(drop=True), products)
    assert "rule 'risky' reads group riskRating, missing for 67% of customers (a member of their group" in warned[0]


@pytest.mark.parametrize(
    "group,message",
    [
        ("{ size = { above = 3 } }", "no group field 'size' (fields: exposure, riskRating)"),
        ('{ exposure = ["big"] }', "condition on 'exposure' must be { above = N } or { below = N }"),
        ("{ riskRating = [] }", "needs at least one value"),
    ],
)
def test_bad_group_conditions_are_one_line_errors(tmp_path, group, message):
    path = tmp_path / "rules.toml"
    path.write_text(f'[[rule]]\nname = "x"\ngroup = {group}\n')
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_rules(path)


def test_a_rule_that_swallows_most_candidates_is_reported_with_its_likely_cause():
    customers = pd.DataFrame({"location": ["London", "Tokyo", "USA", "Europe"]})
    products = pd.DataFrame({"regulations": [["Dodd-Frank", "KYC"], ["Dodd-Frank"], ["KYC", "Dodd-Frank"], ["AML"]]})
    rule = Rule("dodd-frank-us-only", customer={"location": {"not": ["USA"]}}, product={"regulations": ["Dodd-Frank"]})
    held = np.zeros((4, 4), dtype=bool)
    held[0, 0] = True
    excluded = exclusions([rule], customers, products)
    report, warnings = impact([rule], excluded, held, 2, customers, products)
    # 3 non-US customers x 3 Dodd-Frank products, less the one customer 0 already holds: 8 of 15 candidates
    assert report == [{"rule": "dodd-frank-us-only", "excluded": 8, "share": round(8 / 15, 4), "customersShort": 3}]
    assert warnings == [
        "rule 'dodd-frank-us-only' excluded 53% of the candidates (8) and left 3 customers with fewer than 2 "
        "recommendations: it matches 75% of customers (location not in USA) and 75% of products "
        "(regulations in Dodd-Frank)."
    ]


@pytest.mark.parametrize(
    "text,message",
    [
        ("[[rule]]\ncustomer = {}\n", "rule 1 needs a name"),
        ('[[rule]]\nname = "x"\ncustomer = { colour = ["red"] }\n', "no customer field 'colour'"),
        ('[[rule]]\nname = "x"\ncustomer = { creditScore = { above = "high" } }\n', "needs a finite number for above"),
        ("[[rule]\n", "cannot read the rules"),
        ('[[rule]]\nname = "x"\ncustomer = { defaultProbability = { above = nan } }\n', "needs a finite number"),
        ('[[rule]]\nname = "x"\ncustomer = { creditScore = { below = inf } }\n', "needs a finite number"),
        ('[[rule]]\nname = "x"\ncustomer = { riskRating = [] }\n', "needs at least one value"),
        ('[[rule]]\nname = "x"\ncustomer = { location = { not = [] } }\n', "needs at least one value"),
        ('[[rule]]\nname = "x"\ncustomer = { riskRating = { above = 3 } }\n', "condition on 'riskRating' must be"),
        ('[[rule]]\nname = "x"\ncustomer = { creditScore = [700] }\n', "(a number field)"),
        ('[[rule]]\nname = "x"\nmissing = "ignore"\n', '`missing` must be "match" or "allow"'),
        ("x = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    ],
)
def test_bad_rules_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "rules.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_rules(path)


def test_segments_cluster_separated_groups_and_profiles_count_them():
    rng = np.random.default_rng(0)
    embeddings = np.vstack([rng.normal(0, 0.1, (30, 4)) + offset for offset in (0, 5, 10)])
    seg = segment(embeddings, "auto", seed=0)
    assert seg.k == 3 and seg.silhouette > 0.8
    assert sorted(np.bincount(seg.labels)[1:]) == [30, 30, 30]
    customers = pd.DataFrame(
        {
            "customerType": ["Corporate"] * 90,
            "industry": ["Energy"] * 60 + ["Finance"] * 30,
            "location": ["London"] * 90,
            "creditScore": [700.0] * 90,
            "defaultProbability": [0.01] * 90,
            "riskRating": ["Low"] * 90,
        }
    )
    held = np.zeros((90, 2), dtype=bool)
    held[:, 0] = True
    found = profiles(seg, customers, held, ~held, ["P1", "P2"], "run")
    assert sum(p["size"] for p in found) == 90
    assert all(p["mostAdopted"] == ["P1"] and p["mostRecommended"] == ["P2"] for p in found)
    assert all(p["avgCreditScore"] == 700.0 for p in found)


def test_reasons_state_figures_that_can_be_recounted():
    # 4 customers, 3 products; everyone but customer 3 holds P0 and P1; customer 3 holds P0 only.
    held = np.array([[1, 1, 0], [1, 1, 0], [1, 1, 0], [1, 0, 0]], dtype=bool)
    attended = held.astype(float)
    picks = np.array([[2], [2], [2], [1]])
    why = reasons(
        picks,
        held,
        attended,
        segments=np.array([1, 1, 1, 1]),
        industry=np.array(["Energy"] * 4),
        peer_group=np.array([0, 0, 0, 0]),
        product_ids=["P0", "P1", "P2"],
        product_types=["Loan", "Deposit", "FX"],
    )
    assert why[3][0] == ["adopted by 3 Energy customers in segment 1, whom the model sees as similar to this one"]
    assert why[0][0] == ["held by 0% of the 4 customers of this type and industry"]
    # each sentence's figures as data: its kind, what it cites, the share of how many customers
    similar, peers = why[3][0][0], why[0][0][0]
    assert (similar.kind, similar.cites, similar.share, similar.count) == ("similar", "1|Energy", 0.75, 4)
    assert (peers.kind, peers.cites, peers.share, peers.count) == ("peers", "0", 0.0, 4)


def test_a_group_member_is_told_what_its_parent_and_its_sister_companies_use():
    from wbgraph.writeback.explain import group_structure

    # P (ACME Holdings, a client) owns S1, S2, S3; A, B belong to holding H (not a client) and C
    # to A; X stands alone. P has used Q0 since January 2024; S2, S3 and B hold Q1.
    ids = ["P", "S1", "S2", "S3", "A", "B", "C", "X"]
    customers = pd.DataFrame({"customerId": ids, "ultimateParentId": ["P"] * 4 + ["H"] * 3 + [None]})
    parents = dict.fromkeys(("S1", "S2", "S3"), ("P", "ACME Holdings"))
    parents |= {"A": ("H", None), "B": ("H", None), "C": ("A", None)}
    interactions = pd.DataFrame(
        {
            "customerId": ["P", "S2", "S3", "B"],
            "productId": ["Q0", "Q1", "Q1", "Q1"],
            "firstDate": [pd.Timestamp("2024-01-15").timestamp(), 0.0, 0.0, 0.0],
        }
    )
    held = np.zeros((8, 3), dtype=bool)
    held[[0, 2, 3, 5], [0, 1, 1, 1]] = True
    groups = group_structure(customers, parents, interactions, ["Q0", "Q1", "Q2"])
    picks = np.array([[-1, -1]] * 8)
    picks[1], picks[6], picks[7] = [0, 1], [1, 2], [1, 2]
    why = reasons(
        picks,
        held,
        np.zeros((8, 3)),
        np.ones(8, dtype=int),
        np.array(["Energy"] * 8),
        np.zeros(8, dtype=int),
        ["Q0", "Q1", "Q2"],
        ["Loan", "Deposit", "FX"],
        groups=groups,
    )
    parent, sisters = why[1][0][0], why[1][1][0]
    assert parent == "in its corporate group: its parent ACME Holdings has used Q0 since January 2024"
    assert (parent.kind, parent.cites, parent.count) == ("group", "P", 1)
    assert sisters == "in its corporate group: 2 of its 2 sister companies use it"
    assert (sisters.kind, sisters.cites, sisters.share, sisters.count) == ("group", "P", 1.0, 2)
    rest = why[6][0][0]  # C's parent A is not a holder, C has no sister: the rest of H's group
    assert rest == "in its corporate group: 1 of the 2 other companies of its group uses it"
    assert (rest.cites, rest.share, rest.count) == ("H", 0.5, 2)
    assert all(r.kind != "group" for c in (6, 7) for k in range(2) for r in why[c][k] if (c, k) != (6, 0))


def test_the_reasons_data_goes_to_the_customer_as_parallel_lists_one_entry_a_reason():
    from wbgraph.writeback.explain import Reason
    from wbgraph.writeback.write import compact

    together = Reason("often taken together with P0 ...", "together", "P0", 0.5, 12)
    similar = Reason("adopted by 3 ...", "similar", "2|Energy", 0.25, 12)
    row = {
        "customerId": "C1",
        "segment": 2,
        "segmentKey": "run-1/2",
        "recommendations": [
            {"rank": 1, "productId": "P2", "score": 0.9, "reasons": [together, similar]},
            {"rank": 2, "productId": "P1", "score": 0.5, "reasons": ["a sentence without data"]},
        ],
    }
    written = compact(row)
    assert written["reasons"][0] == "often taken together with P0 ...\nadopted by 3 ..."  # the sentences, as ever
    assert written["reasonRanks"] == [1, 1]  # both explain rank 1; rank 2's plain sentence has no data
    assert written["reasonKinds"] == ["together", "similar"] and written["reasonCites"] == ["P0", "2|Energy"]
    assert written["reasonShares"] == [0.5, 0.25] and written["reasonCounts"] == [12, 12]


def test_the_serving_copy_holds_the_set_by_rank_with_the_facts_as_of_the_writeback():
    import json

    from wbgraph.serve.recommend import _from_snapshot
    from wbgraph.writeback.write import ServingFacts, compact

    facts = ServingFacts(
        "run-1",
        "2026-11-26T10:00:00Z",
        {"key-3": (3, "Segment 3: Corporate · Energy")},
        {"P1": ("Loan", "Lending"), "P2": ("Deposit", "Cash")},
    )
    row = {
        "customerId": "C1",
        "segment": 3,
        "segmentKey": "key-3",
        "recommendations": [
            {"rank": 1, "productId": "P2", "score": 0.75, "probability": 0.12, "reasons": ["because"]},
            {"rank": 2, "productId": "P1", "score": 0.5, "probability": 0.05, "reasons": []},
            {"rank": 3, "productId": "P9", "score": 0.25, "probability": 0.01, "reasons": []},  # facts do not know P9
        ],
    }
    written = compact(row, facts)
    assert compact(row)["snapshot"] is None  # without facts, no copy: the serving read takes the edges
    assert "·" in written["snapshot"]  # written as UTF-8, not escaped
    customer = {"customerId": "C1", "customerType": "Corporate", "industry": "Energy", "location": "Europe"}
    served = _from_snapshot(customer, json.loads(written["snapshot"]), top_k=2)
    assert served["segment"] == 3 and served["segmentName"] == "Segment 3: Corporate · Energy" and served["hasSet"]
    assert served["recommendations"] == [
        {"rank": 1, "productId": "P2", "productType": "Deposit", "category": "Cash", "score": 0.75, "probability": 0.12}
        | {"reasons": None, "runId": "run-1", "createdAt": "2026-11-26T10:00:00Z"},
        {"rank": 2, "productId": "P1", "productType": "Loan", "category": "Lending", "score": 0.5, "probability": 0.05}
        | {"reasons": None, "runId": "run-1", "createdAt": "2026-11-26T10:00:00Z"},
    ]
    older = json.loads(written["snapshot"])
    del older["probabilities"]  # a snapshot written before calibration: no probabilities, the rest as ever
    assert [r["probability"] for r in _from_snapshot(customer, older, top_k=2)["recommendations"]] == [None, None]
    everything = _from_snapshot(customer, json.loads(written["snapshot"]), top_k=10)["recommendations"]
    assert [r["productId"] for r in everything] == ["P2", "P1", "P9"] and everything[2]["productType"] is None


def test_suppression_comes_from_the_rules_file_and_keeps_its_pairs_out_of_the_plan(restored, tmp_path):
    from wbgraph.writeback.eligibility import Suppression, load_suppression

    assert load_suppression("default") == load_suppression(None) == Suppression(90, 3)
    mine = tmp_path / "rules.toml"
    mine.write_text(RULES + "\n[suppression]\ndeclined_days = 30\n")
    assert load_suppression(mine) == Suppression(30, 3) and len(load_rules(mine)) == 1
    for bad in ("declined_days = -1", "no_response_max = 0", "no_response_max = 2.5", "forever = true"):
        mine.write_text(f"[suppression]\n{bad}\n")
        with pytest.raises(ConfigError, match=r"\[suppression\]"):
            load_suppression(mine)

    before = plan_restored(restored, top_k=3, segments=2)
    first = before.rows[0]
    kept = [(first["customerId"], r["productId"]) for r in first["recommendations"][:2]]
    after = plan_restored(restored, top_k=3, segments=2, suppressed={"declined": kept[:1], "noResponse": kept[1:]})
    picks = [r["productId"] for r in after.rows[0]["recommendations"]]
    assert not {p for _, p in kept} & set(picks) and len(picks) == 3
    assert after.suppressed == {"declined": 1, "noResponse": 1}
    assert [r["recommendations"] for r in after.rows[1:]] == [r["recommendations"] for r in before.rows[1:]]
