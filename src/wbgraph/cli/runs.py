"""``wbgraph runs``: list, show, promote and delete the run folders."""

import click

from .common import confirm, echo_fields, echo_json, json_option, runs_option


@click.group()
def runs() -> None:
    """List, inspect, promote and delete trained runs.

    Runs live in the runs location (--runs-dir, else WBGRAPH_RUNS, else [runs] dir in
    ./wbgraph.toml, else ./runs). Writeback, recommend and report use the promoted run,
    or, when none is promoted, the latest run that did not fail its evaluation gate.

    \b
    Example:
        wbgraph runs list
        wbgraph runs promote 20261126-020409-s0
    """


def _cell(value: object, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, float) else ("-" if value is None else str(value))


@runs.command(name="list")
@runs_option
@json_option
def list_(runs_dir: str | None, as_json: bool) -> None:
    """List the runs, oldest first: when, data fingerprint, figures and gate verdict.

    recall@10 and NDCG@10 are on the held-out test part: from `wbgraph evaluate` when it
    ran, else from training. Marks: * serving (what writeback and recommend use),
    P promoted, L latest.

    \b
    Example:
        wbgraph runs list --json | jq '.[] | select(.gate == "passed") | .runId'
    """
    from ..config import runs_location
    from ..runs import list_runs

    listed = list_runs(runs_dir)
    if as_json:
        echo_json(listed)
        return
    if not listed:
        click.echo(f"No runs in {runs_location(runs_dir)}.")
        return
    width = max(len(r["runId"]) for r in listed)
    click.echo(f"   {'run':<{width}}  {'trained at':<19}  {'fingerprint':<16}  recall@10  ndcg@10  gate")
    for r in listed:
        marks = ("*" if r["serving"] else " ") + ("P" if r["promoted"] else "L" if r["latest"] else " ")
        when = (r["trainedAt"] or "-")[:19].replace("T", " ")
        click.echo(
            f"{marks} {r['runId']:<{width}}  {when:<19}  {r['fingerprint'] or '-':<16}  "
            f"{_cell(r['recall@10']):>9}  {_cell(r['ndcg@10']):>7}  {r['gate']}"
        )


@runs.command()
@click.argument("run_id", metavar="ID")
@click.option(
    "--recommendations",
    "with_recommendations",
    is_flag=True,
    help="Print what its writebacks wrote (CSV): to whom, what, when and why.",
)
@click.option("--customer", "customers", multiple=True, help="With --recommendations: only this customer (repeatable).")
@runs_option
@json_option
def show(
    run_id: str, with_recommendations: bool, customers: tuple[str, ...], runs_dir: str | None, as_json: bool
) -> None:
    """Show one run: what it learned from, with what, its figures and what it wrote back.

    With --recommendations: every recommendation its writebacks wrote, from the audit
    files in its folder (customer, product, rank, score, reasons, segment, source, when).

    \b
    Example:
        wbgraph runs show 20261126-020409-s0
        wbgraph runs show 20261126-020409-s0 --recommendations --customer CUS-0001
    """
    from ..runs import Run
    from ..runs import show as library

    if with_recommendations:
        written = Run.open(run_id, runs_dir).audit(list(customers) or None)
        if as_json:
            echo_json(written.assign(reasons=written["reasons"].map(list)).to_dict("records"))
        else:
            out = written.assign(reasons=written["reasons"].map(lambda r: " | ".join(r)))
            click.echo(out.to_csv(index=False, lineterminator="\n"), nl=False)
        return
    shown = library(run_id, runs_dir)
    if as_json:
        echo_json(shown)
        return
    record, training = shown["record"], shown["training"]
    versions = record.get("versions") or {}
    writeback = shown["writeback"] or {}
    roles = [name for name in ("serving", "promoted", "latest") if shown[name]]
    echo_fields(
        {
            "run": shown["runId"] + (f" ({', '.join(roles)})" if roles else ""),
            "folder": shown["folder"],
            "trained at": shown["trainedAt"] or "-",
            "data window": ", ".join(f"{k} {v}" for k, v in (shown["window"] or {}).items()) or "-",
            "fingerprint": shown["fingerprint"] or "-",
            "graph": ", ".join(f"{k} {v:,}" for k, v in (record.get("graph") or {}).items() if isinstance(v, int))
            or "-",
            "learned from": ", ".join(f"{k} {v:,}" for k, v in (record.get("learnedFrom") or {}).items()) or "-",
            "versions": ", ".join(f"{k} {v}" for k, v in versions.items() if v) or "-",
            "git commit": record.get("gitCommit") or "-",
            "epochs": f"{training.get('epochs')} (best {training.get('bestEpoch')})",
            f"recall@10 ({shown['figuresFrom']})": _cell(shown["recall@10"]),
            f"ndcg@10 ({shown['figuresFrom']})": _cell(shown["ndcg@10"]),
            "gate": shown["gate"],
            "written back": f"{writeback['edges']:,} edges for {writeback['covered']:,} customers"
            if writeback.get("edges") is not None
            else "not yet",
            "audit files": ", ".join(shown["auditFiles"]) or "-",
        }
    )


