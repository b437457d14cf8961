"""The as-of protocol: at a cutoff, what each known customer newly takes within the horizon, from what was known before."""

import numpy as np
import pandas as pd
import pytest
import torch

from wbgraph.config import TrainConfig
from wbgraph.errors import ConfigError, NotEnoughData
from wbgraph.gnn import baselines, boosted
from wbgraph.gnn.asof import Horizon, boundaries, parse_date
from wbgraph.gnn.data import prepare_tables
from wbgraph.gnn.export import tables_from_rows
from wbgraph.gnn.train import fit
from wbgraph.loaders.validate import validate

from helpers import row, write_csv

MONTHS = ("2015-12-28", "2016-01-28", "2016-02-28", "2016-03-28")
# customer -> product -> the months (0-3) it is held: a monthly holdings extract
HOLDINGS = {
    "C1": {"A": (0, 1, 2, 3), "B": (1, 2, 3), "C": (2, 3), "E": (3,), "F": (3,)},  # B in Jan, C in Feb, E in Mar
    "C2": {"A": (0, 1, 2, 3), "B": (3,)},  # takes B in March
    "C3": {"A": (3,)},  # first seen in March: unknown at the cutoff
    "C4": {"A": (0,), "E": (2, 3)},  # drops A after December, takes E in February; re-takes nothing
    "C5": {"B": (0, 1, 2, 3), "A": (1,)},  # takes A in January
}


def holdings_rows(tmp_path, holdings=HOLDINGS, amount="1"):
    rows = [
        row(
            Customer_ID=customer,
            Product_ID=product,
            Transaction_ID=f"{customer}-{product}-{month}",
            Transaction_Date=MONTHS[month],
            Transaction_Amount=amount,
            Transaction_Value=amount,
        )
        for customer, products in holdings.items()
        for product, months in products.items()
        for month in months
    ]
    return validate(write_csv(tmp_path / "holdings.csv", rows)).rows


def pairs(data, stage):
    c, p = stage.answer_customer, stage.answer_product
    return sorted((data.encoders.customer_ids[i], data.encoders.product_ids[j]) for i, j in zip(c, p))


def test_the_periods_go_back_a_calendar_horizon_at_a_time_from_the_cutoff_to_the_first_transaction():
    cutoff = parse_date("2016-03-01")
    got = boundaries(cutoff, Horizon.parse("1m"), parse_date("2015-12-28"))
    assert [b.date().isoformat() for b in got] == [
        "2015-12-01",
        "2016-01-01",
        "2016-02-01",
        "2016-03-01",
        "2016-04-01",
    ]
    assert [b.date().isoformat() for b in boundaries(cutoff, Horizon.parse("1q"), None)] == ["2016-03-01", "2016-06-01"]
    assert Horizon.parse("30d").shift(cutoff, -1).date().isoformat() == "2016-01-31"
    for text in ("1x", "0m", "month"):
        with pytest.raises(ConfigError, match="horizon must be a length such as 30d"):
            Horizon.parse(text)


def test_the_asof_question_asks_what_each_known_customer_newly_takes_after_the_cutoff(tmp_path):
    data = prepare_tables(tables_from_rows(holdings_rows(tmp_path), cutoff="2016-03-01", horizon="1m"))
    assert data.protocol["name"] == "asof" and data.protocol["cutoff"] == "2016-03-01"
    assert data.protocol["test"] == ["2016-03-01", "2016-04-01"]
    assert data.protocol["validation"] == ["2016-02-01", "2016-03-01"]
    assert data.encoders.customer_ids == ["C1", "C2", "C4", "C5"]  # C3 is first seen after the cutoff: left out
    assert data.protocol["leftOut"] == {"customers": 1, "testCustomers": 1}
    assert pairs(data, data.test) == [("C1", "E"), ("C2", "B")]  # never held before the cutoff
    assert "F" not in data.encoders.product_ids  # first seen after the cutoff: no product to recommend then
    assert pairs(data, data.val) == [("C1", "C"), ("C4", "E")]
    assert [pairs(data, h) for h in data.history] == [[("C1", "B"), ("C5", "A")]]  # January, given December
    known = {
        (data.encoders.customer_ids[c], data.encoders.product_ids[p])
        for c, p in zip(data.val.customer, data.val.product)
    }
    assert known == {("C1", "A"), ("C1", "B"), ("C2", "A"), ("C4", "A"), ("C5", "A"), ("C5", "B")}
    # what is known at a date is summed from the transactions before it, never past it
    c1 = data.test.rows.set_index(["customerId", "productId"])
    assert c1.loc[("C1", "A"), "transactionCount"] == 3 and c1.loc[("C4", "A"), "transactionCount"] == 1
    assert (
        data.val.asof == parse_date("2016-02-01").timestamp() and data.test.asof == parse_date("2016-03-01").timestamp()
    )
    assert data.tables.interactions["transactionCount"].sum() == 3 + 2 + 1 + 3 + 1 + 1 + 3 + 1  # before the cutoff


def test_a_cutoff_without_a_validation_window_before_it_is_a_one_line_error(tmp_path):
    with pytest.raises(NotEnoughData, match="Nothing to validate on before the cutoff 2016-01-01"):
        prepare_tables(tables_from_rows(holdings_rows(tmp_path), cutoff="2016-01-01", horizon="1m"))


