"""``wbgraph visualize``: an interactive HTML picture of a customer, a product or a segment."""

import click

from ..serve import visualize as library
from .common import echo_json, json_option, pass_obj


@click.command()
@click.argument("customer_id", required=False)
@click.option(
    "--product", "product_id", help="Draw this product instead: its users and the customers it is recommended to."
)
@click.option(
    "--segment", "segment_id", type=int, help="Draw this segment instead: members and their top recommendations."
)
@click.option(
    "--group",
    "group_of",
    metavar="CUSTOMER_ID",
    help="Draw this customer's corporate group instead: the ownership tree, products and white space.",
)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, writable=True), required=True, help="HTML file to write."
)
@json_option
@pass_obj
def visualize(
    obj,
    customer_id: str | None,
    product_id: str | None,
    segment_id: int | None,
    group_of: str | None,
    output: str,
    as_json: bool,
) -> None:
    """Draw a customer's neighbourhood (or a product's, or a segment) as an interactive HTML page.

    The customer view shows the products it uses, its recommendations in orange with rank,
    score and chance, its segment and the segment's customers who share most products with it.
    The group view draws a customer's corporate group: who owns whom (with the share), what
    each entity uses, the customer's recommendations and, in gold, its white space: products
    used in its group but not by it. One self-contained file: open it in any browser, no
    server needed. An unknown ID is an error (exit 8).

    \b
    Example:
        wbgraph visualize CUS-0001 --output cus-0001.html
        wbgraph visualize --product PROD-007 --output prod-007.html
        wbgraph visualize --segment 2 --output segment-2.html
        wbgraph visualize --group CUS-0001 --output group.html
    """
    if sum(x is not None for x in (customer_id, product_id, segment_id, group_of)) != 1:
        raise click.UsageError("Give exactly one of CUSTOMER_ID, --product, --segment or --group.")
    with obj.connect() as (driver, settings):
        picture = library.visualize(
            driver,
            settings,
            output,
            customer_id=customer_id,
            product_id=product_id,
            segment_id=segment_id,
            group_of=group_of,
        )
    recommended = sum(1 for n in picture.nodes.values() if n["colour"] == library.COLOURS["recommended"])
    if as_json:
        echo_json(
            {
                "output": output,
                "title": picture.title,
                "nodes": len(picture.nodes),
                "relationships": len(picture.relationships),
                "highlighted": recommended,
            }
        )
        return
    click.echo(
        f"{picture.title}: {len(picture.nodes)} nodes, {len(picture.relationships)} relationships "
        f"({recommended} highlighted) -> {output}"
    )
