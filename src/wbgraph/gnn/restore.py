"""A saved run brought back to life: its model with its weights, over the graph re-exported its way.

:mod:`wbgraph.runs` stores and loads the run folder's files; this module turns them into the
objects of :mod:`wbgraph.gnn` (encoders, the model), so the run folder knows nothing of the
model and the model knows the folder only through :class:`~wbgraph.runs.Run`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import torch

from ..config import Settings, TrainConfig
from ..runs import CALIBRATION, ENCODERS, WEIGHTS, Run
from .calibration import Calibrator
from .data import Encoders, Prepared, prepare, prepare_tables
from .export import fetch
from .model import HeteroGATRecommender

if TYPE_CHECKING:
    import neo4j

__all__ = ["Restored", "restore", "load_model", "encoders_of", "calibrator_of"]


@dataclass
class Restored:
    """A saved run brought back: its model with weights, and the graph re-exported its way."""

    run: Run
    config: TrainConfig
    data: Prepared
    model: HeteroGATRecommender

    @property
    def run_id(self) -> str:
        return self.run.id


def encoders_of(run: Run) -> Encoders:
    """The run's encoders: every customer, product and category in the index it had in training."""
    return run.guard(ENCODERS, lambda: Encoders.from_json((run.folder / ENCODERS).read_text()))


def calibrator_of(run: Run) -> Calibrator | None:
    """The run's score-to-probability map (:mod:`.calibration`); None for a run trained before it."""
    kept = run.calibration()
    return None if kept is None else run.guard(CALIBRATION, lambda: Calibrator.from_json(kept))


def restore(run: Run, driver: neo4j.Driver, settings: Settings, newcomers: bool = False) -> Restored:
    """The run's model with its weights, over the graph re-exported with the run's encoders,
    so every customer and product has the index it had in training.

    ``newcomers``: the current graph (the run's customer-type and location filters, not
    its time window) with the customers and products that arrived after training
    appended, and the model grown to score them (:meth:`HeteroGATRecommender.grow`).
    """
    config, encoders = run.config(), encoders_of(run)
    if not newcomers:
        data = prepare(driver, settings, config.filters(), encoders=encoders, holdout_share=config.holdout_share)
        return Restored(run, config, data, load_model(run, data, config))
    everything = {"since": None, "until": None, "cutoff": None, "horizon": None}  # all of it, as it is now
    tables = fetch(driver, settings, **(config.filters() | everything))
    data = prepare_tables(tables, encoders.with_newcomers(tables), config.holdout_share)
    return Restored(run, config, data, load_model(run, data, config))


def load_model(run: Run, data: Prepared, config: TrainConfig | None = None) -> HeteroGATRecommender:
    """The run's model for ``data`` (exported with the run's encoders), its weights loaded;
    grown for the customers and products ``data`` has beyond the trained ones.

    Weights that are unreadable or do not fit the model (a tampered or foreign ``model.pt``)
    are a :class:`~wbgraph.errors.RunNotFound` naming the file.
    """
    config = config or run.config()
    state = run.weights()
    if not any(".evidence_" in key for key in state):  # plain GATv2: trained with --no-evidence, or before it
        config = replace(config, evidence=False)
    graph = data.train_graph
    trained = {
        key.removeprefix("embeddings.").removesuffix(".weight"): value.shape[0]
        for key, value in state.items()
        if key.startswith("embeddings.") and key.endswith(".weight")
    }
    if "product_bias" in state:
        trained["product"] = state["product_bias"].shape[0]
    model = HeteroGATRecommender.for_graph(graph, config, num_nodes=trained)
    state.setdefault("group_weight", model.group_weight.clone())  # a run from before the group part: 0
    state.setdefault("score_scale", torch.tensor(1.0))  # a run from before the scaled decoder: unscaled
    run.guard(WEIGHTS, lambda: model.load_state_dict(state))
    model.grow({t: graph[t].num_nodes for t in graph.node_types})
    return model
