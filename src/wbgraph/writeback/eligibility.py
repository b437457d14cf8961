"""Eligibility and suitability rules: which (customer, product) candidates may be proposed.

A rules file (TOML; the shipped default is ``rules/default.toml``, which documents the
format) lists rules, each excluding the candidates whose customer matches all of its
customer conditions and whose product matches all of its product conditions. Rules are
evaluated on the current graph's customer and product facts, as boolean matrices, so every
exclusion can be counted per rule.

Rules **fail closed**: a condition on a fact that is missing (no value, or an empty list of
regulations) counts as matching, ``not`` conditions included, so a customer without a risk
rating is treated as if it might be High risk. A rule opts out with ``missing = "allow"``
(a missing fact then never matches). Because that can exclude a great deal, :func:`missing_facts`
measures, before anything is written, the share of customers and products each rule cannot
see, and :func:`impact` what each rule took away.

A rule may also condition on the customer's **corporate group** (``group = { exposure = {
above = 5e8 } }``, ``group = { riskRating = ["High"] }``): the group's exposure is the sum over
its members (the clients under the same ultimate parent), its rating the worst rating in it
(:func:`group_facts`); a customer without a group is a group of one. A group fact is missing
where a member's fact is missing and could change the answer (a member without a rating in a
group whose worst known rating is below High), and fails closed like the others.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..graphmodel import CUSTOMER_ATTRIBUTES, GROUP_KEY, NUMERIC_FIELDS, PRODUCT_ATTRIBUTES, RISK_RATINGS

DEFAULT_RULES = "default"  # the shipped rules, writeback/rules/default.toml
CUSTOMER_FIELDS = CUSTOMER_ATTRIBUTES  # the facts the model was exported with
PRODUCT_FIELDS = ("productId", *PRODUCT_ATTRIBUTES)  # a rule may name the product itself
MISSING = ("match", "allow")  # a missing fact: counts as matching (fail closed), or never matches
MOSTLY_MISSING = 0.5  # a rule that cannot see more than this share of one side is announced
SWALLOWS = 0.5  # a rule excluding more than this share of the candidates is announced
GROUP_FIELDS = ("exposure", "riskRating")  # a group's facts: its members' summed exposure, their worst rating


@dataclass
class Rule:
    name: str
    description: str = ""
    customer: dict = field(default_factory=dict)
    product: dict = field(default_factory=dict)
    missing: str = "match"
    group: dict = field(default_factory=dict)  # conditions on the customer's corporate group (GROUP_FIELDS)


def default_rules_text() -> str:
    return resources.files(__package__).joinpath("rules", "default.toml").read_text(encoding="utf-8")


def _read_rules(path: str | Path) -> tuple[str, dict]:
    """``(where, the file's tables)`` of a rules file, ``"default"`` the shipped one: a one-line error else."""
    where = "the default rules" if path == DEFAULT_RULES else str(path)
    try:
        text = default_rules_text() if path == DEFAULT_RULES else Path(path).read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{where}: cannot read the rules ({e}).") from None
    except RecursionError:
        raise ConfigError(f"{where}: cannot read the rules (nested too deeply).") from None
    unknown = set(data) - {"rule", "suppression"}
    if unknown:
        raise ConfigError(
            f"{where}: unknown top-level keys {sorted(unknown)}; rules are [[rule]] tables (and one [suppression])."
        )
    return where, data


def load_rules(path: str | Path | None = DEFAULT_RULES) -> list[Rule]:
    """The rules of a file; ``"default"`` the shipped ones; ``None`` no rules at all."""
    if path is None:
        return []
    where, data = _read_rules(path)
    if not isinstance(data.get("rule", []), list):
        raise ConfigError(f"{where}: rules are [[rule]] tables.")
    rules, names = [], set()
    for i, raw in enumerate(data.get("rule", []), start=1):
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
            raise ConfigError(f"{where}: rule {i} needs a name.")
        extra = set(raw) - {"name", "description", "customer", "product", "missing", "group"}
        if extra:
            raise ConfigError(f"{where}: rule {raw['name']!r} has unknown keys {sorted(extra)}.")
        if raw["name"] in names:
            raise ConfigError(f"{where}: two rules are named {raw['name']!r}.")
        names.add(raw["name"])
        if raw.get("missing", "match") not in MISSING:
            raise ConfigError(f'{where}: rule {raw["name"]!r}: `missing` must be "match" or "allow".')
        rule = Rule(
            raw["name"],
            str(raw.get("description", "")),
            raw.get("customer", {}),
            raw.get("product", {}),
            raw.get("missing", "match"),
            raw.get("group", {}),
        )
        for side, allowed in (("customer", CUSTOMER_FIELDS), ("product", PRODUCT_FIELDS), ("group", GROUP_FIELDS)):
            conditions = getattr(rule, side)
            if not isinstance(conditions, dict):
                raise ConfigError(f"{where}: rule {rule.name!r}: `{side}` must be a table of conditions.")
            for name, condition in conditions.items():
                if name not in allowed:
                    raise ConfigError(
                        f"{where}: rule {rule.name!r}: no {side} field {name!r} (fields: {', '.join(allowed)})."
                    )
                problem = _condition_problem(name, condition)
                if problem:
                    raise ConfigError(f"{where}: rule {rule.name!r}: condition on {name!r} {problem}.")
        rules.append(rule)
    return rules


@dataclass(frozen=True)
class Suppression:
    """What earlier offers keep away (a rules file's ``[suppression]``, ``wbgraph outcomes
    ingest``): a product the customer declined within ``declined_days`` days, and one offered
    ``no_response_max`` times or more without an answer."""

    declined_days: int = 90
    no_response_max: int = 3


def load_suppression(path: str | Path | None = DEFAULT_RULES) -> Suppression:
    """The ``[suppression]`` table of a rules file (the defaults where it has none, or without a file)."""
    if path is None:
        return Suppression()
    where, data = _read_rules(path)
    raw = data.get("suppression", {})
    if not isinstance(raw, dict) or set(raw) - {"declined_days", "no_response_max"}:
        raise ConfigError(f"{where}: [suppression] takes declined_days and no_response_max.")
    for key, low in (("declined_days", 0), ("no_response_max", 1)):
        value = raw.get(key, getattr(Suppression, key))
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"{where}: [suppression] {key} must be a whole number from {low}, not {value!r}.")
    return Suppression(**raw)


