"""Eligibility and suitability rules: which (customer, product) candidates may be proposed.

A rules file (TOML; the shipped default is ``rules/default.toml``, which documents the
format) lists rules, each excluding the candidates whose customer matches all of its
customer conditions and whose product matches all of its product conditions. Rules are
evaluated on the same customer and product facts the model was exported with, as boolean
matrices, so every exclusion can be counted per rule.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..gnn.export import CUSTOMER_COLUMNS, PRODUCT_COLUMNS

DEFAULT_RULES = "default"  # the shipped rules, writeback/rules/default.toml
CUSTOMER_FIELDS = CUSTOMER_COLUMNS[1:]  # the facts the model was exported with, less the ID
PRODUCT_FIELDS = PRODUCT_COLUMNS


@dataclass
class Rule:
    name: str
    description: str = ""
    customer: dict = field(default_factory=dict)
    product: dict = field(default_factory=dict)


def default_rules_text() -> str:
    return resources.files(__package__).joinpath("rules", "default.toml").read_text(encoding="utf-8")


def load_rules(path: str | Path | None = DEFAULT_RULES) -> list[Rule]:
    """The rules of a file; ``"default"`` the shipped ones; ``None`` no rules at all."""
    if path is None:
        return []
    where = "the default rules" if path == DEFAULT_RULES else str(path)
    try:
        text = default_rules_text() if path == DEFAULT_RULES else Path(path).read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{where}: cannot read the rules ({e}).") from None
    unknown = set(data) - {"rule"}
    if unknown:
        raise ConfigError(f"{where}: unknown top-level keys {sorted(unknown)}; rules are [[rule]] tables.")
    rules, names = [], set()
    for i, raw in enumerate(data.get("rule", []), start=1):
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
            raise ConfigError(f"{where}: rule {i} needs a name.")
        extra = set(raw) - {"name", "description", "customer", "product"}
        if extra:
            raise ConfigError(f"{where}: rule {raw['name']!r} has unknown keys {sorted(extra)}.")
        if raw["name"] in names:
            raise ConfigError(f"{where}: two rules are named {raw['name']!r}.")
        names.add(raw["name"])
        rule = Rule(raw["name"], str(raw.get("description", "")), raw.get("customer", {}), raw.get("product", {}))
        for side, allowed in (("customer", CUSTOMER_FIELDS), ("product", PRODUCT_FIELDS)):
            conditions = getattr(rule, side)
            if not isinstance(conditions, dict):
                raise ConfigError(f"{where}: rule {rule.name!r}: `{side}` must be a table of conditions.")
            for name, condition in conditions.items():
                if name not in allowed:
                    raise ConfigError(
                        f"{where}: rule {rule.name!r}: no {side} field {name!r} (fields: {', '.join(allowed)})."
                    )
                _check_condition(where, rule.name, name, condition)
        rules.append(rule)
    return rules


def _check_condition(where: str, rule: str, name: str, condition) -> None:
    ok = isinstance(condition, list) or (
        isinstance(condition, dict)
        and len(condition) == 1
        and (
            (isinstance(condition.get("not"), list))
            or any(
                isinstance(condition.get(op), (int, float)) and not isinstance(condition.get(op), bool)
                for op in ("above", "below")
            )
        )
    )
    if not ok:
        raise ConfigError(
            f"{where}: rule {rule!r}: condition on {name!r} must be a list of values, "
            "{ not = [...] }, { above = N } or { below = N }."
        )


def matches(values: pd.Series, condition: list | dict) -> np.ndarray:
    """Which rows satisfy one condition (list fields: any element)."""
    if isinstance(condition, dict) and ("above" in condition or "below" in condition):
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
        with np.errstate(invalid="ignore"):
            return numbers > condition["above"] if "above" in condition else numbers < condition["below"]
    wanted = {str(v) for v in (condition["not"] if isinstance(condition, dict) else condition)}
    hit = np.array(
        [
            bool(wanted & {str(x) for x in v})
            if isinstance(v, (list, np.ndarray))
            else (v is not None and str(v) in wanted)
            for v in values
        ],
        dtype=bool,
    )
    return ~hit if isinstance(condition, dict) else hit


def _side(table: pd.DataFrame, conditions: dict) -> np.ndarray:
    out = np.ones(len(table), dtype=bool)
    for name, condition in conditions.items():
        out &= matches(table[name] if name in table else pd.Series([None] * len(table)), condition)
    return out


def exclusions(rules: list[Rule], customers: pd.DataFrame, products: pd.DataFrame) -> dict[str, np.ndarray]:
    """For each rule, a boolean ``[customers, products]`` matrix of the candidates it excludes.

    ``customers`` and ``products`` are fact tables in model order (one row per index).
    """
    return {rule.name: np.outer(_side(customers, rule.customer), _side(products, rule.product)) for rule in rules}
