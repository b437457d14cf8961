"""Customer behaviour features (as-of only): what each customer did in the last periods, as known at each question."""

import numpy as np
import pandas as pd
import pytest
import torch
from test_asof import HOLDINGS, holdings_rows, rewrite

from wbgraph.config import BEHAVIOUR, TrainConfig
from wbgraph.errors import ConfigError
from wbgraph.gnn.behaviour import FEATURES
from wbgraph.gnn.data import prepare_tables
from wbgraph.gnn.export import tables_from_rows
from wbgraph.gnn.train import fit

# C6 uses A in December, not in January, again in February (a re-activation), B in December and January
WITH_GAPS = HOLDINGS | {"C6": {"A": (0, 2), "B": (0, 1)}}


def of(data, stage, customer):
    at = data.encoders.customer_ids.index(customer)
    return {name: stage.behaviour[name][at] for name in FEATURES}


def test_each_feature_counts_what_the_customer_did_in_the_periods_before_the_question(tmp_path):
    data = prepare_tables(
        tables_from_rows(holdings_rows(tmp_path, WITH_GAPS), cutoff="2016-03-01", horizon="1m"), behaviour=BEHAVIOUR
    )
    at_cutoff = of(data, data.test, "C1")  # Feb: A, B, C; Jan: A, B; Dec: A
    assert at_cutoff == {
        "productsLastPeriod": 3,
        "productsPeriodBefore": 2,
        "productsTwoPeriodsBefore": 1,
        "productCountChange": 1,
        "productsTakenUp": 1,  # C, first used in February
        "productsDropped": 0,
        "productsReactivatedEver": 0,
        "productsReactivated": 0,
    }
    c6 = of(data, data.test, "C6")
    assert (c6["productsReactivated"], c6["productsReactivatedEver"]) == (1, 1)  # A, again in February
    assert c6["productsDropped"] == 1  # B: used in January, not in February
    assert (c6["productsLastPeriod"], c6["productsPeriodBefore"], c6["productCountChange"]) == (1, 1, 0)
    assert of(data, data.val, "C6")["productsDropped"] == 1  # at validation's question: A, used in December only
    # what March brought (C1 takes E, C2 takes B) is not known at the cutoff
    assert of(data, data.test, "C2")["productsLastPeriod"] == 1


def test_a_feature_that_would_look_back_before_the_data_is_unknown_not_zero(tmp_path):
    data = prepare_tables(
        tables_from_rows(holdings_rows(tmp_path, WITH_GAPS), cutoff="2016-03-01", horizon="1m"), behaviour=BEHAVIOUR
    )
    at_validation = of(data, data.val, "C1")  # January's view: December is the data's first month
    assert at_validation["productsPeriodBefore"] == 1 and at_validation["productsTakenUp"] == 1  # B, first in Jan
    assert np.isnan(at_validation["productsTwoPeriodsBefore"]) and np.isnan(at_validation["productsReactivated"])
    first_window = of(data, data.history[-1], "C1")  # December's view: every holding would look newly taken up
    assert first_window["productsLastPeriod"] == 1 and np.isnan(first_window["productsTakenUp"])


def test_a_feature_the_last_training_window_cannot_know_is_left_out_with_a_note(tmp_path):
    tables = tables_from_rows(holdings_rows(tmp_path, WITH_GAPS), cutoff="2016-03-01", horizon="1m")
    data = prepare_tables(tables, behaviour=BEHAVIOUR)
    assert data.encoders.behaviour == ["productsLastPeriod"]  # the last training window sees December alone
    assert any(n.startswith("productsTakenUp: needs the as-of protocol") for n in data.encoders.notes())
    width = data.train_graph["customer"].x.shape[1]
    plain = prepare_tables(tables)  # none by default
    assert plain.encoders.behaviour == [] and plain.val.behaviour is None
    assert plain.train_graph["customer"].x.shape[1] == width - 1


def test_behaviour_features_reach_the_model_and_are_noted_where_the_protocol_has_no_periods(generated):
    rows = generated["rows"]
    data = prepare_tables(tables_from_rows(rows, cutoff="2025-09-01", horizon="1m"), behaviour=("trajectory",))
    assert data.encoders.behaviour == list(FEATURES[:3])
    x = data.test_graph["customer"].x[:, -3:]
    assert x.abs().sum() > 0 and not torch.equal(x, data.train_graph["customer"].x[:, -3:])  # each at its own date
    fitted = fit(data, TrainConfig(epochs=2, hidden=8, patience=2, cutoff="2025-09-01", behaviour=["trajectory"]))
    assert np.isfinite(fitted.val["ndcg@10"])
    latest = prepare_tables(generated["tables"], behaviour=("changes",))
    assert latest.encoders.behaviour == [] and len([n for n in latest.encoders.notes() if "as-of" in n]) == 3


def test_no_behaviour_feature_reads_anything_on_or_after_the_cutoff(generated):
    rows = generated["rows"]
    before = rows[rows["date"] < pd.Timestamp("2025-09-01", tz="UTC")]
    views = [
        prepare_tables(tables_from_rows(r, cutoff="2025-09-01", horizon="1m"), behaviour=BEHAVIOUR)
        for r in (rows, rewrite(rows), before)  # as is; the test window rewritten; without it
    ]
    assert views[0].encoders.behaviour == list(FEATURES)
    for other in views[1:]:
        assert views[0].encoders.to_json() == other.encoders.to_json()
        assert torch.equal(views[0].test_graph["customer"].x, other.test_graph["customer"].x)


def test_the_boosted_tree_gets_the_behaviour_features_the_model_has(generated):
    from wbgraph.gnn import boosted

    data = prepare_tables(
        tables_from_rows(generated["rows"], cutoff="2025-09-01", horizon="1m"), behaviour=("changes",)
    )
    features, c, _ = boosted.pair_features(data.test, data.side(), 50.0, np.arange(data.n_customers))
    assert list(features.columns[features.columns.isin(FEATURES)]) == list(FEATURES[3:6])
    assert np.array_equal(features["productsTakenUp"].to_numpy(), data.test.behaviour["productsTakenUp"][c])
    plain = prepare_tables(tables_from_rows(generated["rows"], cutoff="2025-09-01", horizon="1m"))
    assert not boosted.pair_features(plain.test, plain.side(), 50.0, np.arange(3))[0].columns.isin(FEATURES).any()


def test_an_unknown_behaviour_group_is_a_one_line_error():
    with pytest.raises(ConfigError, match="behaviour: no group named 'mood'; choose from trajectory, changes"):
        TrainConfig.load(None, behaviour=["mood"])
