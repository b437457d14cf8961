"""``wbgraph evaluate``: the trained model against the baselines on held-out adoptions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from ..gnn.evaluate import Evaluation

from .common import echo_json, json_option, pass_obj, run_option, runs_option


@click.command()
@run_option
@click.option(
    "--truth", type=click.Path(exists=True, dir_okay=False), help="The generator's truth file: adds the oracle ceiling."
)
@runs_option
@json_option
@pass_obj
def evaluate(obj, run: str | None, truth: str | None, runs_dir: str, as_json: bool) -> None:
    """Compare the trained model with baselines on held-out adoptions.

    Baselines: global popularity, popularity within the customer's (type, industry)
    segment, item co-occurrence kNN and BPR matrix factorisation, all on the same split.

    \b
    Example:
        wbgraph evaluate --truth truth.json
    """
    from ..gnn.evaluate import evaluate as library

    with obj.connect() as (driver, settings):
        result = library(driver, settings, run=run, truth=truth, runs_dir=runs_dir)
    if as_json:
        echo_json(result)
        return
    echo_evaluation(result, bool(truth))


def echo_evaluation(result: Evaluation, with_truth: bool) -> None:
    """The evaluation table: one row per method, one column per metric."""
    columns = ["recall@5", "recall@10", "ndcg@10", "precision@10", "map@10", "hit@10", "recall@20", "coverage@10"]
    headings = dict(zip(columns, columns))
    if with_truth:
        headings |= {"shareOfOracleRecall@10": "of oracle", "shareOfHistoryOracleRecall@10": "of history"}
        columns += ["shareOfOracleRecall@10", "shareOfHistoryOracleRecall@10"]
    width = max(len(n) for n in result.metrics)
    click.echo(
        f"Run {result.run_id}: {next(iter(result.metrics.values()))['customers']:,} customers with a held-out adoption"
    )
    click.echo(" " * width + "  " + "  ".join(f"{headings[c]:>12}" for c in columns))
    for name, m in result.metrics.items():
        cells = [f"{m[c]:12.3f}" if isinstance(m.get(c), float) else f"{'':>12}" for c in columns]
        click.echo(f"{name:<{width}}  " + "  ".join(cells))
    click.echo(result.verdict)
