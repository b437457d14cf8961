"""Small builders for input CSV files used across the tests."""

import csv
from pathlib import Path

from wbgraph.loaders.schema import HEADERS

GOOD = {
    "Customer ID": "CUS-001", "Customer Type": "Corporate", "Industry": "Finance", "Company Size": "2922",
    "Location": "London", "Relationship Manager": "RM-001", "Product ID": "PROD-001", "Product Type": "Loan",
    "Product Category": "Lending", "Product Subcategory": "Term Loans", "Product Features": "Tenor",
    "Transaction ID": "TRAN-001", "Transaction Date": "2025-03-01 10:17:08.752682", "Transaction Type": "Loan Disbursement",
    "Transaction Amount": "1000.5", "Transaction Currency": "GBP", "Transaction Frequency": "3",
    "Transaction Value": "20000", "Product Adoption": "1", "Product Usage": "5", "Customer Engagement": "7",
    "Credit Score": "700.5", "Risk Rating": "Low", "Default Probability": "0.01", "Exposure": "50000",
    "Market Data": "500.1", "Economic Indicators": "3.1", "Regulatory Requirements": "Basel III",
}


def row(**changes) -> dict:
    """A valid input row, with some columns changed (keyword = header with spaces as underscores)."""
    out = dict(GOOD)
    for key, value in changes.items():
        out[key.replace("_", " ")] = value
    return out


def write_csv(path: Path, rows: list[dict], headers=HEADERS, **fmt) -> Path:
    with open(path, "w", newline="", encoding=fmt.pop("encoding", "utf-8")) as f:
        writer = csv.writer(f, **fmt)
        writer.writerow(headers)
        for r in rows:
            writer.writerow([r.get(h, "") for h in headers])
    return path
