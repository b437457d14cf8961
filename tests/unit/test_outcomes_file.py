"""An outcomes file, checked: each row an offer or a reject with its line and reason."""

import datetime as dt

import pandas as pd
import pytest

from wbgraph.errors import InputFileError
from wbgraph.outcomes.ingest import check_outcomes

HEADER = "customerId,productId,offeredAt,outcome,decidedAt,channel,rm,runId,rank\n"
KNOWN = ({"C1", "C2"}, {"P1", "P2"}, {"HOLD"})  # customers, products, entities that are not clients
TODAY = dt.date(2026, 12, 5)


def outcomes(tmp_path, body: str, header: str = HEADER):
    path = tmp_path / "offers.csv"
    path.write_text(header + body)
    return path


def test_every_row_is_an_offer_or_a_reject_with_its_line_and_reason(tmp_path):
    path = outcomes(
        tmp_path,
        "C1,P1,2026-10-01,accepted,2026-10-05,branch,RM-001,run-1,1\n"  # line 2: sound
        "C1,P2,2026-10-01,Declined,,,,,\n"  # sound: the outcome's case does not matter
        "C9,P1,2026-10-01,accepted,,,,,\n"  # line 4
        "C1,P9,2026-10-01,accepted,,,,,\n"
        "C2,P1,2026-10-01,maybe,,,,,\n"
        "C2,P1,2027-01-01,accepted,,,,,\n"
        "C2,P2,01/10/2026,accepted,,,,,\n"
        "C2,P2,2026-10-01,declined,2026-09-30,,,,\n"
        "C2,P2,2026-10-02,declined,2026-12-31,,,,\n"
        "C2,P1,2026-10-03,no-response,,,,,0\n"
        "HOLD,P1,2026-10-01,accepted,,,,,\n"
        "C1,P1,2026-10-01,declined,,,,,\n"  # line 13: the same offer again
        ",P1,2026-10-01,accepted,,,,,\n"
        "C2,P2,2026-11-01,no-response,,,,,2\n",  # line 15: sound
    )
    checked = check_outcomes(path, KNOWN, today=TODAY)
    summary = checked.summary
    assert (summary.read, summary.loaded, summary.rejected) == (14, 3, 11)
    rejects = pd.read_csv(summary.rejects_file, dtype=str, keep_default_na=False)
    assert dict(zip(rejects["lineNumber"].astype(int), rejects["reason"])) == {
        4: "no customer C9 in the graph",
        5: "no product P9 in the graph",
        6: "outcome maybe is not one of accepted, declined, no-response",
        7: "offeredAt 2027-01-01 is in the future",
        8: "offeredAt 01/10/2026 is not a date (YYYY-MM-DD)",
        9: "decidedAt 2026-09-30 is before offeredAt 2026-10-01",
        10: "decidedAt 2026-12-31 is in the future",
        11: "rank 0 is not a whole number >= 1",
        12: "customer HOLD is not a client (client = false)",
        13: "the offer of P1 to C1 on 2026-10-01 is on line 2",
        14: "missing customerId",
    }
    assert rejects["customerId"].tolist()[0] == "C9"  # the row as it was, beside its line and reason
    first, second, last = checked.rows
    assert first == {
        "customerId": "C1",
        "productId": "P1",
        "offeredAt": "2026-10-01",
        "outcome": "accepted",
        "decidedAt": "2026-10-05",
        "channel": "branch",
        "rm": "RM-001",
        "runId": "run-1",
        "rank": 1,
        "offerKey": "C1|P1|2026-10-01",
    }
    assert (second["outcome"], second["decidedAt"], second["rank"]) == ("declined", None, None)
    assert last["offerKey"] == "C2|P2|2026-11-01" and last["rank"] == 2


def test_a_file_without_a_needed_column_is_refused_in_one_line(tmp_path):
    path = outcomes(tmp_path, "C1,P1,2026-10-01\n", header="customerId,productId,offeredAt\n")
    with pytest.raises(InputFileError, match="no column 'outcome'"):
        check_outcomes(path, KNOWN, today=TODAY)


def test_acceptance_intervals_are_wilson_s_sound_at_small_counts():
    from wbgraph.outcomes.metrics import wilson

    assert wilson(0, 0) == (0.0, 1.0)
    low, high = wilson(0, 5)
    assert low == 0.0 and high == pytest.approx(0.4345, abs=1e-4)  # none of 5: up to 43%, not 0
    low, high = wilson(8, 10)
    assert (round(low, 3), round(high, 3)) == (0.490, 0.943)


