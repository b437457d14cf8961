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


@settings(max_examples=50, deadline=None)
@given(st.lists(CELL, min_size=1, max_size=15))  # several a file: a third of the validations for as many cells
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


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(ID, ID), min_size=1, max_size=10))  # several a file: one validation checks them all
def test_any_id_is_stored_exactly_as_written(pairs):
    v = validated([row(Customer_ID=c, Product_ID=p, Transaction_ID=f"T{i}") for i, (c, p) in enumerate(pairs)])
    assert len(v.rejects) == 0
    stored = v.rows.set_index("transactionId")
    for i, (customer, product) in enumerate(pairs):
        assert (stored.at[f"T{i}", "customerId"], stored.at[f"T{i}", "productId"]) == (customer, product)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(min_value=0, max_value=1e15, allow_nan=False), st.floats(min_value=0, max_value=1)),
        min_size=1,
        max_size=10,
    )
)
def test_valid_numbers_survive_the_round_trip(numbers):
    rows = [
        row(Customer_ID=f"C{i}", Transaction_ID=f"T{i}", Transaction_Amount=repr(a), Default_Probability=repr(p))
        for i, (a, p) in enumerate(numbers)
    ]
    v = validated(rows)
    assert len(v.rejects) == 0
    stored = v.rows.set_index("transactionId")
    for i, (amount, probability) in enumerate(numbers):
        assert stored.at[f"T{i}", "amount"] == amount and stored.at[f"T{i}", "defaultProbability"] == probability


@settings(max_examples=20, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["Transaction Date", "Credit Score", "Customer ID", "Risk Rating"]), CELL),
        min_size=1,
        max_size=18,  # several a file: a third of the validations for as many changed rows
    )
)
def test_read_always_equals_loaded_plus_rejected(changes):
    rows = [
        row(**{column.replace(" ", "_"): value, "Transaction_ID": f"T{i}"}) for i, (column, value) in enumerate(changes)
    ]
    v = validated(rows)
    assert v.read == len(rows) == len(v.rows) + len(v.rejects)
    assert all(isinstance(r, str) and r for r in v.rejects["reason"])
