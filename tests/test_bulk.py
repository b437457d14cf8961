"""``wbgraph ingest --bulk``: the bulk importer builds the very graph the online ingest builds.

Runs on the managed local server (the session's own, or a second one): the bulk path stops
and restarts it.
"""

import json
import math

import pytest

from wbgraph.config import Settings
from wbgraph.db import open_driver

from helpers import graph_dump


def local_env(server) -> dict:
    """The CLI's environment for the managed server living in ``server.home``."""
    return {
        "WBGRAPH_HOME": str(server.home),
        "NEO4J_URI": None,
        "NEO4J_PASSWORD": None,
        "NEO4J_USERNAME": None,
        "NEO4J_DATABASE": None,
    }


def settings_of(server) -> Settings:
    return Settings(server.bolt_uri, "neo4j", server.read_password(), local=True)


def same_value(a, b, part) -> bool:
    """Equal; for relationship floats (USES sums and means, whose summation order may differ) to 12 digits."""
    if part == "relationships" and (isinstance(a, float) or isinstance(b, float)):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9)
    return a == b and type(a) is type(b)


@pytest.fixture
def mixed_file(tmp_path, cli, seed_csv):
    """Generated rows, the seed notebook's rows (duplicates, conflicts, rejects) and awkward IDs, in one file."""
    path = tmp_path / "mixed.csv"
    assert cli("generate", "--rows", "4000", "--seed", "11", "--output", str(path)).exit_code == 0
    lines = path.read_text().splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    seed_lines = seed_csv.read_text().splitlines(keepends=True)[1:]
    first = lines[1].rstrip("\n").split(",")
    awkward = []
    for i, customer in enumerate(['CUS "quoted", with comma', "CUS\nnew line", "客户-Ω", "  spaced  ", "back\\slash"]):
        row = dict(zip(header, first))
        row.update(
            {"Customer ID": customer, "Transaction ID": f"T-awkward-{i}", "Industry": "", "Product Features": ""}
        )
        awkward.append(",".join('"' + v.replace('"', '""') + '"' for v in row.values()) + "\n")
    row = dict(zip(header, first)) | {"Transaction ID": "T-bad", "Transaction Amount": "twelve"}  # rejected
    awkward.append(",".join(row.values()) + "\n")
    path.write_text("".join(lines + seed_lines + awkward))
    return path


def test_bulk_ingest_builds_the_graph_of_the_online_ingest(cli, local_server, mixed_file):
    env, settings = local_env(local_server), settings_of(local_server)
    assert json.loads(cli("db", "reset", "--yes", "--json", env=env).output)["database"] == settings.database
    online = cli("ingest", str(mixed_file), "--silent", "--json", env=env)
    assert online.exit_code == 0, online.output
    expected = graph_dump(settings)

    assert cli("db", "reset", "--yes", env=env).exit_code == 0
    bulk = cli("ingest", str(mixed_file), "--bulk", "--chunk-rows", "700", "--silent", "--json", env=env)  # in chunks
    assert bulk.exit_code == 0, bulk.output
    got = graph_dump(settings)

    online, bulk = json.loads(online.output), json.loads(bulk.output)
    for field in ("read", "loaded", "rejected", "created", "duplicates", "conflicts", "warnings"):
        assert bulk[field] == online[field], field
    assert bulk["read"] == bulk["loaded"] + bulk["rejected"] and bulk["rejected"] > 0
    assert bulk["nodesCreated"] == len(expected["nodes"]) and bulk["relationshipsCreated"] == len(
        expected["relationships"]
    )

    assert got["schema"] == expected["schema"] and got["indexes"] == expected["indexes"]
    assert got["ingests"] == expected["ingests"] and [i[3] for i in got["ingests"]] == [True]  # one, finished
    assert all(state == "ONLINE" for _, state, *_ in got["indexes"])
    assert got["nodes"].keys() == expected["nodes"].keys()
    assert got["relationships"].keys() == expected["relationships"].keys()
    for part in ("nodes", "relationships"):
        for key, props in expected[part].items():
            other = got[part][key]
            assert props.keys() == other.keys(), (key, props, other)
            assert all(same_value(props[k], other[k], part) for k in props), (key, props, other)
    assert (("Customer",), "CUS\nnew line") in got["nodes"] and (("Customer",), "  spaced  ") in got["nodes"]


def test_bulk_refuses_a_database_that_is_not_empty_and_changes_nothing(cli, local_server, mixed_file, tmp_path):
    env = local_env(local_server)
    assert cli("db", "reset", "--yes", env=env).exit_code == 0
    small = tmp_path / "small.csv"
    assert cli("generate", "--rows", "200", "--seed", "3", "--output", str(small)).exit_code == 0
    assert cli("ingest", str(small), "--silent", env=env).exit_code == 0
    with open_driver(settings_of(local_server)) as driver:
        before = driver.execute_query("MATCH (n) RETURN count(n) AS n").records[0]["n"]
        result = cli("ingest", str(mixed_file), "--bulk", env=env)
        assert result.exit_code == 9
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and "only into an empty database" in lines[0], lines
        assert driver.execute_query("MATCH (n) RETURN count(n) AS n").records[0]["n"] == before


def test_bulk_refuses_a_server_it_does_not_manage(cli, mixed_file):
    result = cli(
        "ingest", str(mixed_file), "--bulk", env={"NEO4J_URI": "bolt://db.example.com:7687", "NEO4J_PASSWORD": "x"}
    )
    assert result.exit_code == 9 and "only into the managed local server" in result.output


def test_bulk_with_every_row_rejected_loads_nothing_and_keeps_the_server_up(cli, local_server, mixed_file, tmp_path):
    env = local_env(local_server)
    assert cli("db", "reset", "--yes", env=env).exit_code == 0
    lines = mixed_file.read_text().splitlines(keepends=True)
    bad = tmp_path / "bad.csv"
    bad.write_text(lines[0] + lines[-1] * 3)  # the rejected row of the mixed file, three times
    pid = local_server.pid()
    result = cli("ingest", str(bad), "--bulk", "--json", env=env)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["read"] == summary["rejected"] == 3 and summary["loaded"] == 0
    assert local_server.pid() == pid  # not restarted for nothing
    with open_driver(settings_of(local_server)) as driver:
        assert driver.execute_query("MATCH (n) RETURN count(n) AS n").records[0]["n"] == 0


def test_bulk_follows_the_mappings_regulation_semantics(cli, local_server, tmp_path):
    env = local_env(local_server)
    assert cli("db", "reset", "--yes", env=env).exit_code == 0
    (tmp_path / "m.toml").write_text(
        'regulations = "latest"\n[columns]\ncustomerId = "c"\nproductId = "p"\ndate = "d"\nregulation = "r"\n'
    )
    (tmp_path / "a.csv").write_text(
        "c,p,d,r\nC1,P1,2025-01-01,KYC\nC2,P1,2025-03-01,AML\nC1,P2,2025-02-01,Basel III\nC2,P2,2025-01-15,CCAR\n"
    )
    result = cli(
        "ingest", str(tmp_path / "a.csv"), "--mapping", str(tmp_path / "m.toml"), "--bulk", "--silent", env=env
    )
    assert result.exit_code == 0, result.output
    with open_driver(settings_of(local_server)) as driver:
        found = driver.execute_query(
            "MATCH (p:Product)-[:SUBJECT_TO]->(g) RETURN p.productId AS p, collect(g.name) AS regs ORDER BY p"
        ).records
    assert {r["p"]: r["regs"] for r in found} == {"P1": ["AML"], "P2": ["Basel III"]}  # as the online ingest