@runs.command()
@click.argument("run_id", metavar="ID")
@click.option("--force", is_flag=True, help="Promote even a run that failed its evaluation gate.")
@runs_option
@json_option
def promote(run_id: str, force: bool, runs_dir: str | None, as_json: bool) -> None:
    """Make a run the one writeback, recommend and report use by default.

    A run that failed its evaluation gate is refused (exit 10) unless --force.

    \b
    Example:
        wbgraph runs promote 20261126-020409-s0 && wbgraph writeback
    """
    from ..runs import promote as library

    promoted = library(run_id, runs_dir, force=force)
    if as_json:
        echo_json({"promoted": promoted.id, "folder": str(promoted.folder)})
    else:
        click.echo(f"Promoted run {promoted.id}: writeback, recommend and report use it from now on.")


@runs.command()
@click.argument("run_id", metavar="ID")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@runs_option
@json_option
def delete(run_id: str, yes: bool, runs_dir: str | None, as_json: bool) -> None:
    """Delete a run folder (its model, evaluation and writeback record).

    The graph keeps the recommendations the run wrote. Deleting the promoted run ends
    the promotion; deleting the latest makes the newest remaining run the latest.

    \b
    Example:
        wbgraph runs delete 20261120-010101-s0 --yes
    """
    from ..runs import Run
    from ..runs import delete as library

    found = Run.open(run_id, runs_dir)
    confirm(f"Delete run {found.id} ({found.folder})?", yes, as_json)
    changed = library(run_id, runs_dir)
    if as_json:
        echo_json(changed)
        return
    click.echo(f"Deleted run {changed['deleted']} ({changed['folder']})")
    if changed["unpromoted"]:
        click.echo("It was the promoted run: no run is promoted now.")
    if "latest" in changed:
        click.echo(f"Latest run now: {changed['latest'] or 'none'}")


@runs.command()
@click.argument("first", metavar="A")
@click.argument("second", metavar="B")
@click.option("--k", type=click.IntRange(min=1), default=10, show_default=True, help="Compare each set's first K.")
@click.option("--most", type=click.IntRange(min=0), default=10, show_default=True, help="List the N most changed.")
@runs_option
@json_option
def compare(first: str, second: str, k: int, most: int, runs_dir: str | None, as_json: bool) -> None:
    """Compare two runs' recommendations: how much each customer's set changed from A to B.

    From what each run last wrote back for each customer (the audit files in its folder):
    overlap@K (the share of A's first K in B's first K) and the rank correlation of the
    products both rank, their means over the customers both wrote, the customers whose sets
    changed most, the change in each test figure both runs recorded (paired over the customers
    with a 95% interval when both asked the same test question), and each customer
    feature's drift between the two trainings (population stability index, from the profile
    each training keeps in features.json).

    \b
    Example:
        wbgraph runs compare 20261101-020409-s0 20261201-020511-s0
        wbgraph runs compare A B --json | jq .meanOverlap
    """
    from ..runs.compare import compare as library

    result = library(first, second, runs_dir, k=k, most=most)
    if as_json:
        echo_json(result)
        return
    correlation = result["rankCorrelation"]
    echo_fields(
        {
            "runs": " -> ".join(result["runs"]),
            "customers in both": f"{result['customers']:,} (only in A {result['onlyFirst']:,}, "
            f"only in B {result['onlySecond']:,})",
            f"mean overlap@{k}": _cell(result["meanOverlap"]),
            "rank correlation": _cell(correlation),
            **{
                name: f"{f['first']:.4f} -> {f['second']:.4f} ({f['change']:+.4f})"
                for name, f in result["figures"].items()
            },
        }
    )
    if result["changedMost"]:
        click.echo("Changed most:")
        for row in result["changedMost"]:
            click.echo(
                f"  {row['customerId']:<12} overlap {row['overlap']:.2f}  dropped {', '.join(row['dropped']) or '-'}"
                f"  added {', '.join(row['added']) or '-'}"
            )
    paired = result["paired"]
    if "reason" in paired:
        click.echo(f"Paired test figures: none ({paired['reason']}).")
    else:
        click.echo(f"Paired over the {paired['customers']:,} customers both were tested on (B - A, 95% interval):")
        for name, d in paired.items():
            if name != "customers":
                click.echo(f"  {name:<12} {d['difference']:+.4f} [{d['low']:+.4f}, {d['high']:+.4f}]")
    if result["drift"]:
        click.echo("Feature drift from A to B (population stability index; < 0.1 stable, > 0.25 significant):")
        for name, d in result["drift"].items():
            click.echo(f"  {name:<24} {d['psi']:.4f}  {d['reading']}")
