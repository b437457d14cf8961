"""Property-based tests of the row validator: whatever a cell holds, nothing is lost or altered."""

import math
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from wbgraph.loaders.validate import validate

from helpers import row, write_csv

CELL = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=40)
ID = CELL.filter(lambda s: s.strip() != "").filter(lambda s: len(s) <= 256)


def validated(rows):
    with tempfile.TemporaryDirectory() as folder:
        return validate(write_csv(Path(folder) / "f.csv", rows))


@settings(max_examples=150, deadline=None)
@given(st.lists(CELL, min_size=1, max_size=5))
def test_any_text_in_a_number_column_is_parsed_exactly_or_rejected_with_a_reason(cells):
    v = validated([row(Transaction_Amount=c, Transaction_ID=f"T{i}") for i, c in enumerate(cells)])
    assert v.read == len(cells) == len(v.rows) + len(v.rejects)  # nothing lost
    for reason in v.rejects["reason"]:
        assert "Transaction Amount" in reason
    accepted = v.rows.set_index("transactionId")["amount"] if len(v.rows) else {}
    for i, text in enumerate(cells):  # by ID, not by line: a cell may hold a newline and span lines
        if f"T{i}" in accepted:
            value = float(text.strip())
            assert math.isfinite(value) and value >= 0 and accepted[f"T{i}"] == value


@settings(max_examples=150, deadline=None)
@given(ID, ID)
def test_any_id_is_stored_exactly_as_written(customer, product):
    v = validated([row(Customer_ID=customer, Product_ID=product)])
    assert len(v.rejects) == 0
    assert (v.rows["customerId"].iat[0], v.rows["productId"].iat[0]) == (customer, product)


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=0, max_value=1e15, allow_nan=False), st.floats(min_value=0, max_value=1))
def test_valid_numbers_survive_the_round_trip(amount, probability):
    v = validated([row(Transaction_Amount=repr(amount), Default_Probability=repr(probability))])
    assert len(v.rejects) == 0
    assert v.rows["amount"].iat[0] == amount and v.rows["defaultProbability"].iat[0] == probability


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["Transaction Date", "Credit Score", "Customer ID", "Risk Rating"]), CELL),
        min_size=1,
        max_size=6,
    )
)
def test_read_always_equals_loaded_plus_rejected(changes):
    rows = [
        row(**{column.replace(" ", "_"): value, "Transaction_ID": f"T{i}"}) for i, (column, value) in enumerate(changes)
    ]
    v = validated(rows)
    assert v.read == len(rows) == len(v.rows) + len(v.rejects)
    assert all(isinstance(r, str) and r for r in v.rejects["reason"])
