"""Run folders: ``runs/<run-id>/`` with weights, encoders, config, metrics and a training curve.

``runs/latest`` names the newest run. Weights are a plain ``state_dict`` loaded back with
``torch.load(..., weights_only=True)``, so a run folder can never execute code.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..errors import WbgraphError
from .export import Encoders

FILES = ("model.pt", "encoders.json", "config.json", "metrics.json")


class RunNotFound(WbgraphError):
    """The run folder is missing, incomplete or damaged."""


def save_run(runs_dir, run_id: str, model, encoders: Encoders, config: dict, metrics: dict) -> Path:
    run_dir = Path(runs_dir) / run_id
    run_dir.mkdir(parents=True, exist_ok=False)
    torch.save(model.state_dict(), run_dir / "model.pt")
    (run_dir / "encoders.json").write_text(encoders.to_json())
    (run_dir / "config.json").write_text(json.dumps(config, indent=2))
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    plot_curve(metrics["history"], run_dir / "curve.png")
    (Path(runs_dir) / "latest").write_text(run_id + "\n")
    return run_dir


def resolve_run(runs_dir, run: str | None = None) -> Path:
    """The folder of ``run`` (an ID or a path), or of the latest run."""
    runs_dir = Path(runs_dir)
    if run and Path(run).is_dir():
        run_dir = Path(run)
    else:
        if not run:
            latest = runs_dir / "latest"
            if not latest.exists():
                raise RunNotFound(f"No trained run in {runs_dir}: run `wbgraph train` first.")
            run = latest.read_text().strip()
        run_dir = runs_dir / run
    missing = [f for f in FILES if not (run_dir / f).is_file()]
    if missing:
        raise RunNotFound(f"Run {run_dir} is incomplete: missing {', '.join(missing)}.")
    return run_dir


def load_run(run_dir: Path) -> tuple[dict, Encoders, dict, dict]:
    """``(state_dict, encoders, config, metrics)`` of a run folder; damage gives a clear error."""
    try:
        state = torch.load(run_dir / "model.pt", weights_only=True, map_location="cpu")
        encoders = Encoders.from_json((run_dir / "encoders.json").read_text())
        config = json.loads((run_dir / "config.json").read_text())
        metrics = json.loads((run_dir / "metrics.json").read_text())
    except Exception as e:  # truncated, tampered or foreign files
        raise RunNotFound(f"Run {run_dir} cannot be loaded ({type(e).__name__}: {str(e).splitlines()[0][:200]}).") from None
    return state, encoders, config, metrics


def plot_curve(history: list[dict], path: Path) -> None:
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
