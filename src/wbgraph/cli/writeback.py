"""``wbgraph writeback``: a run's recommendations, segments and reasons into Neo4j."""

from typing import TYPE_CHECKING

import click

from .common import bars, echo_json, json_option, pass_obj, run_option, runs_option, segments_count, silent_option

if TYPE_CHECKING:
    from ..writeback.write import WritebackSummary


@click.command()
@run_option
@click.option(
    "--top-k", type=click.IntRange(min=1), default=10, show_default=True, help="Recommendations per customer."
)
@click.option(
    "--segments",
    default="auto",
    show_default=True,
    callback=segments_count,
    help="Customer segments: a number K, or 'auto' (the K in 3..10 with the best silhouette).",
)
@click.option(
    "--rules",
    type=click.Path(exists=True, dir_okay=False),
    help="Eligibility rules file (TOML; default: the shipped rules).",
)
@click.option("--no-rules", is_flag=True, help="Apply no eligibility rules.")
@click.option(
    "--no-suppression",
    is_flag=True,
    help="Propose products even if the customer declined them lately or never answered their offers.",
)
@click.option(
    "--max-churn",
    type=click.FloatRange(0, 1),
    help="Refuse (exit 20, nothing written) if the new sets' mean overlap@K with those in the graph is below 1 - X.",
)
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=500, show_default=True, help="Customers per write transaction."
)
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=64),
    default=None,
    help="Write transactions run concurrently (default: one per CPU core of this machine, at most 4).",
)
@click.option(
    "--require-evaluated",
    is_flag=True,
    help="Refuse a run that was not evaluated (exit 11) or failed its evaluation gate (exit 10).",
)
@click.option(
    "--only-new",
    is_flag=True,
    help="Only customers without a current set (newcomers since the last writeback), scored without retraining.",
)
@runs_option
@silent_option
@json_option
@pass_obj
def writeback(
    obj,
    run: str | None,
    top_k: int,
    segments: int | str,
    rules: str | None,
    no_rules: bool,
    no_suppression: bool,
    max_churn: float | None,
    batch_size: int,
    workers: int | None,
    require_evaluated: bool,
    only_new: bool,
    runs_dir: str,
    silent: bool,
    as_json: bool,
) -> None:
    """Write a run's top-K eligible recommendations, with reasons and segments, into Neo4j.

    Replaces each customer's previous recommendations in the same transaction, so a
    reader always sees a complete set; an interrupted writeback is finished by running
    it again. Candidates excluded by the eligibility rules are counted per rule. Rules fail
    closed: a missing fact (no risk rating, no regulations) counts as matching, unless the
    rule says missing = "allow"; a rule blind to most facts, or excluding most candidates,
    is a warning before anything is written. --only-new tops up: customers that arrived
    since the last writeback get their sets from the same run, without retraining, and
    join its nearest segment; nothing else changes. A product the customer declined within
    90 days, or was offered 3 times without an answer (wbgraph outcomes ingest; the rules
    file's [suppression] changes both), is not proposed; offers that cannot be read stop
    the writeback (exit 14) unless --no-suppression. --max-churn X refuses (exit 20) a
    writeback whose sets would overlap those in the graph by less than 1 - X on average.

    \b
    Example:
        wbgraph writeback --top-k 10 --segments auto --rules my-rules.toml
        wbgraph evaluate --require-beat EASE && wbgraph writeback --require-evaluated
        wbgraph ingest new-clients.csv && wbgraph writeback --only-new
    """
    from ..config import rules_file
    from ..writeback import writeback as library

    if rules and no_rules:
        raise click.UsageError("--rules and --no-rules cannot be combined.")
    chosen = rules_file(rules, none=no_rules)  # --rules, else wbgraph.toml's [rules], else the shipped ones
    with obj.connect() as (driver, settings):
        summary = library(
            driver,
            settings,
            run=run,
            top_k=top_k,
            batch_size=batch_size,
            segments=segments,
            rules=chosen,
            workers=workers,
            runs_dir=runs_dir,
            progress=bars(silent or as_json),
            require_evaluated=require_evaluated,
            only_new=only_new,
            suppression=not no_suppression,
            max_churn=max_churn,
        )
    if as_json:
        echo_json(summary)
        return
    echo_summary(summary, top_k, only_new)


def echo_summary(summary: "WritebackSummary", top_k: int, only_new: bool) -> None:
    """What the writeback wrote, what the rules excluded and earlier offers kept away, the warnings."""
    click.echo(
        f"Run {summary.run_id}: {summary.edges:,} RECOMMENDED edges for {summary.covered:,} of {summary.customers:,} "
        f"customers in {summary.seconds:.1f}s ({summary.edges_per_second:,.0f} edges/s; writing "
        f"{summary.phase_seconds['write']:.1f}s, {summary.write_edges_per_second:,.0f} edges/s)"
    )
    if only_new:
        click.echo(f"Newcomers joined {summary.segments} of the run's segments")
    else:
        click.echo(f"Segments: {summary.segments} (silhouette {summary.silhouette:.3f})")
    if summary.rules:
        click.echo(f"Excluded by eligibility rules (of candidates not already held; customers left short of {top_k}):")
        for r in summary.rules:
            click.echo(f"  {r['rule']:<32} {r['excluded']:>10,} {r['share']:>7.1%} {r['customersShort']:>8,} short")
    else:
        click.echo("No eligibility rules applied.")
    s = summary.suppression
    if s is None:
        click.echo("Earlier offers not read (--no-suppression).")
    else:
        click.echo(
            f"Kept away by earlier offers: {s['declined']:,} declined within {s['declinedDays']} days, "
            f"{s['noResponse']:,} offered {s['noResponseMax']} times or more without an answer"
        )
    if summary.churn:
        echo_churn(summary.churn, top_k)
    for warning in summary.warnings:
        click.echo(f"Warning: {warning}")


def echo_churn(churn: dict, top_k: int) -> None:
    """How much the new sets change those that were in the graph."""
    if not churn["customers"]:
        click.echo("Churn: no set in the graph to compare with")
        return
    correlation = churn["rankCorrelation"]
    click.echo(
        f"Churn against the sets in the graph (run {', '.join(churn['against'])}): mean overlap@{top_k} "
        f"{churn['meanOverlap']:.3f} over {churn['customers']:,} customers"
        + (f", rank correlation {correlation:.3f}" if correlation is not None else "")
    )
