"""The run folder, owned by one class: :class:`Run` knows every artefact a run keeps.

``<runs>/<run-id>/`` holds what ``wbgraph train`` saved (weights, encoders, config, metrics,
training curve) and what later steps added (``evaluate``: the evaluation; ``writeback``: its
summary and the 2-D projection of the customer embeddings); ``<runs>/latest`` names the
newest run. Nothing else in wbgraph spells an artefact's file name. Weights are a plain
``state_dict`` loaded back with ``torch.load(..., weights_only=True)``, so a run folder can
never execute code. ``run.json`` records the folder's format: a folder written in another
format is refused with one line naming both formats.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Settings, TrainConfig
from .errors import RunNotFound, WbgraphError

if TYPE_CHECKING:
    import neo4j
    import pandas as pd

    from .gnn.data import Encoders, Prepared
    from .gnn.model import HeteroGATRecommender

FORMAT = 3  # 1: before run.json; 2: before the per-customer split, the history edge features and the item channel
DEFAULT_RUNS_DIR = "runs"

MANIFEST = "run.json"
WEIGHTS = "model.pt"
ENCODERS = "encoders.json"
CONFIG = "config.json"
METRICS = "metrics.json"
CURVE = "curve.png"
EVALUATION = "evaluation.json"
WRITEBACK = "writeback.json"
PROJECTION = "embedding-2d.csv"
REQUIRED = (MANIFEST, WEIGHTS, ENCODERS, CONFIG, METRICS)


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


class Run:
    """One run folder. Make one with :meth:`create`, find one with :meth:`open` or :meth:`latest`."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    @property
    def id(self) -> str:
        return self.folder.name

    def __repr__(self) -> str:
        return f"Run({str(self.folder)!r})"

    # finding and making runs

    @staticmethod
    def new_id(trained_at: datetime, seed: int) -> str:
        return trained_at.strftime("%Y%m%d-%H%M%S") + f"-s{seed}"

    @classmethod
    def create(
        cls, runs_dir: str | Path, run_id: str, model: Any, encoders: Encoders, config: TrainConfig, metrics: dict
    ) -> Run:
        """Save a trained model as a new run folder and mark it latest."""
        import torch

        Path(runs_dir).mkdir(parents=True, exist_ok=True)
        run, n = cls(Path(runs_dir) / run_id), 1
        while True:  # two runs in the same second get -2, -3 ...
            try:
                run.folder.mkdir()
                break
            except FileExistsError:
                n += 1
                run = cls(Path(runs_dir) / f"{run_id}-{n}")
        run_id = run.id
        run._write_json(MANIFEST, {"format": FORMAT, "runId": run_id})
        torch.save(model.state_dict(), run.folder / WEIGHTS)
        (run.folder / ENCODERS).write_text(encoders.to_json())
        run._write_json(CONFIG, config.to_dict())
        run._write_json(METRICS, metrics)
        plot_curve(metrics["history"], run.folder / CURVE)
        (Path(runs_dir) / "latest").write_text(run_id + "\n")
        return run

    @classmethod
    def latest(cls, runs_dir: str | Path = DEFAULT_RUNS_DIR) -> Run:
        """The run ``<runs_dir>/latest`` names."""
        pointer = Path(runs_dir) / "latest"
        if not pointer.is_file():
            raise RunNotFound(f"No trained run in {runs_dir}: run `wbgraph train` first.")
        return cls.open(pointer.read_text().strip(), runs_dir)

    @classmethod
    def open(cls, run: str | Path | None = None, runs_dir: str | Path = DEFAULT_RUNS_DIR) -> Run:
        """The run ``run`` (an ID in ``runs_dir`` or a folder), or the latest when None; checked complete."""
        if not run:
            return cls.latest(runs_dir)
        found = cls(run if Path(run).is_dir() else Path(runs_dir) / str(run))
        found.check()
        return found

    def check(self) -> None:
        """Raise :class:`RunNotFound` unless the folder holds a complete run of this format."""
        if not self.folder.is_dir():
            raise RunNotFound(f"No run {self.id!r} in {self.folder.parent}.")
        if not (self.folder / MANIFEST).is_file() and (self.folder / WEIGHTS).is_file():
            raise RunNotFound(
                f"Run {self.folder} was written in run-folder format 1 by an older wbgraph; "
                f"this wbgraph reads format {FORMAT}: train again with `wbgraph train`."
            )
        missing = [name for name in REQUIRED if not (self.folder / name).is_file()]
        if missing:
            raise RunNotFound(f"Run {self.folder} is incomplete: missing {', '.join(missing)}.")
        manifest = self._read_json(MANIFEST)
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            found = manifest.get("format") if isinstance(manifest, dict) else None
            raise RunNotFound(
                f"Run {self.folder} was written in run-folder format {found}; "
                f"this wbgraph reads format {FORMAT}: train again with `wbgraph train`."
            )

    # the artefacts

    def config(self) -> TrainConfig:
        try:
            return TrainConfig(**self._read_json(CONFIG))
        except (TypeError, WbgraphError) as e:
            raise RunNotFound(f"Run {self.folder} has a damaged {CONFIG} ({str(e)[:200]}).") from None

    def metrics(self) -> dict:
        return self._read_json(METRICS)

    def encoders(self) -> Encoders:
        from .gnn.data import Encoders

        return self._guard(ENCODERS, lambda: Encoders.from_json((self.folder / ENCODERS).read_text()))

    def weights(self) -> dict:
        import torch

        return self._guard(WEIGHTS, lambda: torch.load(self.folder / WEIGHTS, weights_only=True, map_location="cpu"))

    def evaluation(self) -> dict | None:
        """What ``wbgraph evaluate`` kept, or None before it ran."""
        return self._read_json(EVALUATION) if (self.folder / EVALUATION).is_file() else None

    def save_evaluation(self, evaluation: dict) -> None:
        self._write_json(EVALUATION, evaluation)

    def writeback(self) -> dict | None:
        """What ``wbgraph writeback`` kept, or None before it ran."""
        return self._read_json(WRITEBACK) if (self.folder / WRITEBACK).is_file() else None

    def save_writeback(self, summary: dict, projection: pd.DataFrame) -> None:
        """The writeback summary, and each customer's segment and 2-D embedding projection."""
        self._write_json(WRITEBACK, summary)
        projection.to_csv(self.folder / PROJECTION, index=False)

    def projection(self) -> pd.DataFrame | None:
        import pandas as pd

        return pd.read_csv(self.folder / PROJECTION) if (self.folder / PROJECTION).is_file() else None

    def restore(self, driver: neo4j.Driver, settings: Settings) -> Restored:
        """The run's model with its weights, over the graph re-exported with the run's encoders,
        so every customer and product has the index it had in training."""
        from .gnn.data import prepare

        config, encoders = self.config(), self.encoders()
        data = prepare(driver, settings, config.filters(), encoders=encoders, holdout_share=config.holdout_share)
        return Restored(self, config, data, self.model(data, config))

    def model(self, data: Prepared, config: TrainConfig | None = None) -> HeteroGATRecommender:
        """The run's model for ``data`` (exported with the run's encoders), its weights loaded.

        Weights that are unreadable or do not fit the model (a tampered or foreign ``model.pt``)
        are a :class:`RunNotFound` naming the file.
        """
        from .gnn.model import HeteroGATRecommender

        config = config or self.config()
        state = self.weights()
        model = HeteroGATRecommender.for_graph(data.train_graph, config)
        self._guard(WEIGHTS, lambda: model.load_state_dict(state))
        return model

    # reading and writing

    def _read_json(self, name: str) -> Any:
        return self._guard(name, lambda: json.loads((self.folder / name).read_text()))

    def _write_json(self, name: str, value: Any) -> None:
        (self.folder / name).write_text(json.dumps(value, indent=2, default=str))

    def _guard(self, name: str, read: Any) -> Any:
        """Run ``read``; a truncated, tampered or foreign file becomes one line naming it."""
        try:
            return read()
        except Exception as e:
            detail = " ".join(line.strip() for line in str(e).splitlines() if line.strip())[:240]
            raise RunNotFound(f"Run {self.folder}: {name} cannot be loaded ({type(e).__name__}: {detail}).") from None


def plot_curve(history: list[dict], path: Path) -> None:
    """The training curve: loss and validation NDCG@10 per epoch (the report shows this same picture)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, loss_axis = plt.subplots(figsize=(7, 4), dpi=100)
    loss_axis.plot(epochs, [h["loss"] for h in history], color="tab:blue", label="training loss")
    loss_axis.set_xlabel("epoch")
    loss_axis.set_ylabel("loss", color="tab:blue")
    ndcg_axis = loss_axis.twinx()
    ndcg_axis.plot(epochs, [h["val_ndcg@10"] for h in history], color="tab:orange", label="validation NDCG@10")
    ndcg_axis.set_ylabel("validation NDCG@10", color="tab:orange")
    fig.suptitle("wbgraph training curve")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
