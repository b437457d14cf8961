"""``wbgraph recommend``: a customer's recommendations, as stored in Neo4j."""

import click

from ..serve.recommend import recommend as library
from .common import echo_json, json_option, pass_obj, runs_option


@click.command()
@click.argument("customer_id")
@click.option("--top-k", type=click.IntRange(min=1), default=5, show_default=True, help="How many recommendations.")
@click.option("--explain", is_flag=True, help="Show the reasons stored with each recommendation.")
@click.option("--no-live", is_flag=True, help="Only what is in the graph: do not score a newcomer now.")
@runs_option
@json_option
@pass_obj
def recommend(
    obj, customer_id: str, top_k: int, explain: bool, no_live: bool, runs_dir: str | None, as_json: bool
) -> None:
    """Show a customer's recommendations as the last writeback stored them in Neo4j.

    A customer no writeback has reached yet (a newcomer since the last one) is scored now
    by the serving run from its attributes and holdings, without retraining, under the
    shipped eligibility rules (by segment popularity while it holds nothing); that reads
    the whole graph once, so it takes seconds. An unknown customer is an error (exit 8).

    \b
    Example:
        wbgraph recommend CUS-0001 --top-k 5 --explain
    """
    with obj.connect() as (driver, settings):
        result = library(
            driver, settings, customer_id, top_k, explain=explain or as_json, live=not no_live, runs_dir=runs_dir
        )
    if as_json:
        echo_json(result)
        return
    echo_recommendations(result, explain)


def echo_recommendations(result: dict, explain: bool) -> None:
    """A customer's facts, then its recommendations, best first (with reasons when ``explain``)."""
    segment = f", segment {result['segment']}" if result.get("segment") is not None else ""
    facts = ", ".join(str(result[k]) for k in ("customerType", "industry", "location") if result.get(k) is not None)
    click.echo(f"{result['customerId']} ({facts or 'no attributes'}{segment})")
    if result.get("source") in ("model", "segment popularity"):
        how = "by the model" if result["source"] == "model" else "by segment popularity: it holds nothing yet"
        click.echo(f"  (a newcomer: scored now by run {result['runId']}, {how}; not written back yet)")
    if not result["recommendations"]:
        click.echo("  no recommendations yet: run `wbgraph train` and `wbgraph writeback`")
    for r in result["recommendations"]:
        click.echo(
            f"  {r['rank']:>2}. {r['productId']:<10} {r['productType'] or '':<16} {r['category'] or '':<16} "
            f"score {r['score']:.3f}"
        )
        if explain:
            for reason in r["reasons"] or ["(no reasons stored: written by an older wbgraph)"]:
                click.echo(f"      - {reason}")