def _condition_problem(name: str, condition) -> str | None:
    """What is wrong with one condition, or None."""
    numeric = name in NUMERIC_FIELDS
    shapes = "{ above = N } or { below = N }" if numeric else "a list of values or { not = [...] }"
    if isinstance(condition, dict) and len(condition) == 1:
        ((op, value),) = condition.items()
        if op in ("above", "below") and numeric:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                return f"needs a finite number for {op}, not {value!r}"
            return None
        if op == "not" and not numeric:
            return _values_problem(value, "not")
    elif isinstance(condition, list) and not numeric:
        return _values_problem(condition, "the list")
    return f"must be {shapes}" + (" (a number field)" if numeric else "")


def _values_problem(values, what: str) -> str | None:
    if not isinstance(values, list) or not values:
        return f"needs at least one value in {what}"
    if any(isinstance(v, (list, dict, bool)) or not isinstance(v, (str, int, float)) for v in values):
        return f"needs plain values (text or numbers) in {what}"
    return None


def is_missing(values: pd.Series) -> np.ndarray:
    """Which facts are missing: no value, NaN, or an empty list (a product without regulations)."""
    return np.array(
        [len(v) == 0 if isinstance(v, (list, tuple, np.ndarray)) else bool(pd.isna(v)) for v in values], dtype=bool
    )


def matches(values: pd.Series, condition: list | dict, missing: str = "match") -> np.ndarray:
    """Which rows satisfy one condition (list fields: any element); a missing fact as ``missing`` says."""
    absent = is_missing(values)
    if isinstance(condition, dict) and ("above" in condition or "below" in condition):
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
        absent |= np.isnan(numbers)
        with np.errstate(invalid="ignore"):
            hit = numbers > condition["above"] if "above" in condition else numbers < condition["below"]
    else:
        wanted = {str(v) for v in (condition["not"] if isinstance(condition, dict) else condition)}
        hit = np.array(
            [
                bool(wanted & {str(x) for x in v}) if isinstance(v, (list, tuple, np.ndarray)) else str(v) in wanted
                for v in values
            ],
            dtype=bool,
        )
        if isinstance(condition, dict):
            hit = ~hit
    return np.where(absent, missing == "match", hit)


