"""Feature drift between two runs: each customer feature's population stability index, from the profiles training keeps."""

import math

import numpy as np
import pandas as pd
import pytest

from wbgraph.runs.drift import profile, psi


def customers(seed: int, shift: float = 0.0, missing: float = 0.0, corporate: float = 0.5, n: int = 5000):
    rng = np.random.default_rng(seed)
    exposure = rng.normal(10 + shift, 1, n)
    exposure[rng.random(n) < missing] = np.nan
    kind = np.where(rng.random(n) < corporate, "Corporate", "Government")
    return pd.DataFrame({"exposure": exposure, "customerType": kind})


def test_the_same_population_is_stable_and_a_shifted_one_is_not():
    base = profile(customers(0), ["exposure"], ["customerType"])
    again = psi(base, profile(customers(1), ["exposure"], ["customerType"]))  # a new draw, the same population
    assert again["exposure"]["psi"] < 0.02 and again["exposure"]["reading"] == "stable"
    moved = psi(base, profile(customers(1, shift=1.0), ["exposure"], ["customerType"]))  # a standard deviation up
    assert moved["exposure"]["psi"] > 0.25 and moved["exposure"]["reading"] == "significant"
    assert list(moved) == ["exposure", "customerType"]  # the largest shift first


def test_a_category_index_is_the_textbook_sum_over_its_values():
    a = profile(customers(0, corporate=0.5), [], ["customerType"])
    b = profile(customers(0, corporate=0.8), [], ["customerType"])
    x = np.array([a["customerType"]["shares"][k] for k in ("Corporate", "Government")])
    y = np.array([b["customerType"]["shares"][k] for k in ("Corporate", "Government")])
    expected = float(((y - x) * np.log(y / x)).sum())
    assert psi(a, b)["customerType"]["psi"] == pytest.approx(expected, abs=1e-4)


def test_values_going_missing_is_a_shift_too():
    a = profile(customers(0), ["exposure"], [])
    b = profile(customers(0, missing=0.3), ["exposure"], [])
    assert a["exposure"]["missing"] == 0.0 and b["exposure"]["missing"] == pytest.approx(0.3, abs=0.02)
    assert psi(a, b)["exposure"]["psi"] >= (0.3 - 1e-4) * math.log(0.3 / 1e-4) * 0.9


def test_features_only_one_profile_has_or_without_values_are_left_out():
    a = profile(customers(0), ["exposure", "creditScore"], ["customerType"])  # no creditScore column: not profiled
    b = profile(customers(0).assign(exposure=np.nan), ["exposure"], [])
    assert "creditScore" not in a
    assert psi(a, b) == {}  # exposure has no values in b; customerType is not in b
