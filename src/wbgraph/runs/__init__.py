"""Runs: the run folder (:mod:`.folder`, :class:`Run` owns every artefact), the ``wbgraph runs``
commands (:mod:`.catalogue`), the record of what a run was made with (:mod:`.record`) and the
training-curve picture (:mod:`.curve`). The names below are the ones the rest of wbgraph imports
from ``wbgraph.runs``.
"""

from .catalogue import delete, list_runs, promote, show
from .curve import plot_curve
from .folder import (
    AUDIT,
    AUDIT_COLUMNS,
    CALIBRATION,
    CONFIG,
    CURVE,
    ENCODERS,
    EVALUATION,
    FEATURES,
    FORMAT,
    LATEST,
    MANIFEST,
    METRICS,
    PROJECTION,
    PROMOTED,
    RECOMMENDATION_ROW,
    REQUIRED,
    TEST_CUSTOMERS,
    WEIGHTS,
    WRITEBACK,
    Run,
    audit_schema,
    recommendation_schema,
)
from .record import environment

__all__ = [
    "RECOMMENDATION_ROW",
    "recommendation_schema",
    "AUDIT",
    "AUDIT_COLUMNS",
    "CALIBRATION",
    "CONFIG",
    "CURVE",
    "ENCODERS",
    "EVALUATION",
    "FEATURES",
    "FORMAT",
    "LATEST",
    "MANIFEST",
    "METRICS",
    "PROJECTION",
    "PROMOTED",
    "REQUIRED",
    "TEST_CUSTOMERS",
    "Run",
    "WEIGHTS",
    "WRITEBACK",
    "audit_schema",
    "delete",
    "environment",
    "list_runs",
    "plot_curve",
    "promote",
    "show",
]
