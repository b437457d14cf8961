"""The graph model, in one table: what the loaders write, the exporter reads and the GNN learns on.

Customers, products and transactions are the entities (:mod:`wbgraph.loaders.columns` maps
the input columns onto their properties). The shared categorical facts become **context
nodes** that customers and products link to, listed once in :data:`CONTEXTS`: the bulk
importer derives its node and relationship files from it, the exporter the context node
types and edge types of the ``HeteroData``, and a test checks that the online path's
``loaders/upsert_*.cypher`` writes exactly these (Cypher cannot take labels as parameters
with index-backed MERGE, so those statements spell them out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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

# the customers' and products' attributes the exporter reads and the model may use, in the export's order
CUSTOMER_ATTRIBUTES = (
    "customerType",
    "industry",
    "location",
    "relationshipManager",
    "riskRating",
    "companySize",
    "creditScore",
    "defaultProbability",
    "exposure",
)
PRODUCT_ATTRIBUTES = ("productType", "category", "subcategory", "features", "regulations")

# the PyG edge types of the interactions the model learns to predict, and their reverse
USES_EDGE = ("customer", "uses", "product")
REV_USES_EDGE = ("product", "rev_uses", "customer")


def contexts_of(owner: str) -> tuple[Context, ...]:
    return tuple(c for c in CONTEXTS if c.owner == owner)