def _column(table: pd.DataFrame, name: str) -> pd.Series:
    return table[name] if name in table else pd.Series([None] * len(table), dtype=object)


def _side(table: pd.DataFrame, conditions: dict, missing: str) -> np.ndarray:
    out = np.ones(len(table), dtype=bool)
    for name, condition in conditions.items():
        out &= matches(_column(table, name), condition, missing)
    return out


def group_facts(customers: pd.DataFrame) -> pd.DataFrame:
    """Each customer's corporate group's facts, in the table's order: ``exposure``, the sum of
    its members' known exposures, and ``riskRating``, the worst of their known ratings (of
    :data:`RISK_RATINGS`; a rating outside it is not known), each with ``...Known``: whether every
    member's fact is. A customer without a group (no ``ultimateParentId``) is a group of one.

    ``customers`` must hold every client of the groups (the whole graph's table, not a filter's).
    """
    n = len(customers)
    key = customers[GROUP_KEY] if GROUP_KEY in customers else pd.Series([None] * n, dtype=object)
    code, found = pd.factorize(key.reset_index(drop=True))
    code = np.where(code >= 0, code, len(found) + np.arange(n))  # alone: a group of one
    exposure = pd.to_numeric(_column(customers, "exposure"), errors="coerce").to_numpy(dtype="float64")
    rank = {name: i for i, name in enumerate(RISK_RATINGS)}
    rating = np.array([rank.get(v, np.nan) if isinstance(v, str) else np.nan for v in _column(customers, "riskRating")])
    frame = pd.DataFrame({"group": code, "exposure": np.nan_to_num(exposure), "exposureKnown": ~np.isnan(exposure)})
    frame["rating"], frame["ratingKnown"] = rating, ~np.isnan(rating)
    per_group = frame.groupby("group").agg(
        exposure=("exposure", "sum"),
        exposureKnown=("exposureKnown", "all"),
        rating=("rating", "max"),
        riskRatingKnown=("ratingKnown", "all"),
    )
    out = per_group.reindex(code).reset_index(drop=True)
    worst = out.pop("rating")
    out["riskRating"] = [RISK_RATINGS[int(r)] if r == r else None for r in worst]
    return out[["exposure", "exposureKnown", "riskRating", "riskRatingKnown"]]


def _group_side(facts: pd.DataFrame, conditions: dict, missing: str) -> np.ndarray:
    """Which customers' groups match all ``conditions``; a group fact counts as missing only
    where a member's missing fact could change the answer (the known sum is already above the
    bound, or the worst known rating is already the worst there is, and the answer stands)."""
    out = np.ones(len(facts), dtype=bool)
    for name, condition in conditions.items():
        known = facts[f"{name}Known"].to_numpy(dtype=bool)
        if name == "exposure":  # the true sum is at least the known one
            value = facts["exposure"].to_numpy(dtype="float64")
            hit = value > condition["above"] if "above" in condition else value < condition["below"]
            sure = known | (hit if "above" in condition else ~hit)
        else:
            hit = matches(facts[name], condition, missing="allow")
            sure = known | (facts[name] == RISK_RATINGS[-1]).to_numpy()
        out &= np.where(sure, hit, missing == "match")
    return out


def exclusions(
    rules: list[Rule], customers: pd.DataFrame, products: pd.DataFrame, groups: pd.DataFrame | None = None
) -> dict[str, np.ndarray]:
    """For each rule, a boolean ``[customers, products]`` matrix of the candidates it excludes.

    ``customers`` and ``products`` are fact tables in model order (one row per index);
    ``groups`` the customers' :func:`group_facts` (worked out from ``customers`` if not given).
    """
    if groups is None and any(rule.group for rule in rules):
        groups = group_facts(customers)
    return {
        rule.name: np.outer(
            _side(customers, rule.customer, rule.missing)
            & (_group_side(groups, rule.group, rule.missing) if rule.group else True),
            _side(products, rule.product, rule.missing),
        )
        for rule in rules
    }


