"""``wbgraph report``: a static HTML report of a run, with its plots also saved as PNGs.

Reads what the run folder keeps (:class:`wbgraph.runs.Run`: the training history, what
``wbgraph evaluate`` and ``wbgraph writeback`` added) and what the graph holds
(recommendation coverage by category),
and writes ``index.html`` beside one PNG per plot: training curve, metrics against the
baselines and the oracle, segment sizes and a 2-D projection of the customer embeddings
coloured by segment, coverage by product category, exclusions per eligibility rule, the
reliability of the calibrated probabilities, and the acceptance rates of the offers made
(``wbgraph outcomes ingest``). A step that has not run yet is named in the report rather
than silently left out.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import neo4j
import pandas as pd

from .._version import __version__
from ..config import Settings
from ..db import read
from ..outcomes.metrics import acceptance
from ..progress import Summary
from ..runs import Run, plot_curve


@dataclass
class Report(Summary):
    """What was written: the page, the PNGs, and the sections that lack their data."""

    index: Path
    images: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def report(
    driver: neo4j.Driver,
    settings: Settings,
    output: str | Path,
    run: str | Path | None = None,
    runs_dir: str | Path | None = None,
) -> Report:
    """Write the report of ``run`` (default: the latest) into the folder ``output``."""
    import matplotlib

    matplotlib.use("Agg")
    opened = Run.open(run, runs_dir)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    coverage = pd.DataFrame([dict(r) for r in read(driver, settings, "serve/report_coverage")])
    result = Report(out / "index.html")
    sections = [
        _training(opened.metrics(), out, result),
        _evaluation(opened.evaluation(), out, result),
        _calibration(opened.evaluation(), opened.metrics(), out, result),
        *_writeback(opened.writeback(), opened.projection(), out, result),
        _section(
            "Recommendation coverage by product category",
            _coverage_plot(coverage, out / "coverage.png", result),
            "RECOMMENDED edges in the graph now, per category of the recommended product.",
            coverage.to_html(index=False, border=0) if len(coverage) else "",
        ),
        _outcomes(acceptance(driver, settings), result),
    ]
    page = TEMPLATE.format(
        run=html.escape(opened.id),
        version=__version__,
        uri=html.escape(settings.uri),
        when=f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        sections="\n".join(sections),
    )
    result.index.write_text(page, encoding="utf-8")
    return result


def _training(metrics: dict, out: Path, result: Report) -> str:
    test = metrics["test"].get("gat", metrics["test"])  # the model's row of the held-out test
    return _section(
        "Training",
        _curve(metrics["history"], out / "training-curve.png", result),
        f"Best epoch {metrics['bestEpoch']} of {len(metrics['history'])} (early stopping on validation "
        f"NDCG@10); test NDCG@10 {test['ndcg@10']:.3f}, recall@10 {test['recall@10']:.3f} "
        f"(each customer's held-out latest interactions: the test part of the split).",
    )


def _evaluation(evaluation: dict | None, out: Path, result: Report) -> str:
    title = "Against the baselines and the oracle"
    if not evaluation:
        result.missing.append("evaluate")
        return _section(title, None, "Not evaluated yet: run <code>wbgraph evaluate</code>.")
    plot = _metrics_plot(evaluation, out / "metrics.png", result)
    return _section(title, plot, html.escape(evaluation["verdict"]), _metrics_table(evaluation))


def _calibration(evaluation: dict | None, metrics: dict, out: Path, result: Report) -> str:
    """The reliability of the probabilities on the test question: ``evaluate``'s figures, else training's."""
    title = "Calibrated probabilities"
    kept = (evaluation or {}).get("calibration") or metrics.get("calibration", {}).get("test")
    if not kept or not kept.get("pairs"):
        result.missing.append("calibration")
        return _section(title, None, "No calibrated probabilities: a run trained before them, or no test answers.")
    fitted = metrics.get("calibration", {})
    how = f"{fitted.get('method', kept.get('method'))} of the {fitted.get('input', kept.get('input'))}"
    skill = "n/a" if kept["brierSkill"] is None else f"{kept['brierSkill']:+.3f}"
    text = (
        f"The chance each customer takes each of its top {kept['k']} products within the horizon ({how}, fitted "
        f"and chosen on validation), against what the {kept['pairs']:,} pairs of the test question became: "
        f"expected calibration error {kept['ece']:.3f} over 10 equal-mass bins, Brier skill {skill} against "
        f"the base rate {kept['baseRate']:.3f}. On the diagonal, a probability means what it says."
    )
    table = pd.DataFrame(kept["bins"]).to_html(index=False, border=0)
    return _section(title, _reliability_plot(kept["bins"], out / "reliability.png", result), text, table)


def _reliability_plot(bins: list[dict], path: Path, result: Report) -> Path:
    import matplotlib.pyplot as plt

    predicted, taken = [b["probability"] for b in bins], [b["taken"] for b in bins]
    top = max(max(predicted), max(taken)) * 1.05 or 1.0
    fig, axis = plt.subplots(figsize=(5, 5))
    axis.plot([0, top], [0, top], color="tab:gray", linestyle="--", label="calibrated")
    axis.plot(predicted, taken, marker="o", color="tab:orange", label="the run")
    axis.set(xlabel="mean probability in the bin", ylabel="share taken", xlim=(0, top), ylim=(0, top))
    axis.legend(loc="upper left")
    return _save(fig, path, result)


def _writeback(written: dict | None, projection: pd.DataFrame | None, out: Path, result: Report) -> list[str]:
    if not written:
        result.missing.append("writeback")
        return [_section("Segments and exclusions", None, "Not written back yet: run <code>wbgraph writeback</code>.")]
    profiles = pd.DataFrame(written.get("segmentProfiles", []))
    sections = [
        _section(
            "Segments",
            _segments_plot(profiles, out / "segments.png", result),
            f"{written['segments']} segments, silhouette {written['silhouette']:.3f} "
            "(KMeans on the model's customer embeddings).",
            _segments_table(profiles),
        )
    ]
    if projection is not None:
        sections.append(
            _section(
                "Customer embeddings, first two principal components",
                _embedding_plot(projection, out / "embeddings.png", result),
                "Each dot a customer, coloured by segment: customers the model represents alike are "
                "customers it expects to want alike.",
            )
        )
    excluded = written["excluded"]
    sections.append(
        _section(
            "Exclusions per eligibility rule",
            _exclusions_plot(excluded, out / "exclusions.png", result),
            "Candidates (customer, product not held) each rule removed before ranking."
            if excluded
            else "No eligibility rules were applied.",
        )
    )
    return sections


def _outcomes(rates: dict, result: Report) -> str:
    """Acceptance of the offers made, overall and by run, rank, segment, product and RM."""
    title = "Offers and their outcomes"
    if not rates:
        result.missing.append("outcomes")
        return _section(title, None, "No offers in the graph: load what became of them with `wbgraph outcomes ingest`.")
    overall = rates["overall"]
    text = (
        f"{overall['offers']:,} offers, {overall['accepted']:,} accepted: {overall['rate']:.1%} "
        f"(95% interval {overall['low']:.1%}–{overall['high']:.1%}); {overall['declined']:,} declined, "
        f"{overall['noResponse']:,} without an answer. Segments are the customers' segments now."
    )
    tables = "".join(
        f"<h3>By {name}</h3>" + pd.DataFrame(rates[name]).round(3).to_html(index=False, border=0)
        for name in ("run", "rank", "segment", "product", "rm")
        if rates.get(name)
    )
    return _section(title, None, text, tables)


def _section(title: str, image: Path | None, text: str, table: str = "") -> str:
    picture = f'<img src="{image.name}" alt="{html.escape(title)}">' if image else ""
    return f"<section><h2>{html.escape(title)}</h2><p>{text}</p>{picture}{table}</section>"


def _save(fig, path: Path, result: Report) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    result.images.append(path)
    return path


def _curve(history: list[dict], path: Path, result: Report) -> Path:
    plot_curve(history, path)
    result.images.append(path)
    return path


def _metrics_plot(evaluation: dict, path: Path, result: Report) -> Path:
    import matplotlib.pyplot as plt

    names = list(evaluation["metrics"])
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.5 * len(names) + 1.5), sharey=True)
    for axis, metric in zip(axes, ("recall@10", "ndcg@10")):
        values = [evaluation["metrics"][n].get(metric, 0.0) for n in names]
        colours = ["tab:orange" if n == "gat" else "tab:gray" if n.startswith("oracle") else "tab:blue" for n in names]
        axis.barh(names, values, color=colours)
        axis.set_title(metric)
        for y, v in enumerate(values):
            axis.text(v, y, f" {v:.3f}", va="center", fontsize=8)
    axes[0].invert_yaxis()  # shared: the first method on top
    return _save(fig, path, result)


def _metrics_table(evaluation: dict) -> str:
    columns = ["recall@10", "ndcg@10", "precision@10", "hit@10", "coverage@10", "shareOfOracleRecall@10"]
    frame = pd.DataFrame(evaluation["metrics"]).T
    return frame[[c for c in columns if c in frame]].astype(float).round(3).to_html(border=0)


def _segments_plot(profiles: pd.DataFrame, path: Path, result: Report) -> Path | None:
    import matplotlib.pyplot as plt

    if profiles.empty:
        return None
    fig, axis = plt.subplots(figsize=(8, 0.5 * len(profiles) + 1.5))
    axis.barh(profiles["name"], profiles["size"], color="tab:purple")
    axis.invert_yaxis()
    axis.set_xlabel("customers")
    return _save(fig, path, result)


def _segments_table(profiles: pd.DataFrame) -> str:
    columns = [
        "segmentId",
        "size",
        "silhouette",
        "dominantType",
        "dominantIndustry",
        "dominantLocation",
        "avgCreditScore",
        "avgDefaultProbability",
        "highRiskShare",
        "mostAdopted",
        "mostRecommended",
    ]
    return profiles[[c for c in columns if c in profiles]].to_html(index=False, border=0) if len(profiles) else ""


def _embedding_plot(projection: pd.DataFrame, path: Path, result: Report) -> Path:
    import matplotlib.pyplot as plt

    fig, axis = plt.subplots(figsize=(7, 6))
    for segment, group in projection.groupby("segment"):
        axis.scatter(group["x"], group["y"], s=4, alpha=0.6, label=f"segment {segment}")
    axis.set_xlabel("principal component 1")
    axis.set_ylabel("principal component 2")
    axis.legend(markerscale=3, fontsize=8)
    return _save(fig, path, result)


def _coverage_plot(coverage: pd.DataFrame, path: Path, result: Report) -> Path | None:
    import matplotlib.pyplot as plt

    if coverage.empty:
        return None
    fig, axis = plt.subplots(figsize=(8, 4))
    axis.bar(coverage["category"], coverage["edges"], color="tab:orange")
    axis.set_ylabel("RECOMMENDED edges")
    axis.tick_params(axis="x", rotation=20)
    return _save(fig, path, result)


def _exclusions_plot(excluded: dict, path: Path, result: Report) -> Path | None:
    import matplotlib.pyplot as plt

    if not excluded:
        return None
    fig, axis = plt.subplots(figsize=(8, 0.5 * len(excluded) + 1.5))
    axis.barh(list(excluded), list(excluded.values()), color="tab:red")
    axis.invert_yaxis()
    axis.set_xlabel("candidates excluded")
    return _save(fig, path, result)


TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>wbgraph report · {run}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }}
section {{ margin: 2.5em 0; }} img {{ max-width: 100%; display: block; margin: 1em 0; }}
table {{ border-collapse: collapse; font-size: 0.85em; }}
td, th {{ padding: 0.2em 0.6em; border-bottom: 1px solid #ddd; text-align: right; }}
</style></head>
<body>
<h1>wbgraph report: run {run}</h1>
<p>Written {when} by wbgraph {version} from {uri}. All figures on held-out data the model never saw.</p>
{sections}
</body></html>
"""
