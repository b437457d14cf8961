"""The training curve picture: loss and validation NDCG@10 per epoch (``curve.png``; the report shows it too)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass


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
    # runs before 0.2.0 wrote val_ndcg@10
    ndcg_axis.plot(
        epochs,
        [h.get("valNdcg@10", h.get("val_ndcg@10")) for h in history],
        color="tab:orange",
        label="validation NDCG@10",
    )
    ndcg_axis.set_ylabel("validation NDCG@10", color="tab:orange")
    fig.suptitle("wbgraph training curve")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
