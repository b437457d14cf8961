"""``wbgraph train`` and ``wbgraph evaluate``: the graph-attention recommender."""

import click

from .common import echo_json, json_option, pass_obj, progress_bar, silent_option

runs_option = click.option("--runs-dir", default="runs", show_default=True, type=click.Path(file_okay=False),
                           help="Folder holding the run folders.")


@click.command()
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False), help="TOML or JSON file of settings (see README).")
@click.option("--epochs", type=click.IntRange(min=1), help="Most epochs (early stopping may end sooner; default 400).")
@click.option("--hidden", type=click.IntRange(min=2), help="Representation width (default 64).")
@click.option("--heads", type=click.IntRange(min=1), help="Attention heads (default 2).")
@click.option("--layers", type=click.IntRange(min=1), help="Message-passing layers (default 1).")
@click.option("--lr", type=float, help="Learning rate (default 0.01).")
@click.option("--seed", type=int, help="Random seed (default 0).")
@click.option("--device", help="cpu, cuda or auto (default auto).")
@click.option("--since", help="Only transactions on or after this date (ISO 8601).")
@click.option("--until", help="Only transactions before this date (ISO 8601).")
@click.option("--customer-type", help="Only customers of this type, e.g. Corporate.")
@click.option("--location", help="Only customers in this location, e.g. London.")
@runs_option
@silent_option
@json_option
@pass_obj
def train(obj, config_file, runs_dir, silent, as_json, **options):
    """Train the graph-attention recommender on the graph in Neo4j and save a run.

    Holds out each customer's latest adoption for testing and the one before for
    validation, stops early on validation NDCG@10, and saves runs/<run-id>/ (weights,
    encoders, config, metrics, curve.png), marking it latest.

    \b
    Example:
        wbgraph train --epochs 100 --seed 1
    """
    from ..gnn import train as training  # torch loads only for the commands that need it

    config = training.TrainConfig.load(config_file, **options)
    with obj.driver() as (driver, settings), progress_bar("Training", unit="epochs", silent=silent or as_json) as bar:
        def progress(epoch, total, loss, ndcg):
            if bar:
                bar(epoch, total)

        result = training.train(driver, settings, config, runs_dir=runs_dir, progress=progress)
    if as_json:
        echo_json(result.__dict__)
        return
    click.echo(f"Run {result.run_id} saved in {result.run_dir} ({result.epochs} epochs, best {result.best_epoch}, {result.device})")
    click.echo(f"Validation NDCG@10 {result.val['ndcg@10']:.3f}   test NDCG@10 {result.test['ndcg@10']:.3f}   "
               f"test recall@10 {result.test['recall@10']:.3f}")
    click.echo(f"Export {result.seconds['export']:.1f}s, training {result.seconds['train']:.1f}s "
               f"({result.seconds['perEpoch']:.2f}s/epoch)")


@click.command()
@click.option("--run", help="Run ID or folder (default: the latest run).")
@click.option("--truth", type=click.Path(exists=True, dir_okay=False), help="The generator's truth file: adds the oracle ceiling.")
@runs_option
@json_option
@pass_obj
def evaluate(obj, run, truth, runs_dir, as_json):
    """Compare the trained model with baselines on held-out adoptions.

    Baselines: global popularity, popularity within the customer's (type, industry)
    segment, item co-occurrence kNN and BPR matrix factorisation, all on the same split.

    \b
    Example:
        wbgraph evaluate --truth truth.json
    """
    from ..gnn import evaluate as evaluation

    with obj.driver() as (driver, settings):
        result = evaluation.evaluate(driver, settings, runs_dir=runs_dir, run=run, truth=truth)
    if as_json:
        echo_json({"run": result.run_id, "metrics": result.metrics, "verdict": result.verdict})
        return
    echo_evaluation(result, bool(truth))


