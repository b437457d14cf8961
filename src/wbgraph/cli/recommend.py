"""``wbgraph recommend``: a customer's recommendations, as stored in Neo4j."""

import click

from ..serve.recommend import recommend as library
from .common import echo_json, json_option, pass_obj, runs_option


@click.command()
@click.argument("customer_id")
@click.option("--top-k", type=click.IntRange(min=1), default=5, show_default=True, help="How many recommendations.")
@click.option("--explain", is_flag=True, help="Show the reasons stored with each recommendation.")
@click.option("--no-live", is_flag=True, help="Only what is in the graph: do not score a newcomer now.")
@click.option(
    "--group",
    is_flag=True,
    help="Also show its corporate group: every entity's products and recommendations, and its white space.",
)
@runs_option
@json_option
@pass_obj
def recommend(
    obj, customer_id: str, top_k: int, explain: bool, no_live: bool, group: bool, runs_dir: str | None, as_json: bool
) -> None:
    """Show a customer's recommendations as the last writeback stored them in Neo4j.

    A customer no writeback has reached yet (a newcomer since the last one) is scored now
    by the serving run from its attributes and holdings, without retraining, under the
    shipped eligibility rules (while it holds nothing, by what its corporate group holds,
    else by segment popularity); that reads
    the whole graph once, so it takes seconds. An unknown customer is an error (exit 8).
    With --group, its corporate group follows (wbgraph ingest --hierarchy): the ownership
    tree, what each entity uses and is recommended, and the customer's white space, the
    products used somewhere in its group but not by it.

    \b
    Example:
        wbgraph recommend CUS-0001 --top-k 5 --explain
        wbgraph recommend CUS-0001 --group
    """
    with obj.connect() as (driver, settings):
        result = library(
            driver,
            settings,
            customer_id,
            top_k,
            explain=explain or as_json,
            live=not no_live,
            runs_dir=runs_dir,
            group=group,
        )
    if as_json:
        echo_json(result)
        return
    echo_recommendations(result, explain)
    if group:
        echo_group(result["group"])


def echo_recommendations(result: dict, explain: bool) -> None:
    """A customer's facts, then its recommendations, best first (with reasons when ``explain``)."""
    segment = f", segment {result['segment']}" if result.get("segment") is not None else ""
    facts = ", ".join(str(result[k]) for k in ("customerType", "industry", "location") if result.get(k) is not None)
    click.echo(f"{result['customerId']} ({facts or 'no attributes'}{segment})")
    if result.get("source") in ("model", "segment popularity", "group popularity"):
        how = {
            "model": "by the model",
            "segment popularity": "by segment popularity: it holds nothing yet",
            "group popularity": "by what its corporate group holds: it holds nothing yet",
        }[result["source"]]
        click.echo(f"  (a newcomer: scored now by run {result['runId']}, {how}; not written back yet)")
    if not result["recommendations"]:
        click.echo("  no recommendations yet: run `wbgraph train` and `wbgraph writeback`")
    for r in result["recommendations"]:
        chance = f"  chance {r['probability']:.1%}" if r.get("probability") is not None else ""
        click.echo(
            f"  {r['rank']:>2}. {r['productId']:<10} {r['productType'] or '':<16} {r['category'] or '':<16} "
            f"score {r['score']:.3f}{chance}"
        )
        if explain:
            for reason in r["reasons"] or ["(no reasons stored: written by an older wbgraph)"]:
                click.echo(f"      - {reason}")


def echo_group(group: dict) -> None:
    """The group as a tree (the customer asked about marked *), then the customer's white space."""
    if group["ultimateParentId"] is None:
        click.echo(f"\n{group['customerId']} belongs to no corporate group (wbgraph ingest --hierarchy).")
        return
    members = group["members"]
    clients = sum(m["client"] for m in members)
    click.echo(f"\nGroup of {group['ultimateParentId']}: {len(members)} entities, {clients} clients")
    for m in members:
        mark = "*" if m["customerId"] == group["customerId"] else " "
        name = f" {m['name']}" if m["name"] else ""
        share = f" ({m['share']:.0%} owned)" if m["share"] is not None else ""
        if not m["client"]:
            what = "not a client"
        else:
            uses = ", ".join(m["uses"]) or "nothing yet"
            picks = ", ".join(r["productId"] for r in m["recommended"]) or "none"
            what = f"uses {uses}; recommended {picks}"
        click.echo(f" {mark}{'  ' * m['depth']}{m['customerId']}{name}{share}: {what}")
    white = group["whiteSpace"]
    click.echo(
        f"White space of {group['customerId']} (used in its group, not by it): "
        + (", ".join(f"{w['productId']} ({len(w['usedBy'])})" for w in white) or "none")
    )
