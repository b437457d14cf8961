"""Faults: the Neo4j server dying in the middle of an ingest, on a server of the test's own.

(The writeback killed in the middle is in test_writeback.py.)
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from wbgraph.config import Settings
from wbgraph.db import open_driver
from wbgraph.localserver import LocalServer, start, stop

from helpers import free_port

FINGERPRINT = """
CALL () { MATCH (n) RETURN count(n) AS nodes }
CALL () { MATCH ()-[r]->() RETURN count(r) AS relationships }
CALL () { MATCH (t:Transaction) RETURN collect(t.transactionKey) AS keys }
CALL () { MATCH (c:Customer)-[u:USES]->(p:Product)
          RETURN sum(u.transactionCount) AS uses, round(sum(u.totalAmount), 2) AS amount,
                 collect(c.customerId + '>' + p.productId + ':' + toString(u.transactionCount)) AS pairs }
RETURN nodes, relationships, apoc.coll.sort(keys) AS keys, uses, amount, apoc.coll.sort(pairs) AS pairs
"""


def test_server_killed_mid_ingest_is_a_one_line_error_and_a_rerun_equals_one_clean_run(cli, tmp_path_factory, tmp_path):
    home = tmp_path_factory.mktemp("fault-home")
    server = LocalServer(home=home)
    start(server, bolt_port=free_port(), http_port=free_port())
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")} | {"WBGRAPH_HOME": str(home)}
    settings = Settings(uri=server.bolt_uri, user="neo4j", password=server.read_password(), local=True)
    wbgraph = str(Path(sys.executable).parent / "wbgraph")
    data = tmp_path / "data.csv"
    assert cli("generate", "--rows", "20000", "--seed", "8", "--output", str(data)).exit_code == 0
    ingest = [wbgraph, "ingest", str(data), "--batch-size", "500", "--silent", "--json"]
    try:
        process = subprocess.Popen(ingest, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        loaded, deadline = 0, time.monotonic() + 120
        with open_driver(settings) as driver:
            while loaded == 0 and process.poll() is None and time.monotonic() < deadline:
                loaded = driver.execute_query("MATCH (t:Transaction) RETURN count(t) AS n").records[0]["n"]
                time.sleep(0.05)
        os.kill(server.pid(), signal.SIGKILL)  # the server dies, mid-ingest
        out, err = process.communicate(timeout=180)
        assert loaded > 0 and process.returncode == 5, (process.returncode, out, err)
        lines = (out + err).strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in err, lines

        start(server)  # Neo4j recovers from its transaction log
        rerun = subprocess.run(ingest, env=env, capture_output=True, text=True)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        with open_driver(settings) as driver:
            recovered = driver.execute_query(FINGERPRINT).records[0].data()
        assert subprocess.run([wbgraph, "db", "reset", "--yes"], env=env, capture_output=True).returncode == 0
        clean = subprocess.run(ingest, env=env, capture_output=True, text=True)
        assert clean.returncode == 0, clean.stdout + clean.stderr
        with open_driver(settings) as driver:
            assert driver.execute_query(FINGERPRINT).records[0].data() == recovered
        assert recovered["uses"] == 20_000
    finally:
        stop(server)