def echo_evaluation(result, with_truth: bool) -> None:
    """The evaluation table: one row per method, one column per metric."""
    columns = ["recall@5", "recall@10", "ndcg@10", "precision@10", "map@10", "hit@10", "recall@20", "coverage@10"]
    headings = dict(zip(columns, columns))
    if with_truth:
        headings |= {"shareOfOracleRecall@10": "of oracle", "shareOfHistoryOracleRecall@10": "of history"}
        columns += ["shareOfOracleRecall@10", "shareOfHistoryOracleRecall@10"]
    width = max(len(n) for n in result.metrics)
    click.echo(f"Run {result.run_id}: {next(iter(result.metrics.values()))['customers']:,} customers with a held-out adoption")
    click.echo(" " * width + "  " + "  ".join(f"{headings[c]:>12}" for c in columns))
    for name, m in result.metrics.items():
        cells = [f"{m[c]:12.3f}" if isinstance(m.get(c), float) else f"{'':>12}" for c in columns]
        click.echo(f"{name:<{width}}  " + "  ".join(cells))
    click.echo(result.verdict)


def _segments(value: str):
    if value == "auto":
        return "auto"
    try:
        k = int(value)
    except ValueError:
        raise click.BadParameter("a number of segments (2 or more) or 'auto'") from None
    if k < 2:
        raise click.BadParameter("a number of segments (2 or more) or 'auto'")
    return k


@click.command()
@click.option("--run", help="Run ID or folder (default: the latest run).")
@click.option("--top-k", type=click.IntRange(min=1), default=10, show_default=True, help="Recommendations per customer.")
@click.option("--segments", default="auto", show_default=True, callback=lambda ctx, param, value: _segments(value),
              help="Customer segments: a number K, or 'auto' (the K in 3..10 with the best silhouette).")
@click.option("--rules", type=click.Path(exists=True, dir_okay=False), help="Eligibility rules file (TOML; default: the shipped rules).")
@click.option("--no-rules", is_flag=True, help="Apply no eligibility rules.")
@click.option("--batch-size", type=click.IntRange(min=1), default=500, show_default=True, help="Customers per write transaction.")
@click.option("--workers", type=click.IntRange(min=1, max=64), default=4, show_default=True, help="Write transactions run concurrently.")
@runs_option
@silent_option
@json_option
@pass_obj
def writeback(obj, run, top_k, segments, rules, no_rules, batch_size, workers, runs_dir, silent, as_json):
    """Write a run's top-K eligible recommendations, with reasons and segments, into Neo4j.

    Replaces each customer's previous recommendations in the same transaction, so a
    reader always sees a complete set; an interrupted writeback is finished by running
    it again. Candidates excluded by the eligibility rules are counted per rule.

    \b
    Example:
        wbgraph writeback --top-k 10 --segments auto --rules my-rules.toml
    """
    from ..eligibility import DEFAULT_RULES
    from ..gnn import writeback as library

    if rules and no_rules:
        raise click.UsageError("--rules and --no-rules cannot be combined.")
    chosen = None if no_rules else (rules or DEFAULT_RULES)
    with obj.driver() as (driver, settings), progress_bar("Writing back", unit="customers", silent=silent or as_json) as bar:
        summary = library.writeback(driver, settings, runs_dir=runs_dir, run=run, top_k=top_k, batch_size=batch_size,
                                    segments=segments, rules=chosen, workers=workers, progress=bar)
    if as_json:
        echo_json(summary.__dict__ | {"edgesPerSecond": round(summary.edges_per_second, 1),
                                      "writeEdgesPerSecond": round(summary.write_edges_per_second, 1)})
        return
    click.echo(f"Run {summary.run_id}: {summary.edges:,} RECOMMENDED edges for {summary.covered:,} of {summary.customers:,} customers "
               f"in {summary.seconds:.1f}s ({summary.edges_per_second:,.0f} edges/s; writing {summary.phaseSeconds['write']:.1f}s, "
               f"{summary.write_edges_per_second:,.0f} edges/s)")
    click.echo(f"Segments: {summary.segments} (silhouette {summary.silhouette:.3f})")
    if summary.excluded:
        click.echo("Excluded by eligibility rules (candidates not already held):")
        for name, n in summary.excluded.items():
            click.echo(f"  {name:<32} {n:>10,}")
    else:
        click.echo("No eligibility rules applied.")
