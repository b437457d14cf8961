"""wbgraph: a Neo4j-backed, graph-attention product recommender for wholesale banking.

The functions the ``wbgraph`` commands call, for notebooks and scripts::

    import wbgraph

    with wbgraph.connect() as (driver, settings):          # the CLI's own connection rules
        wbgraph.ingest(driver, settings, "transactions.csv")
        trained = wbgraph.train(driver, settings, wbgraph.TrainConfig(epochs=100))
        print(wbgraph.evaluate(driver, settings).verdict)
        wbgraph.writeback(driver, settings)
        print(wbgraph.recommend(driver, settings, "CUS-0001", explain=True))
    wbgraph.Run.latest().metrics()

Heavy modules (PyTorch, pandas) load on first use, so ``import wbgraph`` and the CLI stay quick.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__
from .config import Settings, TrainConfig
from .db import connect
from .runs import Run
from .writeback import writeback

_LAZY = {  # name -> the module that defines it, loaded on first use
    "generate": "loaders.generate",
    "ingest": "loaders.ingest",
    "bulk_ingest": "loaders.bulk",
    "train": "gnn.train",
    "evaluate": "gnn.evaluate",
    "recommend": "serve.recommend",
    "query": "serve.query",
    "visualize": "serve.visualize",
    "report": "serve.report",
    "demo": "pipeline",
}

__all__ = ["Run", "Settings", "TrainConfig", "__version__", "connect", "writeback", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'wbgraph' has no attribute {name!r}")
