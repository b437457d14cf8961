"""The run folder, owned by one class: :class:`Run` knows every artefact a run keeps.

``<runs>/<run-id>/`` holds what ``wbgraph train`` saved (weights, encoders, config, metrics,
training curve, and in ``run.json`` the record of what it was trained on and with) and what
later steps added (``evaluate``: the evaluation; ``writeback``: its summary and the 2-D
projection of the customer embeddings); ``<runs>/latest`` names the newest run and
``<runs>/promoted`` the one a team chose (``wbgraph runs promote``). The runs location is
:func:`wbgraph.config.runs_location`'s. Nothing else in wbgraph spells an artefact's file name.

Which run a command uses when none is named: ``evaluate`` the latest (what was just
trained); ``writeback``, ``recommend`` and ``report`` the *serving* run: the promoted one,
else the latest run that did not fail its evaluation gate. Weights are a plain
``state_dict`` loaded back with ``torch.load(..., weights_only=True)``, so a run folder can
never execute code. ``run.json`` records the folder's format: a folder written in another
format is refused with one line naming both formats.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import TrainConfig, runs_location
from ..errors import GateFailed, RunNotFound, WbgraphError

if TYPE_CHECKING:
    import pandas as pd
from .curve import plot_curve

FORMAT = 3  # 1: before run.json; 2: before the per-customer split, the history edge features and the item channel


MANIFEST = "run.json"


WEIGHTS = "model.pt"


ENCODERS = "encoders.json"


CONFIG = "config.json"


METRICS = "metrics.json"


CURVE = "curve.png"


EVALUATION = "evaluation.json"


CALIBRATION = "calibration.json"  # score -> probability, fitted on validation (wbgraph.gnn.calibration)


FEATURES = "features.json"  # the customers' feature profile at training, for drift (wbgraph.runs.drift)


TEST_CUSTOMERS = "test-customers.parquet"  # each test customer's figures: runs compare pairs two runs on them


WRITEBACK = "writeback.json"


PROJECTION = "embedding-2d.csv"


AUDIT = "recommendations"  # one Parquet file per writeback: what it wrote, to whom, when and why


LATEST = "latest"


PROMOTED = "promoted"


REQUIRED = (MANIFEST, WEIGHTS, ENCODERS, CONFIG, METRICS)


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
        cls,
        runs_dir: str | Path | None,
        run_id: str,
        model: Any,
        encoders: Any,
        config: TrainConfig,
        metrics: dict,
        record: dict | None = None,
        artefacts: dict[str, Any] | None = None,
    ) -> Run:
        """Save a trained model as a new run folder and mark it latest: ``model``'s
        ``state_dict()`` and ``encoders.to_json()`` (:mod:`wbgraph.gnn.restore` brings them back).

        ``record`` (what :func:`wbgraph.gnn.train.train` knows: library versions, git commit,
        graph counts, data window and fingerprint) goes into ``run.json`` beside the format;
        ``artefacts`` (file name -> JSON value: :data:`CALIBRATION`, :data:`FEATURES`; or a
        DataFrame for a Parquet file: :data:`TEST_CUSTOMERS`) each into its file.
        """
        import torch

        runs_dir = runs_location(runs_dir)
        runs_dir.mkdir(parents=True, exist_ok=True)
        run, n = cls(Path(runs_dir) / run_id), 1
        while True:  # two runs in the same second get -2, -3 ...
            try:
                run.folder.mkdir()
                break
            except FileExistsError:
                n += 1
                run = cls(Path(runs_dir) / f"{run_id}-{n}")
        run_id = run.id
        trained_at = metrics.get("trainedAt")
        run._write_json(MANIFEST, {"format": FORMAT, "runId": run_id, "trainedAt": trained_at} | (record or {}))
        torch.save(model.state_dict(), run.folder / WEIGHTS)
        (run.folder / ENCODERS).write_text(encoders.to_json())
        run._write_json(CONFIG, config.to_dict())
        run._write_json(METRICS, metrics)
        for name, value in (artefacts or {}).items():
            if name.endswith(".parquet"):
                value.to_parquet(run.folder / name, index=False)
            else:
                run._write_json(name, value)
        plot_curve(metrics["history"], run.folder / CURVE)
        (runs_dir / LATEST).write_text(run_id + "\n")
        return run

    @classmethod
    def latest(cls, runs_dir: str | Path | None = None) -> Run:
        """The run ``<runs_dir>/latest`` names: the newest trained."""
        runs_dir = runs_location(runs_dir)
        pointer = runs_dir / LATEST
        if not pointer.is_file():
            raise RunNotFound(f"No trained run in {runs_dir}: run `wbgraph train` first.")
        return cls.open(pointer.read_text().strip(), runs_dir)

    @classmethod
    def promoted(cls, runs_dir: str | Path | None = None) -> Run | None:
        """The run ``wbgraph runs promote`` chose, or None."""
        pointer = runs_location(runs_dir) / PROMOTED
        return cls.open(pointer.read_text().strip(), runs_dir) if pointer.is_file() else None

    @classmethod
    def serving(cls, runs_dir: str | Path | None = None) -> Run:
        """The run writeback, recommend and report use by default: the promoted one, else the
        latest that did not fail its evaluation gate (an unevaluated run has not failed one).
        When every run failed its gate: :class:`GateFailed` (exit 10), as for the one run named."""
        chosen = cls.promoted(runs_dir)
        if chosen:
            return chosen
        every = cls.all(runs_dir)
        for run in reversed(every):
            if run.gate_state() != "failed":
                return run
        where = runs_location(runs_dir)
        if every:
            raise GateFailed(
                f"Every run in {where} failed its evaluation gate: train again, or promote one "
                "knowingly with `wbgraph runs promote ID --force`."
            )
        raise RunNotFound(f"No trained run in {where}: run `wbgraph train` first.")

    @classmethod
    def all(cls, runs_dir: str | Path | None = None) -> list[Run]:
        """Every complete run of this format in the runs location, oldest first."""
        runs_dir = runs_location(runs_dir)
        found = []
        for folder in runs_dir.iterdir() if runs_dir.is_dir() else ():
            run = cls(folder)
            try:
                run.check()
            except RunNotFound:
                continue
            found.append(run)
        return sorted(found, key=lambda r: (str(r.record().get("trainedAt") or ""), r.id))

    @classmethod
    def open(cls, run: str | Path | None = None, runs_dir: str | Path | None = None, default: str = "serving") -> Run:
        """The run ``run`` (an ID in ``runs_dir`` or a folder), checked complete; when None, the
        ``default``: ``"serving"`` (:meth:`serving`) or ``"latest"`` (:meth:`latest`)."""
        if not run:
            return cls.latest(runs_dir) if default == "latest" else cls.serving(runs_dir)
        found = cls(run if Path(run).is_dir() else runs_location(runs_dir) / str(run))
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

    def record(self) -> dict:
        """``run.json``: the format, the run ID, when it was trained and, for runs trained since
        wbgraph recorded them, the library versions, git commit, graph counts, data window and
        fingerprint of the data it learned from."""
        return self._read_json(MANIFEST)

    def gate_state(self) -> str:
        """``"passed"`` or ``"failed"`` (its evaluation's gate), ``"no gate"`` (evaluated without
        one) or ``"not evaluated"``."""
        evaluation = self.evaluation()
        if evaluation is None:
            return "not evaluated"
        gate = evaluation.get("gate")
        if not gate:
            return "no gate"
        return "passed" if gate.get("passed") else "failed"

    def summary(self, latest: str | None = None, promoted: str | None = None, serving: str | None = None) -> dict:
        """The run in one row of ``wbgraph runs list``."""
        record, evaluation = self.record(), self.evaluation()
        if evaluation:
            figures, source = evaluation.get("metrics", {}).get("gat", {}), "test (evaluate)"
        else:
            figures, source = self.metrics().get("test", {}).get("gat", {}), "test (train)"
        return {
            "runId": self.id,
            "trainedAt": record.get("trainedAt"),
            "fingerprint": record.get("fingerprint"),
            "window": record.get("window"),
            "recall@10": figures.get("recall@10"),
            "ndcg@10": figures.get("ndcg@10"),
            "figuresFrom": source,
            "gate": self.gate_state(),
            "latest": self.id == latest,
            "promoted": self.id == promoted,
            "serving": self.id == serving,
        }

    def config(self) -> TrainConfig:
        try:
            return TrainConfig(**self._read_json(CONFIG))
        except (TypeError, WbgraphError) as e:
            raise RunNotFound(f"Run {self.folder} has a damaged {CONFIG} ({str(e)[:200]}).") from None

    def metrics(self) -> dict:
        return self._read_json(METRICS)

    def weights(self) -> dict:
        import torch

        return self.guard(WEIGHTS, lambda: torch.load(self.folder / WEIGHTS, weights_only=True, map_location="cpu"))

    def calibration(self) -> dict | None:
        """The score-to-probability map training fitted, or None (a run from before it)."""
        return self._read_json(CALIBRATION) if (self.folder / CALIBRATION).is_file() else None

    def test_customers(self) -> pd.DataFrame | None:
        """Each test customer's figures (``customerId``, ``recall@10``, ...), or None (a run from before them)."""
        import pandas as pd

        path = self.folder / TEST_CUSTOMERS
        return self.guard(TEST_CUSTOMERS, lambda: pd.read_parquet(path)) if path.is_file() else None

    def features(self) -> dict | None:
        """The feature profile training kept (:mod:`.drift`), or None (a run from before it)."""
        return self._read_json(FEATURES) if (self.folder / FEATURES).is_file() else None

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

    def save_audit(
        self, rows: list[dict], run_id: str, written_at: str, kind: str, trained_at: str | None = None
    ) -> Path:
        """Keep what a writeback wrote: one row per (customer, product) with rank, score,
        probability, reasons, run, segment, when the run was trained, source and the time it was written, as
        ``recommendations/<time>-<kind>.parquet``: "what did we recommend to whom, when and
        why" has an answer for every past writeback of the run."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns: dict[str, list] = {name: [] for name in AUDIT_COLUMNS}
        for row in rows:
            for rec in row["recommendations"]:
                columns["customerId"].append(row["customerId"])
                columns["productId"].append(rec["productId"])
                columns["rank"].append(rec["rank"])
                columns["score"].append(rec["score"])
                columns["probability"].append(rec.get("probability"))
                columns["reasons"].append(rec.get("reasons") or [])
                columns["segment"].append(row.get("segment"))
                columns["source"].append(row.get("source", "model"))
        n = len(columns["customerId"])
        columns["runId"], columns["writtenAt"], columns["writeback"] = [run_id] * n, [written_at] * n, [kind] * n
        columns["trainedAt"] = [trained_at] * n
        folder = self.folder / AUDIT
        folder.mkdir(exist_ok=True)
        path = folder / f"{written_at.replace(':', '').replace('+0000', 'Z')}-{kind}.parquet"
        pq.write_table(pa.table(columns, schema=audit_schema()), path, compression="zstd")
        return path

    def audit(self, customers: list[str] | None = None) -> pd.DataFrame:
        """Everything the run's writebacks wrote (:meth:`save_audit`), oldest first; only
        ``customers``' rows with it."""
        import pandas as pd
        import pyarrow.parquet as pq

        wanted = [("customerId", "in", list(customers))] if customers else None
        tables = [pq.read_table(f, filters=wanted).to_pandas() for f in self.audit_files()]
        return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=list(AUDIT_COLUMNS))

    def audit_files(self) -> list[Path]:
        """The run's audit files, oldest first (their names start with the time written)."""
        return sorted((self.folder / AUDIT).glob("*.parquet")) if (self.folder / AUDIT).is_dir() else []

    def add_top_up(self, summary: dict) -> None:
        """Keep a ``writeback --only-new`` summary in ``writeback.json``'s ``topUps``."""
        kept = self.writeback() or {}
        kept.setdefault("topUps", []).append(summary)
        self._write_json(WRITEBACK, kept)

    def projection(self) -> pd.DataFrame | None:
        import pandas as pd

        return pd.read_csv(self.folder / PROJECTION) if (self.folder / PROJECTION).is_file() else None

    # reading and writing

    def _read_json(self, name: str) -> Any:
        return self.guard(name, lambda: json.loads((self.folder / name).read_text()))

    def _write_json(self, name: str, value: Any) -> None:
        (self.folder / name).write_text(json.dumps(value, indent=2, default=str))

    def guard(self, name: str, read: Any) -> Any:
        """Run ``read``; a truncated, tampered or foreign file becomes one line naming it."""
        try:
            return read()
        except Exception as e:
            detail = " ".join(line.strip() for line in str(e).splitlines() if line.strip())[:240]
            raise RunNotFound(f"Run {self.folder}: {name} cannot be loaded ({type(e).__name__}: {detail}).") from None


