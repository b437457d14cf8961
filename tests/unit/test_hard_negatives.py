"""Hard negatives (``train --hard-negatives``): declined offers teach the GAT part what not to propose."""

import dataclasses

import pandas as pd
import pytest
import torch

from wbgraph.config import TrainConfig
from wbgraph.errors import ConfigError
from wbgraph.gnn.data import prepare_tables
from wbgraph.gnn.export import tables_from_rows
from wbgraph.gnn.losses import declined_loss
from wbgraph.gnn.train import fit


def test_the_declined_loss_is_the_unlikelihood_of_the_declined_product_among_what_is_not_held():
    scores = torch.tensor([[0.0, 0.0, 0.0, 5.0]])
    held = torch.tensor([[False, False, False, True]])  # the held product is no candidate
    loss = declined_loss(scores, torch.tensor([0]), torch.tensor([1]), held)
    assert float(loss) == pytest.approx(-torch.log(torch.tensor(1 - 1 / 3)).item(), rel=1e-5)
    taken = declined_loss(scores, torch.tensor([0]), torch.tensor([3]), held)  # declined, then taken: no cost
    assert float(taken) == pytest.approx(0.0, abs=1e-6)


def declines_of_top_picks(data, model, customers=40):
    """Each of the first ``customers`` customers' top pick under ``model``, as a decline."""
    scores = model.score_all(data.train_graph)[0].masked_fill(data.val.held(), float("-inf"))
    top = scores.argmax(1)[:customers]
    ids, products = data.encoders.customer_ids, data.encoders.product_ids
    return pd.DataFrame(
        {
            "customerId": [ids[i] for i in range(customers)],
            "productId": [products[int(p)] for p in top],
            "decided": 0.0,
        }
    )


def test_declined_products_fall_in_the_gat_parts_ranking(generated):
    data = prepare_tables(tables_from_rows(generated["rows"]))
    config = TrainConfig(epochs=15, hidden=16, patience=15, refit=False, channel=False, gat_task="mask")
    plain = fit(data, config).model
    declined = declines_of_top_picks(data, plain)
    taught = dataclasses.replace(data, declined=declined)
    hard = fit(taught, dataclasses.replace(config, hard_negatives=True)).model
    c = torch.as_tensor(data.encoders.customer_index(declined["customerId"]))
    p = torch.as_tensor(data.encoders.product_index(declined["productId"]))

    def rank_of_declined(model):
        scores = model.score_all(data.train_graph)[0].masked_fill(data.val.held(), float("-inf"))
        return (scores[c] > scores[c, p][:, None]).sum(1).float().mean()

    assert rank_of_declined(plain) == 0  # each was its customer's top pick
    assert rank_of_declined(hard) > 0.25  # taught: moved down (0 would be no effect at all)
    unused = fit(taught, config).model  # without the option the declines change nothing
    assert torch.equal(unused.score_all(data.train_graph)[0], plain.score_all(data.train_graph)[0])


def test_a_question_learns_only_the_declines_known_at_its_date(generated):
    data = prepare_tables(tables_from_rows(generated["rows"], cutoff="2025-09-01", horizon="1m"))
    customer, product = data.encoders.customer_ids[0], data.encoders.product_ids[0]
    when = [data.val.asof - 1, data.val.asof + 1, data.test.asof + 1]  # before validation, before test, after
    declined = pd.DataFrame({"customerId": [customer] * 3, "productId": [product] * 3, "decided": when})
    dated = dataclasses.replace(data, declined=declined)
    assert len(dated.declined_before(data.val.asof)[0]) == 1
    assert len(dated.declined_before(data.test.asof)[0]) == 2
    assert len(dated.declined_before(None)[0]) == 3
    assert dataclasses.replace(data, declined=declined.assign(customerId="nobody")).declined_before(None) is None
    with pytest.raises(ConfigError, match="hard_negatives must be true or false"):
        TrainConfig(hard_negatives="yes")


def test_in_customer_batches_the_declines_and_the_calibration_go_a_batch_at_a_time(generated):
    """The batched path: each step's declines are its customers' own; validation and test are
    scored a block of customers at a time, the calibrator fitted and measured the same way."""
    data = prepare_tables(tables_from_rows(generated["rows"], cutoff="2025-09-01", horizon="1m"))
    ids, products = data.encoders.customer_ids, data.encoders.product_ids
    declined = pd.DataFrame({"customerId": ids[:30], "productId": [products[0]] * 30, "decided": 0.0})
    config = TrainConfig(epochs=3, hidden=8, gat_task="temporal", batch_customers=40, cutoff="2025-09-01")
    batched = fit(dataclasses.replace(data, declined=declined), dataclasses.replace(config, hard_negatives=True))
    assert batched.batches["customersPerStep"] == 40
    whole = fit(data, dataclasses.replace(config, batch_customers=0))
    for fitted in (batched, whole):
        account = fitted.calibration
        assert account["val"]["pairs"] > 0 and account["test"]["pairs"] == whole.calibration["test"]["pairs"]
        assert 0 <= account["test"]["ece"] <= 1
