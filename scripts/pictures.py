"""Regenerate every picture in docs/ from the current code: `make pictures`.

The README's pictures show what a user sees after `make demo`, so they are made the same
way, on a Neo4j server of their own (a fresh local server in a temporary folder, on free
ports: the user's own server and data are not touched): the demo (50,000 generated rows),
then

- docs/visualize-customer.png: `wbgraph visualize CUS-0001`, rendered in headless Chromium;
- docs/report.png: `wbgraph report`, rendered the same way;
- docs/browser.png: Neo4j Browser with the shipped style, the headline table and graph
  queries for that customer (the steps `tests/test_visualize.py` checks).

Needs Java, Maven (or the cached Neo4j) and Chromium (`bash scripts/setup-browser`), as
`make test` does. Prints each picture it wrote.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
WBGRAPH = str(ROOT / ".venv" / "bin" / "wbgraph")
CUSTOMER = "CUS-0001"
sys.path.insert(0, str(ROOT / "tests"))  # the Chromium driver and the Browser steps the tests use


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wbgraph(*args: str, env: dict) -> None:
    subprocess.run([WBGRAPH, *args], env=env, check=True)


def render(page: Path, png: Path, width: int, height: int) -> None:
    """A self-contained HTML page as Chromium shows it in a window of ``width`` x ``height``."""
    from test_visualize import CHROMIUM

    if not CHROMIUM:
        sys.exit("Chromium is needed: bash scripts/setup-browser")
    subprocess.run(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
        + [f"--window-size={width},{height}", "--virtual-time-budget=10000", f"--screenshot={png}"]
        + [page.resolve().as_uri()],
        check=True,
        capture_output=True,
        timeout=120,
    )
    print(f"wrote {png.relative_to(ROOT)}")


def browser(server: object, png: Path) -> None:
    """Neo4j Browser, logged in, with the shipped style and the customer's table and graph."""
    from chromium import Chromium
    from test_visualize import browser_login, browser_run

    from wbgraph import cypher

    with Chromium() as page:
        browser_login(page, server)
        browser_run(page, ":style " + cypher.browser_style())
        page.wait_for("document.body.innerText.includes('node.Customer')", what="the style frame")
        browser_run(page, f":param customerId => '{CUSTOMER}'")
        page.wait_for(f'document.body.innerText.includes(\'"customerId": "{CUSTOMER}"\')', what="the parameter")
        browser_run(page, cypher.analyst_queries()["recommendations_for_customer"])
        page.wait_for(f"document.body.innerText.includes('\"{best_product()}\"')", what="the table")
        browser_run(page, cypher.analyst_queries()["recommendations_graph"])
        page.wait_for(
            f"Array.from(document.querySelectorAll('svg text')).some(t => t.textContent.includes('{CUSTOMER}'))",
            what="the graph view",
        )
        page.screenshot(png)
    print(f"wrote {png.relative_to(ROOT)}")


def best_product() -> str:
    """The customer's first recommendation, read with the analysts' own query."""
    from wbgraph import cypher
    from wbgraph.config import resolve_settings
    from wbgraph.db import open_driver

    with open_driver(resolve_settings()) as driver:
        query = cypher.analyst_queries()["recommendations_for_customer"]
        return driver.execute_query(query, customerId=CUSTOMER).records[0]["product"]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="wbgraph-pictures-") as tmp:
        work = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")} | {
            "WBGRAPH_HOME": str(work / "neo4j"),
            "WBGRAPH_DOTENV": "",
        }
        wbgraph("db", "start", "--bolt-port", str(free_port()), "--http-port", str(free_port()), "--silent", env=env)
        try:
            wbgraph("demo", "--folder", str(work / "data"), "--runs-dir", str(work / "runs"), "--silent", env=env)
            wbgraph("visualize", CUSTOMER, "--output", str(work / "customer.html"), env=env)
            render(work / "customer.html", DOCS / "visualize-customer.png", 1400, 1000)
            wbgraph("report", "--runs-dir", str(work / "runs"), "--output", str(work / "report"), env=env)
            render(work / "report" / "index.html", DOCS / "report.png", 1100, 1500)
            os.environ["WBGRAPH_HOME"] = env["WBGRAPH_HOME"]  # the server object reads its folder from here
            from wbgraph.localserver import LocalServer

            browser(LocalServer(), DOCS / "browser.png")
        finally:
            wbgraph("db", "stop", env=env)


if __name__ == "__main__":
    main()