def missing_facts(
    rules: list[Rule], customers: pd.DataFrame, products: pd.DataFrame, groups: pd.DataFrame | None = None
) -> list[str]:
    """One warning per rule and side whose facts are missing for most of the graph (before writing anything).

    A group fact counts as missing for a customer when the rule's answer depends on a fact some
    member of its group lacks."""
    if groups is None and any(rule.group for rule in rules):
        groups = group_facts(customers)
    out = []
    for rule in rules:
        sides = (
            ("customers", customers, rule.customer, ""),
            ("products", products, rule.product, ""),
            ("customers", groups, rule.group, "group "),
        )
        for side, table, conditions, what in sides:
            if not conditions or not len(table):
                continue
            absent = np.zeros(len(table), dtype=bool)
            if what:  # where the answer depends on a member's missing fact
                absent = _group_side(table, conditions, "match") & ~_group_side(table, conditions, "allow")
            for name in conditions if not what else ():
                absent |= is_missing(_column(table, name))
            share = absent.mean()
            if share > MOSTLY_MISSING:
                effect = (
                    "it excludes them from what it names (missing facts fail closed; "
                    'add missing = "allow" to the rule to let them through)'
                    if rule.missing == "match"
                    else 'with missing = "allow" it never applies to them'
                )
                out.append(
                    f"rule {rule.name!r} reads {what}{', '.join(conditions)}, missing for {share:.0%} of {side}"
                    + (" (a member of their group lacks it)" if what else "")
                    + f": {effect}."
                )
    return out


def impact(
    rules: list[Rule],
    excluded_by: dict[str, np.ndarray],
    held: np.ndarray,
    top_k: int,
    customers: pd.DataFrame,
    products: pd.DataFrame,
    groups: pd.DataFrame | None = None,
) -> tuple[list[dict], list[str]]:
    """Per rule, what it took away, and a warning for each rule that swallowed most candidates.

    ``excluded`` counts the candidates (not already held) it excludes, ``share`` their share of
    all candidates, ``customersShort`` the customers it alone leaves with fewer than ``top_k``
    candidates who had at least that many without it. The warning names the likely cause: the
    shares of customers and of products its conditions match.
    """
    if groups is None and any(rule.group for rule in rules):
        groups = group_facts(customers)
    candidates = ~held
    total = int(candidates.sum())
    enough = candidates.sum(1) >= top_k
    report, warnings = [], []
    for rule in rules:
        m = excluded_by[rule.name] & candidates
        excluded = int(m.sum())
        share = excluded / total if total else 0.0
        short = int((enough & ((candidates & ~m).sum(1) < top_k)).sum())
        report.append({"rule": rule.name, "excluded": excluded, "share": round(share, 4), "customersShort": short})
        if share > SWALLOWS:
            sides = []
            for side, table, conditions in (
                ("customers", customers, rule.customer),
                ("products", products, rule.product),
            ):
                if conditions and len(table):
                    hit = _side(table, conditions, rule.missing).mean()
                    sides.append(f"{hit:.0%} of {side} ({_describe(conditions)})")
            if rule.group and len(customers):
                hit = _group_side(groups, rule.group, rule.missing).mean()
                sides.append(f"{hit:.0%} of customers by their group (group {_describe(rule.group)})")
            warnings.append(
                f"rule {rule.name!r} excluded {share:.0%} of the candidates ({excluded:,}) and left {short:,} "
                f"customers with fewer than {top_k} recommendations: it matches "
                + (" and ".join(sides) or "everything")
                + "."
            )
    return report, warnings


def _describe(conditions: dict) -> str:
    parts = []
    for name, condition in conditions.items():
        if isinstance(condition, list):
            parts.append(f"{name} in {', '.join(map(str, condition))}")
        elif "not" in condition:
            parts.append(f"{name} not in {', '.join(map(str, condition['not']))}")
        else:
            ((op, value),) = condition.items()
            parts.append(f"{name} {op} {value}")
    return "; ".join(parts)
