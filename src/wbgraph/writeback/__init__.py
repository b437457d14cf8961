"""Results into the graph: plan (scores, rules, top K), eligibility, segments, reasons, write.

:func:`writeback` is the stage, and ``wbgraph writeback`` calls it: :func:`.plan.plan`
computes everything first, then :func:`.write.write` writes it. The heavy modules load only
when it runs, so ``import wbgraph`` stays quick.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..db import writer_lock
from ..errors import GateFailed, NotEvaluated, NotWrittenBack, TooMuchChurn
from ..progress import SILENT, Phases, Progress
from ..runs import Run
from .eligibility import DEFAULT_RULES

if TYPE_CHECKING:
    import neo4j

    from ..config import Settings
    from .plan import Plan
    from .write import WritebackSummary


def writeback(
    driver: neo4j.Driver,
    settings: Settings,
    run: str | Path | None = None,
    top_k: int = 10,
    batch_size: int = 500,
    segments: int | str = "auto",
    rules: str | Path | None = DEFAULT_RULES,
    workers: int | None = None,
    runs_dir: str | Path | None = None,
    progress: Progress = SILENT,
    require_evaluated: bool = False,
    only_new: bool = False,
    suppression: bool = True,
    churn: bool = False,
    max_churn: float | None = None,
) -> WritebackSummary:
    """Write the top ``top_k`` eligible recommendations of every customer the run knows, with segments.

    ``only_new``: only customers without a current set (newcomers since the last writeback),
    scored by the run without retraining, products that arrived after training included;
    each joins the run's nearest segment and nothing else in the graph changes
    (:func:`.plan.plan_newcomers`). The run folder keeps the summary under ``topUps``.

    ``rules``: a rules file, ``"default"`` for the shipped rules, None for none; a rule that
    cannot see most facts, or that excluded most candidates, is a warning (said through
    ``progress`` before writing, and kept in the summary's ``warnings``). Batches of
    ``batch_size`` customers are written by ``workers`` concurrent transactions (default: one
    per CPU core, at most 4: on 2 cores, 2 workers wrote 54-58k edges/s, 4 workers 50k; each
    customer's set is still replaced in one transaction; deadlocks between them are retried
    by the driver). The whole writeback holds the database's writer lock
    (:func:`wbgraph.db.writer_lock`), so two writebacks, or a writeback and an ingest or a
    reset, never run at once. ``require_evaluated`` refuses, before anything is written, a run that
    ``wbgraph evaluate`` never scored or whose evaluation failed its gate.

    ``suppression``: a product the customer declined lately, or was offered too often without an
    answer (``wbgraph outcomes ingest``; the rules file's ``[suppression]``, else 90 days and 3
    times), is not proposed; counted per reason in the summary. Offers that cannot be read stop
    the writeback before anything is written; False: offers play no part.

    ``churn``: compare the new sets with those in the graph first (:func:`churn_against_graph`,
    the summary's ``churn``); ``max_churn`` X: refuse (:class:`TooMuchChurn`, nothing written)
    when their mean overlap@k falls below 1 - X.
    """
    chosen = Run.open(run, runs_dir)  # named, else the serving run: the promoted one or the latest that passed
    if require_evaluated:
        check_evaluated(chosen)
    if only_new and chosen.projection() is None:
        raise NotWrittenBack(
            f"Run {chosen.id} was never written back: run `wbgraph writeback` first (--only-new tops up its sets)."
        )

    from .eligibility import load_rules, load_suppression
    from .plan import plan, plan_newcomers
    from .write import write

    kept_away = load_suppression(rules) if suppression else None
    phases = Phases()
    with writer_lock(driver, settings, "writeback", progress):
        with phases("plan"):
            if only_new:
                planned = plan_newcomers(driver, settings, chosen, top_k, load_rules(rules), suppression=kept_away)
            else:
                planned = plan(driver, settings, chosen.folder, top_k, segments, rules, suppression=kept_away)
            asked = churn or max_churn is not None
            moved = churn_against_graph(driver, settings, planned, top_k, max_churn) if asked else None
        for warning in planned.warnings:  # said before the first write, and kept in the summary
            progress.say(f"Warning: {warning}")
        with phases("write"):
            write(driver, settings, planned, batch_size, workers, progress, segments=not only_new)
    summary = _summary(planned, top_k, only_new, phases)
    summary.churn = moved
    if kept_away is not None:
        summary.suppression = {
            "declinedDays": kept_away.declined_days,
            "noResponseMax": kept_away.no_response_max,
            **planned.suppressed,
        }
    _keep(planned, summary, only_new)
    return summary


def churn_against_graph(
    driver: neo4j.Driver, settings: Settings, planned: Plan, top_k: int, max_churn: float | None
) -> dict:
    """How much ``planned`` changes the sets in the graph: over the customers that have one,
    ``meanOverlap`` (overlap@``top_k``) and ``rankCorrelation`` (:func:`wbgraph.runs.compare.overlaps`),
    ``against`` the runs that wrote them, and ``drift``: each customer feature's population
    stability index from that run's training to this one's (:func:`wbgraph.runs.drift.psi`;
    None unless one run wrote them all and both kept their profiles). Raises
    :class:`TooMuchChurn` when the mean overlap is below 1 - ``max_churn``."""
    import pandas as pd

    from ..db import read
    from ..runs.compare import overlaps

    records = read(driver, settings, "writeback/current_sets")
    current = pd.DataFrame(
        [(r["customerId"], p, i + 1) for r in records for i, p in enumerate(r["products"])],
        columns=["customerId", "productId", "rank"],
    )
    new = pd.DataFrame(
        [(row["customerId"], x["productId"], x["rank"]) for row in planned.rows for x in row["recommendations"]],
        columns=["customerId", "productId", "rank"],
    )
    per = overlaps(current, new, top_k)
    mean = float(per["overlap"].mean()) if len(per) else None
    moved = {
        "against": sorted({r["runId"] for r in records if r["runId"]}),
        "customers": len(per),
        "meanOverlap": mean,
        "rankCorrelation": float(per["correlation"].mean()) if per["correlation"].notna().any() else None,
        "maxChurn": max_churn,
    }
    moved["drift"] = _drift_since(planned.run, moved["against"])
    if max_churn is not None and mean is not None and mean < 1 - max_churn:
        raise TooMuchChurn(
            f"The new sets would change too much: mean overlap@{top_k} {mean:.3f} with the {len(per):,} sets in the "
            f"graph (run {', '.join(moved['against'])}), below 1 - --max-churn {max_churn} = {1 - max_churn:.3f}; "
            "nothing written back."
        )
    return moved


def _drift_since(run: Run, against: list[str]) -> dict | None:
    """:func:`wbgraph.runs.drift.psi` from the run that wrote the graph's sets (found beside
    ``run``) to ``run``; None when several runs or none wrote them, or either lacks a profile."""
    from ..runs.drift import psi

    if len(against) != 1 or against[0] == run.id:
        return None
    before = Run(run.folder.parent / against[0])
    if not before.folder.is_dir():
        return None
    a, b = before.features(), run.features()
    return None if a is None or b is None else psi(a, b)


def _summary(planned: Plan, top_k: int, only_new: bool, phases: Phases) -> WritebackSummary:
    """What the writeback wrote: customers, sets, edges, segments, exclusions, rules, warnings, seconds."""
    from .write import WritebackSummary

    edges = sum(len(r["recommendations"]) for r in planned.rows)
    return WritebackSummary(
        planned.run_id,
        len(planned.rows),
        sum(1 for r in planned.rows if r["recommendations"]),
        edges,
        top_k,
        len(planned.segments) if not only_new else len({r["segment"] for r in planned.rows} - {None}),
        planned.segments[0]["runSilhouette"] if planned.segments else 0.0,
        planned.excluded,
        phases.total,
        phases.seconds(),
        planned.rules,
        planned.warnings,
    )


def _keep(planned: Plan, summary: WritebackSummary, only_new: bool) -> None:
    """Keep in the run folder what was written (the audit file, named in ``summary``), and the
    summary: with the segment profiles and each customer's segment and 2-D position, or, for
    ``only_new``, among the run's top-ups."""
    import pandas as pd

    written_at = datetime.now(UTC).isoformat(timespec="seconds")
    kind = "only-new" if only_new else "all"
    audit = planned.run.save_audit(planned.rows, planned.run_id, written_at, kind, trained_at=planned.created_at)
    summary.audit_file = str(audit)
    if only_new:
        planned.run.add_top_up(summary.to_json() | {"customerIds": planned.customer_ids})
        return
    planned.run.save_writeback(
        summary.to_json() | {"segmentProfiles": planned.segments},
        pd.DataFrame(
            {
                "customerId": planned.customer_ids,
                "segment": planned.labels,
                "x": planned.projection[:, 0],
                "y": planned.projection[:, 1],
            }
        ),
    )


def check_evaluated(run: Run) -> None:
    """Refuse a run that was never evaluated (exit 11) or that failed its gate (exit 10)."""
    evaluation = run.evaluation()
    if evaluation is None:
        raise NotEvaluated(f"Run {run.id} was never evaluated: run `wbgraph evaluate --run {run.id}` first.")
    gate = evaluation.get("gate")
    if gate and not gate.get("passed"):
        lost = ", ".join(s["baseline"] for s in gate.get("shortfalls", []))
        raise GateFailed(f"Run {run.id} failed its evaluation gate on {gate.get('metric')} (did not beat {lost}).")
