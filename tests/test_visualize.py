"""``wbgraph visualize``: a customer's, product's or segment's neighbourhood as an HTML page,
rendered here in a real headless Chromium."""

import json
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from wbgraph.db import open_driver
from wbgraph.serve.visualize import COLOURS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(page, png):
    """Render ``page`` in headless Chromium and save what it shows."""
    assert CHROMIUM, "Chromium is needed for this test: `bash scripts/setup-browser` installs Debian's package"
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1200,900",
            "--virtual-time-budget=10000",
            f"--screenshot={png}",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and png.exists(), done.stderr[-2000:]
    return imread(png)[..., :3]


def pixels_of(image, colour: str, tolerance: float = 0.06) -> int:
    rgb = np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return int((np.abs(image - rgb).max(-1) < tolerance).sum())


def first_customer(folder) -> str:
    return sorted(pd.read_csv(folder / "transactions.csv")["Customer ID"].unique())[0]


def test_customer_view_draws_its_products_recommendations_and_segment(cli, backend, demo_graph, tmp_path):
    page, customer = tmp_path / "cus.html", first_customer(demo_graph)
    result = cli("visualize", customer, "--output", str(page), "--json")
    assert result.exit_code == 0, result.output
    drawn = json.loads(result.output)
    with open_driver(backend.settings) as driver:
        counts = driver.execute_query(
            "MATCH (c:Customer {customerId: $id}) "
            "RETURN COUNT { (c)-[:USES]->() } AS held, COUNT { (c)-[:RECOMMENDED]->() } AS recommended",
            id=customer,
        ).records[0]
    assert drawn["highlighted"] == counts["recommended"] > 0
    assert drawn["nodes"] >= 1 + counts["held"] + counts["recommended"] + 1  # + the segment (+ similar customers)
    text = page.read_text()
    assert f"wbgraph · Customer {customer}" in text and "RECOMMENDED #1" in text
    assert re.search(r"RECOMMENDED #1 -?[0-9.]+ \\u00b7 [0-9]+%", text)  # rank, score and chance (JSON-escaped)
    assert "https://" not in text.split("neo4j-viz-data")[0][:2000] and "<script src=" not in text  # self-contained

    image = screenshot(page, tmp_path / "cus.png")
    assert pixels_of(image, COLOURS["recommended"]) > 500, "no recommendation drawn"
    assert pixels_of(image, COLOURS["focus"]) > 200, "the customer is not drawn"
    assert pixels_of(image, COLOURS["held"]) > 200, "its products are not drawn"


def test_product_and_segment_views(cli, demo_graph, tmp_path):
    for args, title in ((("--product", "PROD-001"), "Product PROD-001"), (("--segment", "1"), "Segment 1")):
        page = tmp_path / "view.html"
        result = cli("visualize", *args, "--output", str(page), "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["nodes"] > 5 and title in page.read_text()
        image = screenshot(page, tmp_path / "view.png")
        assert pixels_of(image, COLOURS["focus"]) > 200


@pytest.mark.parametrize("args", [("NO-SUCH-CUSTOMER",), ("--product", "NO-SUCH"), ("--segment", "999")])
def test_unknown_ids_are_a_one_line_error(cli, demo_graph, tmp_path, args):
    result = cli("visualize", *args, "--output", str(tmp_path / "x.html"))
    assert (
        result.exit_code == 8 and result.output.startswith("Error: ") and len(result.output.strip().splitlines()) == 1
    )
    assert not (tmp_path / "x.html").exists()


def test_exactly_one_thing_to_draw(cli, tmp_path):
    result = cli("visualize", "CUS-0001", "--product", "PROD-001", "--output", str(tmp_path / "x.html"))
    assert result.exit_code == 2 and "exactly one" in result.output


# Neo4j Browser itself, served by the local server, driven in headless Chromium


def browser_login(page, server):
    """Log in to the Neo4j Browser the server serves, as an analyst would."""
    page.goto(f"http://127.0.0.1:{server.config().http_port}/browser/")
    page.wait_for("document.querySelector('[data-testid=connect]')", what="the login form")
    for field, text in (
        ("boltaddress", f"127.0.0.1:{server.config().bolt_port}"),
        ("username", "neo4j"),
        ("password", server.read_password()),
    ):
        page.evaluate(f"(e => {{ e.focus(); e.select(); }})(document.querySelector('[data-testid={field}]'))")
        page.type(text)
    page.evaluate("document.querySelector('[data-testid=connect]').click()")
    page.wait_for("document.body.innerText.includes('You are connected as user neo4j')", what="the connection")


def browser_run(page, command):
    """Type one command into Browser's editor (one line) and run it."""
    page.evaluate("document.querySelector('.monaco-editor textarea').focus()")
    page.type(" ".join(line.strip() for line in command.splitlines() if not line.strip().startswith("//")))
    page.press("Enter", "Enter", 13)


def svg_texts(page) -> list:
    return page.evaluate("Array.from(document.querySelectorAll('svg text')).map(t => t.textContent.trim())")


def test_neo4j_browser_shows_the_headline_queries_styled_as_shipped(backend, demo_graph, tmp_path):
    import os

    from chromium import Chromium

    from wbgraph import cypher

    if backend.server is None:
        pytest.skip("Neo4j Browser is checked on the local server wbgraph manages (this session uses another)")
    customer = first_customer(demo_graph)
    with open_driver(backend.settings) as driver:
        expected = driver.execute_query(
            "MATCH (c:Customer {customerId: $id})-[r:RECOMMENDED]->(p:Product) "
            "RETURN p.productId AS product, p.productType AS type, r.rank AS rank ORDER BY rank",
            id=customer,
        ).records
    assert expected
    grass = cypher.browser_style()
    with Chromium() as page:
        browser_login(page, backend.server)
        browser_run(page, ":style " + grass)
        page.wait_for("document.body.innerText.includes('node.Customer')", what="the style frame")
        browser_run(page, f":param customerId => '{customer}'")
        page.wait_for(f'document.body.innerText.includes(\'"customerId": "{customer}"\')', what="the parameter")

        browser_run(page, cypher.analyst_queries()["recommendations_for_customer"])  # the table
        best = expected[0]["product"]
        page.wait_for(f"document.body.innerText.includes('\"{best}\"')", what="the table of recommendations")

        browser_run(page, cypher.analyst_queries()["recommendations_graph"])  # the graph view, styled
        page.wait_for(
            f"Array.from(document.querySelectorAll('svg text')).some(t => t.textContent.includes('{customer}'))",
            what="the graph view",
        )
        shown = svg_texts(page)
        png = page.screenshot(tmp_path / "browser.png")
    segment = next(t for t in shown if t.startswith(customer))
    assert segment.startswith(f"{customer} · ") and segment.split(" · ")[1].isdigit()  # id and segment
    assert {f"#{r['rank']}" for r in expected} <= set(shown)  # each recommendation captioned by its rank
    assert f"{best} ·" in shown  # products by id and type (the type wraps onto the next lines)
    assert any(t.startswith("Segment ") for t in shown)  # the segment by its name
    image = imread(png)[..., :3]
    assert pixels_of(image, "#F28C28") > 300 and pixels_of(image, "#1F3A93") > 300  # the style's colours
    if os.environ.get("WBGRAPH_SCREENSHOTS"):  # refresh the README's picture
        shutil.copy(png, os.environ["WBGRAPH_SCREENSHOTS"])
