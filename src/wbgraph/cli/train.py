"""``wbgraph train``: fit the graph-attention recommender and save a run."""

import typing

import click

from ..config import BEHAVIOUR, GatTask, Loss, Protocol, TrainConfig, train_config_file
from .common import bars, echo_json, json_option, pass_obj, runs_option, silent_option

DEFAULTS = TrainConfig()


@click.command()
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False),
    help="TOML or JSON file of settings (see README).",
)
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    help=f"Most epochs (early stopping may end sooner; default {DEFAULTS.epochs}).",
)
@click.option("--hidden", type=click.IntRange(min=2), help=f"Representation width (default {DEFAULTS.hidden}).")
@click.option("--heads", type=click.IntRange(min=1), help=f"Attention heads (default {DEFAULTS.heads}).")
@click.option("--layers", type=click.IntRange(min=1), help=f"Message-passing layers (default {DEFAULTS.layers}).")
@click.option("--lr", type=float, help=f"Learning rate (default {DEFAULTS.lr}).")
@click.option("--loss", type=click.Choice(typing.get_args(Loss)), help=f"Training loss (default {DEFAULTS.loss}).")
@click.option(
    "--protocol",
    type=click.Choice(typing.get_args(Protocol)),
    help="latest: hold out each customer's latest interactions; asof: ask, at --cutoff, which products each "
    "customer newly takes within --horizon (default: asof with --cutoff, else latest).",
)
@click.option(
    "--cutoff",
    help="The as-of protocol's date (ISO 8601): test on what is newly taken in the horizon after it, from "
    "what was known before it (default with --protocol asof: one horizon before the day after the latest "
    "transaction).",
)
@click.option(
    "--horizon",
    help=f"How far ahead the as-of question looks: 30d, 2w, 1m, 1q or 1y (default {DEFAULTS.horizon}).",
)
@click.option(
    "--holdout-share",
    type=click.FloatRange(0, 1, max_open=True),
    help=f"The latest protocol's: each customer's latest share of interactions held out for testing, and of "
    f"the rest for validation; at least one each (default {DEFAULTS.holdout_share}).",
)
@click.option(
    "--ignore",
    callback=lambda ctx, param, value: [n.strip() for n in value.split(",") if n.strip()] if value else None,
    metavar="ATTRIBUTE[,ATTRIBUTE...]",
    help="Attributes left out of the model and of every attribute-using baseline, e.g. relationshipManager.",
)
@click.option(
    "--behaviour",
    callback=lambda ctx, param, value: [n.strip() for n in value.split(",") if n.strip()] if value else None,
    metavar="GROUP[,GROUP...]",
    help=f"Customer behaviour features added to the model (as-of only): {', '.join(BEHAVIOUR)}; a feature "
    "the last training window cannot know yet is left out with a note (default: none; see docs/benchmarks.md).",
)
@click.option(
    "--gat-task",
    type=click.Choice(typing.get_args(GatTask)),
    help="What the GAT part learns: mask (a random share of the links hidden and predicted), temporal (the "
    "earlier question's answers: what was newly taken in the last training window), both, or auto (mask to "
    "its early stop, then temporal from its best weights, the better epoch on validation kept; mask alone "
    "where the GAT part alone is below 3/4 of the item channel alone, the best mix; default "
    f"{DEFAULTS.gat_task}).",
)
@click.option(
    "--windows",
    type=click.IntRange(1),
    help="How many of the latest earlier questions (as-of: training windows) the temporal task learns from, "
    f"one an epoch in turn; the refit as many, one window later (default {DEFAULTS.windows}).",
)
@click.option(
    "--channel/--no-channel",
    default=None,
    help="Add the item channel (EASE's item-item weights read through attention) to the GAT (default: on).",
)
@click.option(
    "--evidence/--no-evidence",
    default=None,
    help="Interaction edges also carry signed evidence: what an interaction's attributes say beyond what "
    "the customer and product predict (default: on; --no-evidence: plain GATv2).",
)
@click.option(
    "--refit/--no-refit",
    default=None,
    help="After early stopping, train the chosen number of epochs again on the training and validation "
    "interactions, and save that model (default: on; --no-refit: the chosen weights as they were).",
)
@click.option(
    "--hard-negatives/--no-hard-negatives",
    default=None,
    help="Teach the GAT part the offers customers declined (wbgraph outcomes ingest) as products not to "
    "propose, each known from its decision date (default: off).",
)
@click.option(
    "--tune",
    is_flag=True,
    help="Choose hidden (32/64/128), lr (0.003/0.01) and weight decay (0/1e-4) on validation: 12 trainings on "
    "one export, raced with the settings as given (the better half goes on after the patience's epochs, "
    "then after twice as many, ...; each with its own early stopping, judged only once on its last task: "
    "under auto, the earlier questions); the winner is refitted and saved (metrics.json: tuning).",
)
@click.option("--seed", type=int, help=f"Random seed (default {DEFAULTS.seed}).")
@click.option("--device", help=f"cpu, cuda, cuda:N or auto (default {DEFAULTS.device}).")
@click.option(
    "--memory-budget",
    help="Memory training may use, e.g. 6GB: a graph that needs more trains in batches of customers "
    "(default: half the memory free where it trains: the GPU's on CUDA, else the machine's).",
)
@click.option(
    "--batch-customers",
    type=click.IntRange(0),
    help="Customers per optimiser step, so an epoch is several steps even when the whole graph fits the memory "
    "budget (default 0: all at once when it fits; the budget may make batches smaller still).",
)
@click.option("--since", help="Only transactions on or after this date (ISO 8601).")
@click.option("--until", help="Only transactions before this date (ISO 8601).")
@click.option("--customer-type", help="Only customers of this type, e.g. Corporate.")
@click.option("--location", help="Only customers in this location, e.g. London.")
@runs_option
@silent_option
@json_option
@pass_obj
def train(
    obj, config_file: str | None, runs_dir: str, silent: bool, as_json: bool, tune: bool, **options: object
) -> None:
    """Train the graph-attention recommender on the graph in Neo4j and save a run.

    The latest protocol holds out each customer's latest interactions (--holdout-share, at
    least one) for testing and the latest of the rest for validation. The as-of protocol
    (--cutoff, --horizon) asks what a bank asks: which products each customer newly takes
    in the horizon after the cutoff, learning only from what was known before it, choosing
    on the same question one horizon earlier, and refitting with the validation window.
    Training stops early on validation NDCG@10 and saves runs/<run-id>/ (weights, encoders,
    config, metrics, curve.png), marking it latest.

    \b
    Example:
        wbgraph train --epochs 100 --seed 1
        wbgraph train --cutoff 2016-03-01 --horizon 1m
        wbgraph train --cutoff 2016-03-01 --tune
    """
    from ..gnn.train import train as library  # torch loads only for the commands that need it

    config = TrainConfig.load(train_config_file(config_file), **options)  # --config, else wbgraph.toml's [train]
    with obj.connect() as (driver, settings):
        result = library(driver, settings, config, runs_dir=runs_dir, progress=bars(silent or as_json), tuning=tune)
    if as_json:
        echo_json(result)
        return
    click.echo(
        f"Run {result.run_id} saved in {result.run_dir} "
        f"({result.epochs} epochs, best {result.best_epoch}"
        + (f", refit {result.refit_epochs} on training + validation" if result.refit_epochs else "")
        + f", {result.device})"
    )
    phases = result.chosen.get("gatPhases", {})
    if phases.get("temporal"):
        click.echo(
            f"GAT part: the hidden links for {phases['mask']} epochs, then the earlier questions for "
            f"{phases['temporal']} (better on validation than the hidden links alone)"
        )
    if result.tuning:
        c = result.chosen
        click.echo(
            f"Chosen on validation of {len(result.tuning)} raced: GAT task {c['gatTask']}, hidden {c['hidden']}, "
            f"lr {c['lr']}, weight decay {c['weightDecay']}"
        )
    if result.protocol.get("name") == "asof":
        p = result.protocol
        click.echo(
            f"As of {p['cutoff']}, horizon {p['horizon']}: validation {p['validation'][0]} to {p['validation'][1]}, "
            f"test {p['test'][0]} to {p['test'][1]}, {p['trainingWindows']} training window(s)"
        )
    click.echo(figures_line(result.val, result.test))
    click.echo(
        f"Export {result.seconds['export']:.1f}s, training {result.seconds['train']:.1f}s "
        f"({result.seconds['perEpoch']:.2f}s/epoch)"
    )
    if not result.batches.get("fullBatch", True):
        click.echo(f"Trained in batches of {result.batches['customersPerStep']:,} customers (memory budget)")
    for note in result.notes:
        click.echo(f"Note: {note}")
    for warning in result.warnings:
        click.echo(f"Warning: {warning}")


def figures_line(val: dict, test: dict) -> str:
    """The headline figures of a training; without test customers (trained as of the latest data) a
    sentence instead of test figures of 0, as ``wbgraph evaluate`` says it."""
    from ..gnn.evaluate import NO_TEST

    line = f"Validation NDCG@10 {val['ndcg@10']:.3f}   "
    if "ndcg@10" not in test:
        return line + NO_TEST
    return line + f"test NDCG@10 {test['ndcg@10']:.3f}   test recall@10 {test['recall@10']:.3f}"
