"""The graph model, in tables: what the loaders write, the exporter reads and the GNN learns on.

Customers, products and transactions are the entities. Every property of theirs is one
:class:`Property` of :data:`PROPERTIES`: its input column (the default input format,
:mod:`wbgraph.loaders.columns`), its node, kind and valid range, and whether and how the
model reads it (``model``); the validator, the importers, the exporter, the model's
encoders, the boosted tree and the eligibility rules all derive what they need from it, so
a new model feature is one entry here (and a mapping line for other extracts). A mapping's
own ``model = true`` properties (``[extra.Customer]``, ...) join the model beside these.
The shared categorical facts become **context
nodes** that customers and products link to, listed once in :data:`CONTEXTS`: the bulk
importer derives its node and relationship files from it, the exporter the context node
types and edge types of the ``HeteroData``, and a test checks that the online path's
``loaders/upsert_*.cypher`` writes exactly these (Cypher cannot take labels as parameters
with index-backed MERGE, so those statements spell them out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# the documented values of the default format's categories (the seed notebook's vocabularies)
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
class Property:
    """One property of the graph model and the input column it comes from.

    ``kind`` is ``id``, ``date``, ``int``, ``float`` or ``category``; ``low``/``high`` bound
    numbers (inclusive); ``vocabulary`` lists the documented values of a category (a value
    outside it is a soft warning). ``model``: how the GAT reads a customer's or product's
    property, ``"category"`` (one-hot), ``"number"`` or ``"log"`` (standardised, after
    log1p), None for not at all; ``tree``: whether the boosted tree reads it too.
    """

    header: str  # the input column of the default format
    prop: str  # the graph property
    owner: str  # Customer, Product or Transaction
    kind: str
    required: bool = False
    low: float | None = None
    high: float | None = None
    vocabulary: tuple[str, ...] | None = None
    model: str | None = None
    tree: bool = True


PROPERTIES = (
    Property("Customer ID", "customerId", "Customer", "id", required=True),
    Property("Customer Type", "customerType", "Customer", "category", vocabulary=CUSTOMER_TYPES, model="category"),
    Property("Industry", "industry", "Customer", "category", vocabulary=INDUSTRIES, model="category"),
    Property("Company Size", "companySize", "Customer", "int", low=0, model="log"),
    Property("Location", "location", "Customer", "category", vocabulary=LOCATIONS, model="category"),
    Property("Relationship Manager", "relationshipManager", "Customer", "category", model="category"),
    Property("Product ID", "productId", "Product", "id", required=True),
    Property("Product Type", "productType", "Product", "category", vocabulary=PRODUCT_TYPES, model="category"),
    Property("Product Category", "category", "Product", "category", vocabulary=PRODUCT_CATEGORIES, model="category"),
    Property(
        "Product Subcategory",
        "subcategory",
        "Product",
        "category",
        vocabulary=PRODUCT_SUBCATEGORIES,
        model="category",
        tree=False,
    ),
    Property(
        "Product Features", "features", "Product", "category", vocabulary=PRODUCT_FEATURES, model="category", tree=False
    ),
    Property("Transaction ID", "transactionId", "Transaction", "id", required=True),
    Property("Transaction Date", "date", "Transaction", "date", required=True),
    Property("Transaction Type", "type", "Transaction", "category", vocabulary=TRANSACTION_TYPES),
    Property("Transaction Amount", "amount", "Transaction", "float", required=True, low=0),
    Property("Transaction Currency", "currency", "Transaction", "category", vocabulary=CURRENCIES),
    Property("Transaction Frequency", "frequency", "Transaction", "int", low=0),
    Property("Transaction Value", "value", "Transaction", "float", low=0),
    Property("Product Adoption", "productAdoption", "Transaction", "float", low=0),
    Property("Product Usage", "productUsage", "Transaction", "float", low=0),
    Property("Customer Engagement", "customerEngagement", "Transaction", "float", low=0),
    Property("Credit Score", "creditScore", "Customer", "float", low=250, high=900, model="number"),
    Property("Risk Rating", "riskRating", "Customer", "category", vocabulary=RISK_RATINGS, model="category"),
    Property("Default Probability", "defaultProbability", "Customer", "float", low=0, high=1, model="number"),
    Property("Exposure", "exposure", "Customer", "float", low=0, model="log"),
    Property("Market Data", "marketData", "Transaction", "float"),
    Property("Economic Indicators", "economicIndicators", "Transaction", "float"),
    Property("Regulatory Requirements", "regulation", "Transaction", "category", vocabulary=REGULATIONS),
)

# node labels, with the property that is each one's key (backed by a constraint)
KEYS = {"Customer": "customerId", "Product": "productId", "Transaction": "transactionKey"}

# the relationships between the entities
PERFORMED = ("Customer", "PERFORMED", "Transaction")
OF_PRODUCT = ("Transaction", "OF_PRODUCT", "Product")
USES = ("Customer", "USES", "Product")  # aggregated from the transactions: what the model learns to predict


@dataclass(frozen=True)
class Context:
    """A context node type: ``(owner)-[relationship]->(label {name: <owner's prop>})``.

    ``many``: the owner's property is a list (a product accumulates every regulation it was
    traded under); otherwise a single value, the one of the owner's latest row.
    """

    owner: str  # Customer or Product
    prop: str  # the owner's property naming the context node
    label: str
    relationship: str
    many: bool = False

    @property
    def node_type(self) -> str:
        """The PyG node type: the label in snake_case (``RelationshipManager`` -> ``relationship_manager``)."""
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.label).lower()

    @property
    def edge_type(self) -> tuple[str, str, str]:
        """The PyG edge type from the owner to the context node."""
        return (self.owner.lower(), self.relationship.lower(), self.node_type)


CONTEXTS = (
    Context("Customer", "industry", "Industry", "IN_INDUSTRY"),
    Context("Customer", "location", "Location", "LOCATED_IN"),
    Context("Customer", "relationshipManager", "RelationshipManager", "MANAGED_BY"),
    Context("Product", "category", "ProductCategory", "IN_CATEGORY"),
    Context("Product", "regulations", "Regulation", "SUBJECT_TO", many=True),
)


def _properties(owner: str) -> list[Property]:
    """A customer's or product's properties but its key, categories first, each group in table order."""
    props = [p for p in PROPERTIES if p.owner == owner and p.kind != "id"]
    return sorted(props, key=lambda p: p.kind != "category")


def attributes(owner: str) -> tuple[str, ...]:
    """The names of :func:`_properties`: what the exporter reads of a customer or product."""
    return tuple(p.prop for p in _properties(owner))


def features_of(owner: str, kinds: tuple[str, ...], tree: bool = False) -> tuple[str, ...]:
    """The properties of ``owner`` the model reads as one of ``kinds`` (of :attr:`Property.model`);
    with ``tree``, only those the boosted tree reads too."""
    return tuple(p.prop for p in _properties(owner) if p.model in kinds and (p.tree or not tree))


# the customers' and products' attributes the exporter reads (the rules may name any of them), in
# the export's order; a product's regulations are a context of its transactions, listed last
CUSTOMER_ATTRIBUTES = attributes("Customer")
PRODUCT_ATTRIBUTES = (*attributes("Product"), "regulations")
# what the GAT's encoders read: categories one-hot; numbers standardised, True where after log1p
CUSTOMER_CATEGORY_FEATURES = features_of("Customer", ("category",))
CUSTOMER_NUMBER_FEATURES = {p.prop: p.model == "log" for p in _properties("Customer") if p.model in ("number", "log")}
PRODUCT_CATEGORY_FEATURES = features_of("Product", ("category",))
NUMERIC_FIELDS = tuple(p.prop for p in _properties("Customer") if p.kind in ("int", "float"))

# the PyG edge types of the interactions the model learns to predict, and their reverse
USES_EDGE = ("customer", "uses", "product")
REV_USES_EDGE = ("product", "rev_uses", "customer")

# corporate groups (``wbgraph ingest --hierarchy``): the group's key on each member, the top of
# its consolidation chain; the exporter reads it beside the attributes, and the model links each
# member to every product the rest of its group holds (as known at the time asked about), so one
# round of attention brings the group's holdings to it
GROUP_KEY = "ultimateParentId"
GROUP_USES_EDGE = ("customer", "group_uses", "product")


def contexts_of(owner: str) -> tuple[Context, ...]:
    return tuple(c for c in CONTEXTS if c.owner == owner)
