"""The input format: the seed notebook's 28 columns, their types, ranges and vocabularies.

Each column maps to one graph property (camelCase, without the entity prefix where it is
obvious). Required columns must be present and valid in every row; an optional column may
be empty (stored as no property). Vocabularies are the seed notebook's: a value outside one
is kept and reported as a soft warning (``--strict`` rejects the row instead).
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_ID_LENGTH = 256

CUSTOMER_TYPES = ("Corporate", "Institutional", "Government")
INDUSTRIES = ("Finance", "Healthcare", "Technology", "Energy", "Manufacturing")
LOCATIONS = ("USA", "Europe", "Asia", "New York", "London", "Tokyo")
RELATIONSHIP_MANAGERS = ("John Smith", "Jane Doe", "RM-001", "RM-002", "RM-003")
PRODUCT_TYPES = ("Loan", "Deposit", "Trade Finance", "Cash Management", "Risk Management")
PRODUCT_CATEGORIES = ("Cash Management", "Risk Management", "Trade Services", "Lending", "Investments")
PRODUCT_SUBCATEGORIES = (
    "Credit Facilities",
    "Foreign Exchange",
    "Supply Chain Finance",
    "Term Loans",
    "Commercial Cards",
)
PRODUCT_FEATURES = ("Interest Rate", "Tenor", "Currency", "Collateral", "Covenants")
TRANSACTION_TYPES = ("Loan Disbursement", "Deposit", "Trade Settlement", "Credit Facility", "FX Trade")
CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CHF")
RISK_RATINGS = ("Low", "Medium", "High")
REGULATIONS = ("KYC", "AML", "CCAR", "Basel III", "Dodd-Frank")


@dataclass(frozen=True)
class Column:
    """One input column: its header, property name, owner and kind.

    ``kind`` is ``id``, ``date``, ``int``, ``float`` or ``category``; ``low``/``high`` bound
    numbers (inclusive); ``vocabulary`` lists the documented values of a category.
    """

    header: str
    prop: str
    owner: str  # Customer, Product or Transaction
    kind: str
    required: bool = False
    low: float | None = None
    high: float | None = None
    vocabulary: tuple[str, ...] | None = None


COLUMNS = (
    Column("Customer ID", "customerId", "Customer", "id", required=True),
    Column("Customer Type", "customerType", "Customer", "category", vocabulary=CUSTOMER_TYPES),
    Column("Industry", "industry", "Customer", "category", vocabulary=INDUSTRIES),
    Column("Company Size", "companySize", "Customer", "int", low=0),
    Column("Location", "location", "Customer", "category", vocabulary=LOCATIONS),
    Column("Relationship Manager", "relationshipManager", "Customer", "category"),
    Column("Product ID", "productId", "Product", "id", required=True),
    Column("Product Type", "productType", "Product", "category", vocabulary=PRODUCT_TYPES),
    Column("Product Category", "category", "Product", "category", vocabulary=PRODUCT_CATEGORIES),
    Column("Product Subcategory", "subcategory", "Product", "category", vocabulary=PRODUCT_SUBCATEGORIES),
    Column("Product Features", "features", "Product", "category", vocabulary=PRODUCT_FEATURES),
    Column("Transaction ID", "transactionId", "Transaction", "id", required=True),
    Column("Transaction Date", "date", "Transaction", "date", required=True),
    Column("Transaction Type", "type", "Transaction", "category", vocabulary=TRANSACTION_TYPES),
    Column("Transaction Amount", "amount", "Transaction", "float", required=True, low=0),
    Column("Transaction Currency", "currency", "Transaction", "category", vocabulary=CURRENCIES),
    Column("Transaction Frequency", "frequency", "Transaction", "int", low=0),
    Column("Transaction Value", "value", "Transaction", "float", low=0),
    Column("Product Adoption", "productAdoption", "Transaction", "float", low=0),
    Column("Product Usage", "productUsage", "Transaction", "float", low=0),
    Column("Customer Engagement", "customerEngagement", "Transaction", "float", low=0),
    Column("Credit Score", "creditScore", "Customer", "float", low=250, high=900),
    Column("Risk Rating", "riskRating", "Customer", "category", vocabulary=RISK_RATINGS),
    Column("Default Probability", "defaultProbability", "Customer", "float", low=0, high=1),
    Column("Exposure", "exposure", "Customer", "float", low=0),
    Column("Market Data", "marketData", "Transaction", "float"),
    Column("Economic Indicators", "economicIndicators", "Transaction", "float"),
    Column("Regulatory Requirements", "regulation", "Transaction", "category", vocabulary=REGULATIONS),
)

HEADERS = tuple(c.header for c in COLUMNS)
BY_HEADER = {c.header: c for c in COLUMNS}
PROP = {c.header: c.prop for c in COLUMNS}


def owned_by(owner: str) -> tuple[Column, ...]:
    """The columns describing a Customer, a Product or a Transaction."""
    return tuple(c for c in COLUMNS if c.owner == owner)
