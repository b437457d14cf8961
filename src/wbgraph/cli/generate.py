"""``wbgraph generate``: synthetic transactions with planted structure."""

import click

from ..errors import require_folder_of
from ..loaders import generate as library
from .common import echo_json, json_option


@click.command()
@click.option("--rows", type=click.IntRange(min=1), default=10_000, show_default=True, help="Transactions to generate.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed: the same seed gives the same file.")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, writable=True), required=True, help="CSV file to write."
)
@click.option("--customers", type=click.IntRange(min=1), help="Number of customers (default: rows/20, 20 to 50,000).")
@click.option("--products", type=click.IntRange(min=1), default=60, show_default=True, help="Number of products.")
@click.option(
    "--truth",
    type=click.Path(dir_okay=False, writable=True),
    help="Also write each customer's products ranked by true affinity (JSON).",
)
@click.option(
    "--groups",
    type=click.Path(dir_okay=False, writable=True),
    help="Put about a fifth of the customers in corporate groups and write their hierarchy file (CSV) here.",
)
@json_option
def generate(
    rows: int,
    seed: int,
    output: str,
    customers: int | None,
    products: int,
    truth: str | None,
    groups: str | None,
    as_json: bool,
) -> None:
    """Generate synthetic transactions with planted structure, in the default input format.

    With --groups, some customers belong to corporate groups (holding companies that are not
    clients among their owners): members like the same products, adopt their parent's
    products after it, and share a credit-score shock; load the file with `wbgraph ingest
    --hierarchy`.

    \b
    Example:
        wbgraph generate --rows 100000 --seed 7 --output data.csv --truth truth.json
        wbgraph generate --rows 50000 --output data.csv --groups groups.csv
    """
    require_folder_of(output, "the data")  # before the work, not after it
    for path, what in ((truth, "the truth"), (groups, "the hierarchy")):
        if path:
            require_folder_of(path, what)
    data = library.generate(
        rows, seed=seed, customers=customers, products=products, truth=bool(truth), groups=bool(groups)
    )
    library.write(data, output, truth, groups)
    facts = {
        "output": output,
        "rows": len(data.rows),
        "customers": int(data.rows["Customer ID"].nunique()),
        "products": int(data.rows["Product ID"].nunique()),
        "truth": truth,
        "groups": groups,
        "hierarchyRows": None if data.hierarchy is None else len(data.hierarchy),
    }
    if as_json:
        echo_json(facts)
        return
    click.echo(
        f"Wrote {facts['rows']:,} rows ({facts['customers']:,} customers, {facts['products']:,} products) to {output}"
    )
