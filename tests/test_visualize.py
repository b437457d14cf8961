"""``wbgraph visualize``: a customer's, product's or segment's neighbourhood as an HTML page,
rendered here in a real headless Chromium."""

import json
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
