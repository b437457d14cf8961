"""``wbgraph report``: a static HTML report with plots, from the run folder and the graph."""

import json
import re

from wbgraph.db import open_driver


def test_report_has_every_plot_and_figures_from_the_run_and_graph(cli, backend, demo_graph, tmp_path):
    out = tmp_path / "report"
    result = cli("report", "--runs-dir", str(demo_graph / "runs"), "--output", str(out), "--json")
    assert result.exit_code == 0, result.output
    written = json.loads(result.output)
    assert written["missing"] == ["outcomes"]  # no offers were loaded: the page says so
    names = sorted(p.rsplit("/", 1)[-1] for p in written["images"])
    assert names == [
        "coverage.png",
        "embeddings.png",
        "exclusions.png",
        "metrics.png",
        "reliability.png",
        "segments.png",
        "training-curve.png",
    ]
    for name in names:
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000, name
    page = (out / "index.html").read_text()
    assert sorted(re.findall(r'<img src="([^"]+)"', page)) == names  # every plot shown, by a relative path
    assert "http://" not in page and "https://" not in page  # no server, no network
    assert "No offers in the graph: load what became of them with `wbgraph outcomes ingest`." in page

    metrics = json.loads(
        (demo_graph / "runs" / open(demo_graph / "runs" / "latest").read().strip() / "metrics.json").read_text()
    )
    assert f"test NDCG@10 {metrics['test']['gat']['ndcg@10']:.3f}" in page
    evaluation = json.loads(
        (demo_graph / "runs" / open(demo_graph / "runs" / "latest").read().strip() / "evaluation.json").read_text()
    )
    assert evaluation["verdict"] in page
    calibrated = evaluation["calibration"]  # evaluate's figures of the probabilities, on the page
    assert f"expected calibration error {calibrated['ece']:.3f} over 10 equal-mass bins" in page
    for method in ("gat", "popularity", "matrix factorisation", "oracle, from history"):
        assert f"<th>{method}</th>" in page
    with open_driver(backend.settings) as driver:
        rows = driver.execute_query(
            "MATCH (:Customer)-[:RECOMMENDED]->(p:Product) RETURN p.category AS category, count(*) AS edges"
        ).records
    for row in rows:  # the coverage table holds the graph's own counts
        assert re.search(
            rf"<td>{re.escape(row['category'])}</td>\s*<td>\d+</td>\s*<td>\d+</td>\s*<td>{row['edges']}</td>", page
        )


def test_report_names_the_steps_that_have_not_run(cli, small_graph, tmp_path):
    runs = tmp_path / "runs"
    assert cli("train", "--epochs", "5", "--runs-dir", str(runs), "--silent").exit_code == 0
    result = cli("report", "--runs-dir", str(runs), "--output", str(tmp_path / "r"))
    assert result.exit_code == 0, result.output
    assert "run `wbgraph evaluate`" in result.output and "run `wbgraph writeback`" in result.output
    page = (tmp_path / "r" / "index.html").read_text()
    assert "Not evaluated yet" in page and "Not written back yet" in page


def test_report_without_a_run_is_a_one_line_error(cli, tmp_path):
    result = cli("report", "--runs-dir", str(tmp_path / "none"), "--output", str(tmp_path / "r"))
    assert result.exit_code == 16 and result.output.startswith("Error: No trained run")