# one recommendation row, the same in every file that holds one (the audit files here,
# `wbgraph recommendations export`): name and Parquet type; each file adds its own columns after them
RECOMMENDATION_ROW = (
    ("customerId", "string"),
    ("productId", "string"),
    ("rank", "int32"),
    ("score", "float64"),
    ("probability", "float64"),  # calibrated chance of taking it within the horizon (null: a run without one)
    ("reasons", "list<string>"),
    ("runId", "string"),
    ("segment", "int32"),
    ("trainedAt", "string"),  # when the run was trained (ISO 8601)
)
AUDIT_EXTRA = (("source", "string"), ("writtenAt", "string"), ("writeback", "string"))
AUDIT_COLUMNS = tuple(name for name, _ in (*RECOMMENDATION_ROW, *AUDIT_EXTRA))


def recommendation_schema(extra: tuple = ()) -> object:
    """The Parquet schema of :data:`RECOMMENDATION_ROW` and then ``extra`` (``(name, type)`` pairs)."""
    import pyarrow as pa

    types = {"string": pa.string(), "int32": pa.int32(), "float64": pa.float64(), "list<string>": pa.list_(pa.string())}
    return pa.schema([(name, types[kind]) for name, kind in (*RECOMMENDATION_ROW, *extra)])


def audit_schema() -> object:
    """The Parquet schema of the audit files: a recommendation row, its source and when and how it was written."""
    return recommendation_schema(AUDIT_EXTRA)