def test_simulated_offers_follow_the_true_ranking_and_are_a_sound_outcomes_file(tmp_path):
    from wbgraph.outcomes.simulate import COLUMNS, draw

    sets = pd.DataFrame(
        [("C1", "P1", 1), ("C1", "P2", 2), ("C1", "P3", 3), ("C2", "P2", 1), ("C2", "P1", 2), ("C9", "P1", 1)],
        columns=["customerId", "productId", "rank"],
    )
    rankings = {"C1": ["P1", "P3", "P2"], "C2": ["P1", "P2", "P3"]}  # C9: not in the truth file
    table, missing = draw(sets, rankings, "run-1", share=1.0, per_customer=2, base_rate=0.5, days=30, seed=0,
                          today=TODAY)  # fmt: skip
    assert missing == 1 and list(table.columns) == [*COLUMNS, "probability"]
    assert list(zip(table["customerId"], table["productId"])) == [
        ("C1", "P1"),
        ("C1", "P2"),
        ("C2", "P2"),
        ("C2", "P1"),
    ]
    assert table["probability"].tolist() == [1.0, 0.0, 0.5, 1.0]  # 2 x 0.5 x (1 - its place in the true ranking)
    assert table.loc[table["probability"] == 1.0, "outcome"].eq("accepted").all()
    assert not table.loc[table["probability"] == 0.0, "outcome"].eq("accepted").any()
    offered = pd.to_datetime(table["offeredAt"]).dt.date
    assert ((offered < TODAY) & (offered >= TODAY - dt.timedelta(days=30))).all()
    answered = table["outcome"] != "no-response"
    assert (table.loc[~answered, "decidedAt"] == "").all()
    assert (pd.to_datetime(table.loc[answered, "decidedAt"]).dt.date.between(offered[answered], TODAY)).all()
    path = tmp_path / "simulated.csv"
    table.drop(columns="probability").to_csv(path, index=False)
    checked = check_outcomes(path, ({"C1", "C2"}, {"P1", "P2", "P3"}, set()), today=TODAY)
    assert (checked.summary.loaded, checked.summary.rejected) == (4, 0)


BANK = """
[columns]
customerId = "Customer ID"
productId = "Product ID"
date = "Transaction Date"

[outcomes]
customerId = "CLIENT"
productId = "PRODUCT"
offeredAt = { column = "OFFERED", format = "%d/%m/%Y" }
outcome = "RESULT"
"""


def test_a_mappings_outcomes_table_reads_the_banks_headers_and_dates(tmp_path):
    from wbgraph.loaders.mapping import load_mapping

    mapping = tmp_path / "bank.toml"
    mapping.write_text(BANK)
    source = load_mapping(mapping).outcomes
    assert source.columns["offeredAt"] == "OFFERED" and source.formats == {"offeredAt": "%d/%m/%Y"}
    path = outcomes(
        tmp_path, "C1,P1,01/10/2026,accepted\nC1,P2,2026-10-01,declined\n", header="CLIENT,PRODUCT,OFFERED,RESULT\n"
    )
    checked = check_outcomes(path, KNOWN, today=TODAY, source=source)
    assert [(r["offeredAt"], r["offerKey"]) for r in checked.rows] == [("2026-10-01", "C1|P1|2026-10-01")]
    rejects = pd.read_csv(checked.summary.rejects_file, dtype=str, keep_default_na=False)
    assert rejects["reason"].tolist() == ["offeredAt 2026-10-01 is not a date (%d/%m/%Y)"]
    with pytest.raises(InputFileError, match="no column 'RESULT'"):
        check_outcomes(outcomes(tmp_path, "C1,P1,01/10/2026\n", header="CLIENT,PRODUCT,OFFERED\n"), KNOWN,
                       today=TODAY, source=source)  # fmt: skip


@pytest.mark.parametrize(
    "table,message",
    [
        ('customer = "X"\n', "[outcomes] has unknown keys ['customer']"),
        ('outcome = { column = "R", format = "%d" }\n', "[outcomes] outcome must name a column"),
        ('offeredAt = { column = "O", format = "dd/mm" }\n', "format 'dd/mm' is not iso8601"),
        ("rank = 3\n", "[outcomes] rank must name a column"),
    ],
)
def test_a_bad_outcomes_table_is_a_one_line_mapping_error(tmp_path, table, message):
    import re

    from wbgraph.errors import MappingError
    from wbgraph.loaders.mapping import load_mapping

    mapping = tmp_path / "bank.toml"
    mapping.write_text(BANK.split("[outcomes]")[0] + "[outcomes]\n" + table)
    with pytest.raises(MappingError, match=re.escape(message)):
        load_mapping(mapping)
