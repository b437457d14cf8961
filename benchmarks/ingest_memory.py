"""Peak memory and speed of ``wbgraph ingest`` by file size: memory must not grow with the file.

For each size, a generated file (``wbgraph generate --seed 3``, cached in ``--data-dir``) is
loaded into an emptied local Neo4j of its own (``--home``), online and/or with ``--bulk``,
each in a fresh ``wbgraph ingest`` process. Reported per run: the ingest process's own peak
resident memory (``peakRssMb`` of ``--json``), the largest process of the run as
``/usr/bin/time -v`` sees it (with ``--bulk``: the neo4j-admin importer's JVM, a process of
its own), rows/s and the time per phase. ``--markdown FILE`` appends the table.

    .venv/bin/python benchmarks/ingest_memory.py --sizes 100000 1000000 5000000 --modes online bulk
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--modes", nargs="+", choices=["online", "bulk"], default=["online", "bulk"])
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "wbgraph-bench-data")
    parser.add_argument("--home", type=Path, help="WBGRAPH_HOME of the Neo4j it uses (default: a temporary folder).")
    parser.add_argument("--markdown", type=Path, help="Append the table to this file.")
    args = parser.parse_args()
    env = dict(os.environ, WBGRAPH_HOME=str(args.home or tempfile.mkdtemp(prefix="wbgraph-bench-")), WBGRAPH_DOTENV="")
    for name in ("NEO4J_URI", "NEO4J_USERNAME", "NEO4J_PASSWORD", "NEO4J_DATABASE"):
        env.pop(name, None)
    wbgraph = [sys.executable, "-m", "wbgraph"]
    subprocess.run([*wbgraph, "db", "start"], env=env, check=True, capture_output=True)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for size in args.sizes:
        path = args.data_dir / f"rows-{size}.csv"
        if not path.exists():
            subprocess.run(
                [*wbgraph, "generate", "--rows", str(size), "--seed", "3", "--output", str(path)], check=True
            )
        for mode in args.modes:
            subprocess.run([*wbgraph, "db", "reset", "--yes"], env=env, check=True, capture_output=True)
            command = ["/usr/bin/time", "-v", *wbgraph, "ingest", str(path), "--json", "--silent"]
            command += ["--bulk"] if mode == "bulk" else []
            began = time.perf_counter()
            done = subprocess.run(command, env=env, capture_output=True, text=True)
            if done.returncode:
                print(done.stdout, done.stderr, file=sys.stderr)
                return done.returncode
            summary = json.loads(done.stdout)
            largest = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1)) / 1024
            result = {
                "rows": size,
                "mode": mode,
                "fileMb": path.stat().st_size / 2**20,
                "peakRssMb": summary["peakRssMb"],
                "largestProcessMb": largest,
                "rowsPerSecond": summary["rowsPerSecond"],
                "seconds": summary["seconds"],
                "wallSeconds": time.perf_counter() - began,
                "phaseSeconds": summary["phaseSeconds"],
            }
            results.append(result)
            print(json.dumps(result), flush=True)
    table = _markdown(results)
    print(table)
    if args.markdown:
        with open(args.markdown, "a") as f:
            f.write("\n" + table)
    return 0


def _markdown(results: list[dict]) -> str:
    lines = [
        f"`benchmarks/ingest_memory.py`, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores:",
        "",
        "| rows | file MB | mode | ingest process peak RSS MB | largest process MB | rows/s | seconds | phases (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        phases = ", ".join(f"{k} {v:.1f}" for k, v in r["phaseSeconds"].items())
        lines.append(
            f"| {r['rows']:,} | {r['fileMb']:,.0f} | {r['mode']} | {r['peakRssMb']:,.0f} | {r['largestProcessMb']:,.0f} "
            f"| {r['rowsPerSecond']:,.0f} | {r['seconds']:,.1f} | {phases} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
