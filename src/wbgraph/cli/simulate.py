"""``wbgraph simulate``: what relationship managers might do with a run's recommendations, on generated data."""

from pathlib import Path

import click

from .common import echo_fields, echo_json, json_option, runs_option


@click.group()
def simulate() -> None:
    """Simulate what comes back from the field, from the generator's planted truth.

    \b
    Example:
        wbgraph simulate offers --truth truth.json --output offers.csv
    """


@simulate.command()
@click.option("--run", help="Run ID or folder whose written sets are offered. Default: the serving run.")
@click.option(
    "--truth",
    type=click.Path(exists=True, dir_okay=False),
    required=True,
    help="The generator's truth file (wbgraph generate --truth).",
)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True, help="CSV to write.")
@click.option(
    "--share", type=click.FloatRange(0, 1), default=0.3, show_default=True, help="Share of the customers offered."
)
@click.option(
    "--per-customer", type=click.IntRange(min=1), default=3, show_default=True, help="Offers: its first N products."
)
@click.option(
    "--base-rate",
    type=click.FloatRange(0, 0.5),
    default=0.10,
    show_default=True,
    help="Acceptance of a product drawn at random; a customer's best product is accepted twice as often.",
)
@click.option(
    "--days", type=click.IntRange(min=1), default=30, show_default=True, help="Offers made over so many days."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@runs_option
@json_option
def offers(
    run: str | None,
    truth: str,
    output: Path,
    share: float,
    per_customer: int,
    base_rate: float,
    days: int,
    seed: int,
    runs_dir: str | None,
    as_json: bool,
) -> None:
    """Draw offers of a run's recommendations and their outcomes into an outcomes file.

    A --share of the customers is offered the first --per-customer products the run wrote
    back for them, on days of the last --days. Each is accepted with a probability tied to
    the product's place in the customer's true ranking (--base-rate on average for a product
    drawn at random, twice that for its best); otherwise declined (60%) or left unanswered.
    Load the file with `wbgraph outcomes ingest`.

    \b
    Example:
        wbgraph simulate offers --truth truth.json --output offers.csv --share 0.5 --seed 1
    """
    from ..outcomes.simulate import offers as library

    drawn = library(
        run,
        truth,
        output,
        runs_dir=runs_dir,
        share=share,
        per_customer=per_customer,
        base_rate=base_rate,
        days=days,
        seed=seed,
    )
    if as_json:
        echo_json(drawn)
        return
    echo_fields(
        {
            "Run": drawn.run_id,
            "Offers": f"{drawn.offers:,} to {drawn.customers:,} customers -> {drawn.output}",
            "Outcomes": f"{drawn.accepted:,} accepted, {drawn.declined:,} declined, {drawn.no_response:,} no response "
            f"(expected acceptance {drawn.expected_rate:.1%})",
            "Not in the truth file": f"{drawn.not_in_truth:,} customers (never offered)",
        }
    )
