"""``wbgraph run``: ingest -> train -> evaluate with a gate -> writeback, the scheduled refresh."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import PipelineStopped
from .common import (
    bars,
    comma_list,
    echo_json,
    json_option,
    k_option,
    mapping_option,
    max_rejects_option,
    pass_obj,
    runs_option,
    segments_count,
    silent_option,
)

if TYPE_CHECKING:
    from ..pipeline import RunResult


@click.command(name="run")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--hierarchy",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A file of who owns whom, loaded after FILES (as `wbgraph ingest --hierarchy`): corporate groups.",
)
@mapping_option
@max_rejects_option
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Training settings (TOML or JSON, as for `wbgraph train --config`).",
)
@click.option("--epochs", type=click.IntRange(min=1), help="Most training epochs (default: the training default).")
@click.option(
    "--protocol",
    type=click.Choice(["latest", "asof"]),
    help="latest: hold out each customer's latest interactions; asof: backtest at --cutoff, then train again "
    "up to the latest transaction and write that model back (default: asof with --cutoff, else latest).",
)
@click.option(
    "--cutoff",
    help="The as-of backtest's date (default with --protocol asof: one horizon before the day after the latest "
    "transaction).",
)
@click.option("--horizon", help="How far ahead the as-of question looks: 30d, 2w, 1m, 1q or 1y (default 1m).")
@click.option(
    "--require-beat",
    callback=comma_list,
    default="popularity",
    show_default=True,
    metavar="NAME[,NAME...]",
    help="The gate: write back only if the model beats these baselines, e.g. 'EASE,item kNN'.",
)
@click.option("--no-gate", is_flag=True, help="No gate: write back whatever the evaluation says.")
@click.option("--metric", default="recall@10", show_default=True, help="The metric the gate compares.")
@click.option(
    "--margin", type=float, default=0.0, show_default=True, help="Relative margin of the gate (0.02: 1.02 x)."
)
@k_option
@click.option(
    "--top-k", type=click.IntRange(min=1), default=10, show_default=True, help="Recommendations per customer."
)
@click.option(
    "--segments", default="auto", show_default=True, callback=segments_count, help="Customer segments: K or auto."
)
@click.option(
    "--rules", type=click.Path(exists=True, dir_okay=False), help="Eligibility rules file (default: the shipped rules)."
)
@click.option("--no-rules", is_flag=True, help="Apply no eligibility rules.")
@click.option(
    "--max-churn",
    type=click.FloatRange(0, 1),
    help="Stop before writing back (exit 20) if the new sets' mean overlap@K with those in the graph is below 1 - X.",
)
@runs_option
@silent_option
@json_option
@pass_obj
def run(
    obj,
    files: tuple[Path, ...],
    hierarchy: Path | None,
    mapping: Path | None,
    max_rejects: int | None,
    config_file: str | None,
    epochs: int | None,
    protocol: str | None,
    cutoff: str | None,
    horizon: str | None,
    require_beat: list[str],
    no_gate: bool,
    metric: str,
    margin: float,
    k: int,
    top_k: int,
    segments: int | str,
    rules: str | None,
    no_rules: bool,
    max_churn: float | None,
    runs_dir: str | None,
    silent: bool,
    as_json: bool,
) -> None:
    """Refresh everything: ingest FILES, train, evaluate with a gate, write back if it passed.

    Without FILES it trains on what the graph holds. The gate (--require-beat, default
    popularity) must pass, with evidence, for anything to be written back. Under the as-of
    protocol (--cutoff, --protocol asof) the evaluation is a backtest at the cutoff; when it
    passes, the model is trained again up to the latest transaction and that one is written
    back. The whole run holds the
    database's writer lock, so two refreshes never overlap. The exit status says which
    stage stopped it: the stage's own (3 or 4 from the ingest, 10 when the gate failed and
    nothing was written back, 13 when another writer holds the lock, 20 when --max-churn
    stopped it; see "Exit status"
    in the README); --json prints the summary so far in either case.

    \b
    Example:
        wbgraph run extract.csv --require-beat popularity,EASE --json > refresh.json
        wbgraph run holdings.csv --protocol asof --horizon 1m --k 7 --metric map@7
        wbgraph run extract.csv --hierarchy groups.csv
    """
    from ..config import TrainConfig, rules_file, train_config_file
    from ..pipeline import run as library

    if rules and no_rules:
        raise click.UsageError("--rules and --no-rules cannot be combined.")
    config = TrainConfig.load(
        train_config_file(config_file), epochs=epochs, protocol=protocol, cutoff=cutoff, horizon=horizon
    )
    with obj.connect() as (driver, settings):
        try:
            result = library(
                driver,
                settings,
                files,
                mapping=mapping,
                hierarchy=hierarchy,
                max_rejects=max_rejects,
                config=config,
                require_beat=[] if no_gate else require_beat,
                metric=metric,
                margin=margin,
                k=k,
                top_k=top_k,
                segments=segments,
                rules=rules_file(rules, none=no_rules),
                runs_dir=runs_dir,
                progress=bars(silent or as_json),
                max_churn=max_churn,
            )
        except PipelineStopped as stopped:
            _echo(stopped.result, as_json)
            raise
    _echo(result, as_json)


def _echo(result: RunResult, as_json: bool) -> None:
    if as_json:
        echo_json(result)
    else:
        echo_run(result)


def echo_run(result: RunResult) -> None:
    """One line per stage that ran, then where it stopped."""
    if result.ingest:
        i = result.ingest
        click.echo(f"ingest     {i.loaded:,} of {i.read:,} rows loaded, {i.rejected:,} rejected")
    if result.training:
        t = result.training
        click.echo(f"train      run {t.run_id}: {t.epochs} epochs (best {t.best_epoch})")
    if result.evaluation:
        e = result.evaluation
        gate = e.gate
        verdict = ("gate passed" if gate["passed"] else "gate FAILED") if gate else "no gate"
        gat = e.metrics.get("gat", {})
        headline = f"map@{e.k}" if e.k != 10 else "recall@10"
        figures = f"{headline} {gat.get(headline, 0):.3f}, ndcg@10 {gat.get('ndcg@10', 0):.3f}"
        asof = f" (backtest as of {e.protocol['cutoff']})" if e.protocol.get("name") == "asof" else ""
        click.echo(f"evaluate   {figures}{asof}; {verdict}")
    if result.refit:
        r = result.refit
        click.echo(f"refit      run {r.run_id}: trained again as of {r.protocol.get('cutoff')} ({r.epochs} epochs)")
    if result.writeback:
        w = result.writeback
        click.echo(f"writeback  {w.edges:,} RECOMMENDED edges for {w.covered:,} customers")
        if w.churn and w.churn["customers"]:
            click.echo(
                f"           churn: mean overlap@{w.top_k} {w.churn['meanOverlap']:.3f} with the sets it replaced "
                f"({w.churn['customers']:,} customers, run {', '.join(w.churn['against'])})"
            )
        if w.churn and w.churn.get("drift"):
            name, most = next(iter(w.churn["drift"].items()))
            click.echo(
                f"           drift: largest {name}, population stability index {most['psi']:.3f} ({most['reading']})"
            )
        for warning in w.warnings:
            click.echo(f"Warning: {warning}")
    if result.promoted:
        click.echo(f"Promoted run {result.run_id} (it replaced the promoted run's recommendations).")
    steps = ", ".join(f"{k} {v:.0f}s" for k, v in result.seconds.items())
    if result.stopped_at:
        click.echo(f"Stopped at {result.stopped_at} after {result.total:.0f}s ({steps}).")
    else:
        click.echo(f"Done in {result.total:.0f}s ({steps}).")
