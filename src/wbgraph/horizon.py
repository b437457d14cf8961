"""Lengths of time and dates in settings: the as-of protocol's horizon and cutoff.

Kept apart from :mod:`wbgraph.gnn.asof` (which uses them) so that the settings can check
them without loading the graph-learning package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from .errors import ConfigError

DAYS = {"d": 1.0, "w": 7.0, "m": 30.4375, "q": 91.3125, "y": 365.25}


@dataclass(frozen=True)
class Horizon:
    """How far ahead the question looks: ``30d``, ``2w``, ``1m`` (calendar months), ``1q``, ``1y``."""

    count: int
    unit: str  # d, w, m, q or y

    @classmethod
    def parse(cls, text: str) -> Horizon:
        match = re.fullmatch(r"\s*(\d+)\s*([dwmqy])\s*", str(text).lower())
        if not match or int(match.group(1)) < 1:
            raise ConfigError(f"horizon must be a length such as 30d, 2w, 1m, 1q or 1y, not {text!r}.")
        return cls(int(match.group(1)), match.group(2))

    def shift(self, when: pd.Timestamp, k: int) -> pd.Timestamp:
        """``when`` moved by ``k`` horizons (months, quarters and years on the calendar)."""
        n = self.count * k
        if self.unit in "dw":
            return when + pd.Timedelta(days=n * DAYS[self.unit])
        months = n * {"m": 1, "q": 3, "y": 12}[self.unit]
        return when + pd.DateOffset(months=months)

    @property
    def days(self) -> float:
        """The horizon's length in days (a month is 30.44): for recency thresholds."""
        return self.count * DAYS[self.unit]

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"


def parse_date(text: str, name: str = "cutoff") -> pd.Timestamp:
    """An ISO 8601 date or date-time as a UTC timestamp; a one-line error otherwise."""
    try:
        when = pd.Timestamp(str(text)) if re.match(r"\d{4}-\d{2}-\d{2}", str(text)) else pd.NaT
    except (ValueError, TypeError):
        when = pd.NaT
    if when is pd.NaT:
        raise ConfigError(f"{name} must be an ISO 8601 date such as 2016-03-01, not {text!r}.")
    return when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
