"""The library functions of ``wbgraph runs``: list, show, promote and delete run folders."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import GateFailed, RunNotFound
from ..progress import camel

if TYPE_CHECKING:
    pass
from .folder import LATEST, PROMOTED, Run


def list_runs(runs_dir: str | Path | None = None) -> list[dict]:
    """Every run, oldest first: ID, when, data fingerprint, recall@10 and NDCG@10 (test; from
    the evaluation when there is one), gate verdict, and whether it is latest, promoted, serving."""
    every = Run.all(runs_dir)
    latest = every[-1].id if every else None
    promoted = Run.promoted(runs_dir) if every else None
    try:
        serving = Run.serving(runs_dir).id if every else None
    except (RunNotFound, GateFailed):
        serving = None
    return [run.summary(latest=latest, promoted=promoted.id if promoted else None, serving=serving) for run in every]


def show(run: str, runs_dir: str | Path | None = None) -> dict:
    """One run's whole record: its summary, configuration, record, evaluation and writeback."""
    found = Run.open(run, runs_dir)
    metrics = found.metrics()
    every = list_runs(runs_dir)
    summary = next((r for r in every if r["runId"] == found.id), None) or found.summary()
    return summary | {
        "folder": str(found.folder),
        "record": found.record(),
        "config": {camel(k): v for k, v in found.config().to_dict().items()},  # as every --json: camelCase
        "training": {k: v for k, v in metrics.items() if k != "history"} | {"epochs": len(metrics.get("history", []))},
        "evaluation": found.evaluation(),
        "writeback": found.writeback(),
        "auditFiles": [p.name for p in found.audit_files()],
    }


def promote(run: str, runs_dir: str | Path | None = None, force: bool = False) -> Run:
    """Make ``run`` the one writeback, recommend and report use by default.

    A run that failed its evaluation gate is refused unless ``force``.
    """
    found = Run.open(run, runs_dir)
    if found.gate_state() == "failed" and not force:
        raise GateFailed(f"Run {found.id} failed its evaluation gate: promote it anyway with --force.")
    (found.folder.parent / PROMOTED).write_text(found.id + "\n")
    return found


def delete(run: str, runs_dir: str | Path | None = None) -> dict:
    """Delete a run folder; the ``latest`` pointer moves to the newest remaining run, and a
    promotion of this run ends. Returns what changed."""
    found = Run.open(run, runs_dir)
    where = found.folder.parent
    pointers = {name: (where / name).read_text().strip() for name in (LATEST, PROMOTED) if (where / name).is_file()}
    shutil.rmtree(found.folder)
    changed = {"deleted": found.id, "folder": str(found.folder), "unpromoted": pointers.get(PROMOTED) == found.id}
    if changed["unpromoted"]:
        (where / PROMOTED).unlink()
    if pointers.get(LATEST) == found.id:
        rest = Run.all(where)
        if rest:
            (where / LATEST).write_text(rest[-1].id + "\n")
        else:
            (where / LATEST).unlink()
        changed["latest"] = rest[-1].id if rest else None
    return changed
