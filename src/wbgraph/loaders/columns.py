"""The default input format: the seed notebook's columns, one per property of the graph model.

Each column is a :class:`~wbgraph.graphmodel.Property` of :data:`wbgraph.graphmodel.PROPERTIES`
(its header, the property it fills, the node it belongs to, its kind, range and vocabulary):
this module only looks them up by header. Required columns must be present and valid in
every row; an optional column may be empty (stored as no property). Vocabularies are the
seed notebook's: a value outside one is kept and reported as a soft warning (``--strict``
rejects the row instead).
"""

from __future__ import annotations

from ..graphmodel import (  # noqa: F401 (the vocabularies, for the generator and the tests)
    CURRENCIES,
    CUSTOMER_TYPES,
    INDUSTRIES,
    LOCATIONS,
    PRODUCT_CATEGORIES,
    PRODUCT_FEATURES,
    PRODUCT_SUBCATEGORIES,
    PRODUCT_TYPES,
    PROPERTIES,
    REGULATIONS,
    RELATIONSHIP_MANAGERS,
    RISK_RATINGS,
    TRANSACTION_TYPES,
)
from ..graphmodel import Property as Column

MAX_ID_LENGTH = 256

COLUMNS: tuple[Column, ...] = PROPERTIES
HEADERS = tuple(c.header for c in COLUMNS)
BY_HEADER = {c.header: c for c in COLUMNS}
PROP = {c.header: c.prop for c in COLUMNS}


def owned_by(owner: str) -> tuple[Column, ...]:
    """The columns describing a Customer, a Product or a Transaction."""
    return tuple(c for c in COLUMNS if c.owner == owner)