def test_the_protocol_settings_combine_only_where_they_mean_something():
    assert TrainConfig.load(None, cutoff="2016-03-01").protocol == "asof"  # a cutoff means the as-of question
    assert TrainConfig.load(None, protocol="asof").filters()["horizon"] == "1m"
    assert "horizon" not in TrainConfig.load(None).filters()
    for settings, message in (
        ({"cutoff": "2016-03-01", "holdout_share": 0.1}, "holdout_share is the latest protocol's"),
        ({"protocol": "latest", "cutoff": "2016-03-01"}, "cutoff is the as-of protocol's"),
        ({"cutoff": "2016-03-01", "until": "2016-02-01"}, "until does not combine with the as-of protocol"),
        ({"cutoff": "March"}, "cutoff must be an ISO 8601 date"),
        ({"protocol": "asof", "horizon": "soon"}, "horizon must be a length"),
        ({"ignore": ["favouriteColour"]}, "ignore: no attribute named 'favouriteColour'"),
    ):
        with pytest.raises(ConfigError, match=message):
            TrainConfig.load(None, **settings)


@pytest.fixture(scope="module")
def rewritten(generated):
    """The generated rows as they are, and with everything on or after the cutoff rewritten."""
    rows = generated["rows"]
    return {
        name: prepare_tables(tables_from_rows(r, cutoff="2025-09-01", horizon="1m"))
        for name, r in (("as is", rows), ("rewritten", rewrite(rows)))
    }


def rewrite(rows):
    """``rows`` with everything on or after 2025-09-01 rewritten: amounts x1000, dates moved within
    the test window, and new customers and products."""
    cutoff = pd.Timestamp("2025-09-01", tz="UTC")
    after = rows["date"] >= cutoff
    changed = rows.copy()
    for column in ("amount", "value"):
        changed.loc[after, column] = changed.loc[after, column] * 1000
    days = np.random.default_rng(0).integers(0, 29 * 86_400, after.sum())
    changed.loc[after, "date"] = (cutoff + pd.to_timedelta(days, unit="s")).astype(rows["date"].dtype)
    newcomers = changed[after].head(40).copy()
    newcomers["customerId"] = "NEW-" + newcomers["customerId"]
    newcomers["productId"] = "NEW-" + newcomers["productId"]
    newcomers["transactionKey"] = "NEW-" + newcomers["transactionKey"]
    return pd.concat([changed, newcomers], ignore_index=True)


def test_nothing_on_or_after_the_cutoff_reaches_the_model_or_the_baselines(rewritten, monkeypatch):
    before, after = rewritten["as is"], rewritten["rewritten"]
    assert before.encoders.to_json() == after.encoders.to_json()  # the same customers, products and encodings
    assert pairs(before, before.test) != pairs(after, after.test)  # the test window's answers did change
    config = TrainConfig(epochs=8, hidden=8, patience=8, cutoff="2025-09-01")
    models = [fit(data, config).model for data in (before, after)]
    scores = [model.score_all(data.test_graph)[0] for model, data in zip(models, (before, after))]
    assert torch.equal(scores[0], scores[1])
    monkeypatch.setattr(baselines, "LIGHTGCN_EPOCHS", 10)
    monkeypatch.setattr(boosted, "MAX_TREES", 50)  # enough trees to tell two inputs apart, an eighth of the time
    monkeypatch.setattr(boosted, "CHECKPOINTS", (25, 50))
    fitted = [baselines.fit_all(d.history, d.val, d.test, d.side(0)) for d in (before, after)]
    assert set(fitted[0]) == set(baselines.BASELINES) - {"group popularity"}  # no corporate groups here
    for name in fitted[0]:
        assert torch.equal(fitted[0][name].scores, fitted[1][name].scores), name
        assert fitted[0][name].chosen == fitted[1][name].chosen, name


def test_the_gat_part_can_learn_the_earlier_question_instead_of_masked_links(rewritten, monkeypatch):
    from wbgraph.gnn import loop, losses

    data = rewritten["as is"]
    calls = {"mask": 0, "temporal": 0}
    masked_loss, question_loss = loop.masked_links_loss, losses.Question.gat_loss
    monkeypatch.setattr(
        loop, "masked_links_loss", lambda *a, **k: calls.__setitem__("mask", calls["mask"] + 1) or masked_loss(*a, **k)
    )
    monkeypatch.setattr(
        losses.Question,
        "gat_loss",
        lambda *a, **k: calls.__setitem__("temporal", calls["temporal"] + 1) or question_loss(*a, **k),
    )
    runs = {}
    for task in ("mask", "temporal", "both"):
        calls.update(mask=0, temporal=0)
        config = TrainConfig(epochs=3, hidden=8, patience=3, gat_task=task, cutoff="2025-09-01", refit=False)
        runs[task] = fit(data, config)
        assert (calls["mask"] > 0, calls["temporal"] > 0) == {
            "mask": (True, False),
            "temporal": (False, True),
            "both": (True, True),
        }[task]
    assert runs["temporal"].history != runs["mask"].history
