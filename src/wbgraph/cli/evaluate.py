"""``wbgraph evaluate``: the trained model against the baselines on held-out interactions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from ..gnn.evaluate import Evaluation

from ..gnn.baselines import BASELINES, REGISTRY
from .common import comma_list, echo_json, json_option, k_option, pass_obj, runs_option


@click.command()
@click.option("--run", help="Run ID or folder. Default: the latest run trained.")
@click.option(
    "--truth", type=click.Path(exists=True, dir_okay=False), help="The generator's truth file: adds the oracle ceiling."
)
@click.option(
    "--require-beat",
    callback=comma_list,
    metavar="NAME[,NAME...]",
    help="Fail (exit 10) unless the model beats these baselines, e.g. 'EASE,item kNN'.",
)
@click.option("--metric", default="recall@10", show_default=True, help="The metric the gate compares.")
@click.option(
    "--baselines",
    callback=comma_list,
    metavar="NAME[,NAME...]",
    help=f"Only these baselines, e.g. 'popularity,item kNN,EASE' (default: all {len(BASELINES)}: "
    f"{', '.join(BASELINES)}; LightGCN, the boosted tree and matrix factorisation take the longest).",
)
@click.option(
    "--margin",
    type=float,
    default=0.0,
    show_default=True,
    help="Relative margin of the gate: 0.02 means the model must beat 1.02 x each baseline, with evidence.",
)
@click.option(
    "--outcomes",
    is_flag=True,
    help="Also the acceptance rates of the offers made (wbgraph outcomes ingest), by run, rank, segment, product, RM.",
)
@k_option
@runs_option
@json_option
@pass_obj
def evaluate(
    obj,
    run: str | None,
    truth: str | None,
    require_beat: list[str],
    metric: str,
    baselines: list[str],
    margin: float,
    outcomes: bool,
    k: int,
    runs_dir: str,
    as_json: bool,
) -> None:
    """Compare the trained model with baselines on the held-out question of the run's protocol.

    Baselines (each chooses its settings on the validation question, then is fitted again
    with it, as the model was). {baselines}. The protocol, cutoff and horizon are the run's.
    Each comparison is with the baseline best on validation and carries a paired bootstrap
    95% interval over customers. With --require-beat the command is a gate: it exits 10,
    saying by how much the model lost, unless on --metric the interval of model - (1 +
    margin) x each named baseline lies above zero; the verdict is kept in the run for
    writeback --require-evaluated.

    \b
    Example:
        wbgraph evaluate --truth truth.json
        wbgraph evaluate --require-beat popularity,EASE --metric ndcg@10 --margin 0.02
        wbgraph evaluate --k 7 --require-beat 'boosted tree' --metric map@7
        wbgraph evaluate --baselines 'popularity,item kNN,EASE'
        wbgraph evaluate --outcomes --json | jq .outcomes.run
    """
    from ..errors import GateFailed
    from ..gnn.evaluate import evaluate as library
    from ..gnn.evaluate import gate_message

    with obj.connect() as (driver, settings):
        result = library(
            driver,
            settings,
            run=run,
            truth=truth,
            runs_dir=runs_dir,
            require_beat=require_beat,
            metric=metric,
            margin=margin,
            baselines=baselines or None,
            k=k,
            outcomes=outcomes,
        )
    if as_json:
        echo_json(result)
    else:
        echo_evaluation(result, bool(truth))
        if outcomes:
            echo_acceptance(result.outcomes)
    if result.gate and not result.gate["passed"]:
        raise GateFailed(gate_message(result))


evaluate.help = evaluate.help.replace("{baselines}", "; ".join(f"{m.name}: {m.summary}" for m in REGISTRY))


def echo_acceptance(rates: dict | None) -> None:
    """Acceptance of the offers made: overall, then by run and by rank."""
    if not rates:
        click.echo("No offers in the graph: load what became of them with `wbgraph outcomes ingest`.")
        return
    for name in ("overall", "run", "rank"):
        rows = [rates[name]] if name == "overall" else rates.get(name, [])
        for r in rows:
            click.echo(
                f"acceptance {name:<8} {str(r['value']):<22} {r['rate']:6.1%} [{r['low']:.1%}, {r['high']:.1%}] "
                f"of {r['offers']:,} offers"
            )


def echo_evaluation(result: Evaluation, with_truth: bool) -> None:
    """The evaluation table: one row per method, one column per metric; then the comparison."""
    columns = ["recall@5", "recall@10", "ndcg@10", "precision@10", "map@10", "hit@10", "recall@20", "coverage@10"]
    k = result.k
    if k != 10:
        columns = [f"map@{k}", f"recall@{k}", f"ndcg@{k}", "ndcg@10", "recall@10", "hit@10", "coverage@10"]
    headings = dict(zip(columns, columns))
    if with_truth:
        headings |= {"shareOfOracleRecall@10": "of oracle", "shareOfHistoryOracleRecall@10": "of history"}
        columns += ["shareOfOracleRecall@10", "shareOfHistoryOracleRecall@10"]
    width = max(len(n) for n in result.metrics)
    customers = next(iter(result.metrics.values()))["customers"]
    p = result.protocol
    if p.get("name") == "asof":
        click.echo(
            f"Run {result.run_id}: {customers:,} customers known before {p['cutoff']} took a product new to them "
            f"by {p['test'][1]} ({p['leftOut']['testCustomers']:,} more were first seen after the cutoff: left out)"
        )
    else:
        click.echo(f"Run {result.run_id}: {customers:,} customers with held-out interactions")
    click.echo(" " * width + "  " + "  ".join(f"{headings[c]:>12}" for c in columns))
    for name, m in result.metrics.items():
        cells = [f"{m[c]:12.3f}" if isinstance(m.get(c), float) else f"{'':>12}" for c in columns]
        click.echo(f"{name:<{width}}  " + "  ".join(cells))
    for metric, c in result.comparison.items():
        ratio = f" ({c['ratio']:.2f} x)" if c.get("ratio") else ""
        click.echo(
            f"GAT - {c['baseline']} on {metric}: {c['difference']:+.4f}{ratio}, "
            f"95% bootstrap interval [{c['low']:+.4f}, {c['high']:+.4f}]"
        )
    if result.chosen:
        click.echo(
            "Chosen on validation: "
            + "; ".join(f"{n}: " + ", ".join(f"{k} {v}" for k, v in c.items()) for n, c in result.chosen.items())
        )
    if result.validation:
        headline = next(iter(result.comparison), "ndcg@10")
        click.echo(
            f"Validation {headline}: "
            + ", ".join(f"{n} {v.get(headline, 0.0):.3f}" for n, v in result.validation.items())
        )
    click.echo(result.verdict)
    if result.calibration:
        echo_calibration(result.calibration)
    if result.gate:
        g = result.gate
        state = "passed" if g["passed"] else "FAILED"
        click.echo(
            f"Gate {state}: {g['metric']} against {', '.join(g['required'])} with a margin of {g['margin']:.0%}."
        )


def echo_calibration(c: dict) -> None:
    """One line: how the probabilities of the top k pairs match what the customers took."""
    if not c.get("pairs"):
        return
    skill = "n/a" if c["brierSkill"] is None else f"{c['brierSkill']:+.3f}"
    click.echo(
        f"Probabilities ({c['method']} of the {c['input']}, fitted on validation), top {c['k']} of each customer, "
        f"{c['pairs']:,} pairs: expected calibration error {c['ece']:.3f} (10 equal-mass bins), "
        f"Brier skill {skill} against the base rate {c['baseRate']:.3f}."
    )
