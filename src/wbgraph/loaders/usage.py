"""What the transactions of a customer-product pair add up to: the ``USES`` relationship's
properties, and each entity's latest row.

The online ingest (:mod:`.ingest`), the bulk importer (:mod:`.bulk`) and the exporter's offline
twin (:func:`wbgraph.gnn.export.tables_from_rows`) all aggregate the same way, here, as
``loaders/refresh_usage.cypher`` does in the database.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def latest_rows(rows: pd.DataFrame, key: str) -> pd.DataFrame:
    """The latest row (by date, then line) of each ``key``: where an entity's attributes come from."""
    return rows.sort_values(["date", "line"]).groupby(key, sort=False).tail(1)


def product_regulations(rows: pd.DataFrame) -> pd.Series:
    """Each product's regulations in ``rows``, sorted (every one it has been traded under; pass
    only its latest row for the mapping's ``regulations = "latest"``)."""
    return rows.dropna(subset=["regulation"]).groupby("productId")["regulation"].agg(lambda s: sorted(set(s)))


def usage_table(transactions: pd.DataFrame) -> pd.DataFrame:
    """``USES`` of each customer-product pair from its (distinct) transactions, as ``refresh_usage.cypher`` does.

    Money is never added across currencies: the totals (and the pair's ``currency``) are
    kept only when all the pair's transactions share one currency, or all name none.
    """
    return finish_usage(usage_parts(transactions))


PAIR = ["customerId", "productId"]


def usage_parts(transactions: pd.DataFrame, keys: list[str] = PAIR) -> pd.DataFrame:
    """Sums, counts and bounds of each pair's transactions: parts that add up across chunks (:func:`merge_usage`).

    ``keys``: the columns naming a pair (the bulk path uses one integer code per pair).
    """
    missing = pd.Series(np.nan, index=transactions.index)
    frame = transactions.assign(
        currencyKey=transactions["currency"].fillna(""),
        usageCount=transactions["productUsage"].notna(),
        engagementCount=transactions["customerEngagement"].notna(),
        amountCount=transactions["amount"].notna(),
        valueCount=transactions["value"].notna(),
        amountReporting=transactions.get("amountReporting", missing),
        valueReporting=transactions.get("valueReporting", missing),
    )
    frame["amountConverted"] = frame["amountReporting"].notna()
    frame["valueConverted"] = frame["valueReporting"].notna()
    return (
        frame.groupby(keys, sort=False)
        .agg(
            transactionCount=("date", "size"),
            firstDate=("date", "min"),
            lastDate=("date", "max"),
            totalAmount=("amount", "sum"),
            totalValue=("value", "sum"),
            usageSum=("productUsage", "sum"),
            usageCount=("usageCount", "sum"),
            engagementSum=("customerEngagement", "sum"),
            engagementCount=("engagementCount", "sum"),
            currency=("currencyKey", "first"),
            currencies=("currencyKey", "nunique"),
            **REPORTING_PARTS,
        )
        .reset_index()
    )


def merge_usage(parts: list[pd.DataFrame], keys: list[str] = PAIR) -> pd.DataFrame:
    """Parts of the same pairs (from several chunks) as one part per pair."""
    frame = pd.concat(parts, ignore_index=True)
    merged = (
        frame.groupby(keys, sort=False)
        .agg(
            transactionCount=("transactionCount", "sum"),
            firstDate=("firstDate", "min"),
            lastDate=("lastDate", "max"),
            totalAmount=("totalAmount", "sum"),
            totalValue=("totalValue", "sum"),
            usageSum=("usageSum", "sum"),
            usageCount=("usageCount", "sum"),
            engagementSum=("engagementSum", "sum"),
            engagementCount=("engagementCount", "sum"),
            currency=("currency", "first"),
            currencies=("currencies", "max"),
            distinct=("currency", "nunique"),
            **{name: (name, "sum") for name in REPORTING_PARTS},
        )
        .reset_index()
    )
    merged["currencies"] = np.maximum(merged["currencies"], merged.pop("distinct"))
    return merged


def finish_usage(parts: pd.DataFrame, keys: list[str] = PAIR) -> pd.DataFrame:
    """The ``USES`` properties from one part per pair: means, and totals only within one currency."""
    usage = parts[[*keys, "transactionCount", "firstDate", "lastDate"]].copy()
    one = parts["currencies"] == 1
    usage["totalAmount"] = parts["totalAmount"].where(one)
    usage["totalValue"] = parts["totalValue"].where(one)
    for mean, total, count in (
        ("meanUsage", "usageSum", "usageCount"),
        ("meanEngagement", "engagementSum", "engagementCount"),
    ):
        counted = parts[count].to_numpy(dtype="float64")
        with np.errstate(divide="ignore", invalid="ignore"):
            usage[mean] = np.where(counted > 0, parts[total].to_numpy(dtype="float64") / counted, np.nan)
    usage["currency"] = parts["currency"].where(one & (parts["currency"] != ""))
    for total, count in (("amount", "amountCount"), ("value", "valueCount")):  # every amount converted, or none
        converted = parts[f"{total}Converted"]
        every = (converted > 0) & (converted == parts[count])
        usage[f"total{total.title()}Reporting"] = parts[f"{total}Reporting"].where(every)
    return usage


REPORTING_PARTS = {  # usage_parts' sums and counts for the totals in the reporting currency
    "amountCount": ("amountCount", "sum"),
    "valueCount": ("valueCount", "sum"),
    "amountReporting": ("amountReporting", "sum"),
    "amountConverted": ("amountConverted", "sum"),
    "valueReporting": ("valueReporting", "sum"),
    "valueConverted": ("valueConverted", "sum"),
}
