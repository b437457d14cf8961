"""`wbgraph db status|reset` and `wbgraph query`, against the session's real Neo4j server."""

import csv
import io
import json

import pytest

CREATE_TWO = "CREATE (:Customer {customerId: 'CUS-001'})-[:USES]->(:Product {productId: 'PROD-001'})"


def one_error_line(result):
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_status_names_server_version_edition_and_counts(cli, empty_db):
    empty_db.execute_query(CREATE_TWO)
    result = cli("db", "status", "--json")
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert status["version"].startswith("5.26.")
    assert status["edition"] == "community"
    assert (status["nodes"], status["relationships"]) == (2, 1)
    table = cli("db", "status").output
    assert "Neo4j Kernel 5.26." in table and "Relationships  1" in table


def test_query_prints_rows_as_json_keyed_by_column(cli, empty_db):
    result = cli(
        "query", "--format", "json", "CALL dbms.components() YIELD versions, edition RETURN versions[0] AS v, edition"
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows[0]["v"].startswith("5.26.") and rows[0]["edition"] == "community"


def test_query_parameters_are_json_or_text(cli, empty_db):
    result = cli(
        "query",
        "--format",
        "json",
        "RETURN $n + 1 AS n, $name AS name, size($ids) AS k, $flag AS flag",
        "-p",
        "n=41",
        "-p",
        "name=CUS-001",
        "-p",
        'ids=["a","b"]',
        "--param",
        "flag=true",
    )
    assert json.loads(result.output) == [{"n": 42, "name": "CUS-001", "k": 2, "flag": True}]


def test_query_values_are_never_spliced_into_cypher(cli, empty_db):
    hostile = "x'}) DETACH DELETE n //"
    cli("query", "--write", "CREATE (:Customer {customerId: $id})", "-p", f"id={hostile}")
    rows = json.loads(cli("query", "--format", "json", "MATCH (c:Customer) RETURN c.customerId AS id").output)
    assert rows == [{"id": hostile}]


def test_query_csv_and_table_formats(cli, empty_db):
    empty_db.execute_query(CREATE_TWO)
    statement = "MATCH (c:Customer)-[r:USES]->(p:Product) RETURN c.customerId AS customer, p, type(r) AS rel"
    rows = list(csv.DictReader(io.StringIO(cli("query", "--format", "csv", statement).output)))
    assert rows[0]["customer"] == "CUS-001" and rows[0]["rel"] == "USES"
    assert json.loads(rows[0]["p"])["properties"] == {"productId": "PROD-001"}
    table = cli("query", statement).output.splitlines()
    assert table[0].split() == ["customer", "p", "rel"] and table[-1] == "(1 row)"


def test_query_graph_and_temporal_values_become_plain_json(cli, empty_db):
    out = cli(
        "query",
        "--format",
        "json",
        "RETURN date('2026-11-25') AS d, datetime('2026-11-25T10:00:00Z') AS t, "
        "duration('P1D') AS dur, {a: [1, 2]} AS m, null AS nothing, point({x: 1, y: 2}) AS p",
    ).output
    assert json.loads(out) == [
        {
            "d": "2026-11-25",
            "t": "2026-11-25T10:00:00.000000000+00:00",
            "dur": "P1D",
            "m": {"a": [1, 2]},
            "nothing": None,
            "p": {"srid": 7203, "coordinates": [1.0, 2.0]},
        }
    ]


def test_writes_need_the_write_flag(cli, empty_db):
    result = cli("query", "CREATE (:Customer {customerId: 'CUS-9'})")
    assert result.exit_code == 14  # the server refused a write sent as a read
    assert "write" in one_error_line(result).lower()
    assert cli("query", "--write", "CREATE (:Customer {customerId: 'CUS-9'})").exit_code == 0
    assert json.loads(cli("query", "--format", "json", "MATCH (n) RETURN count(n) AS n").output) == [{"n": 1}]


def test_cypher_syntax_error_is_one_line(cli, empty_db):
    result = cli("query", "MATCH (n RETURN n")
    assert result.exit_code == 14
    assert "Neo.ClientError.Statement.SyntaxError" in one_error_line(result)


def test_malformed_parameter_is_one_line(cli, empty_db):
    result = cli("query", "RETURN 1", "-p", "novalue")
    assert result.exit_code == 1
    assert one_error_line(result) == "Error: Parameter 'novalue' is not NAME=VALUE."


def test_reset_deletes_all_data_after_confirmation(cli, empty_db):
    empty_db.execute_query(CREATE_TWO)
    declined = cli("db", "reset", input="n\n")
    assert declined.exit_code == 19 and "Aborted" in declined.output
    assert json.loads(cli("db", "status", "--json").output)["nodes"] == 2
    result = cli("db", "reset", "--yes", "--batch-size", "1")
    assert result.exit_code == 0, result.output
    assert "Deleted 2 nodes" in result.output
    status = json.loads(cli("db", "status", "--json").output)
    assert (status["nodes"], status["relationships"]) == (0, 0)


def test_wrong_password_is_one_line_and_exit_6(cli, backend):
    env = {"NEO4J_URI": backend.settings.uri, "NEO4J_PASSWORD": "not-the-password"}
    result = cli("db", "status", env=env)
    assert result.exit_code == 6
    line = one_error_line(result)
    assert "wrong user name or password" in line and "not-the-password" not in line


def test_unreachable_server_is_one_line_and_exit_5(cli):
    from helpers import free_port

    uri = f"bolt://127.0.0.1:{free_port()}"
    result = cli("db", "status", env={"NEO4J_URI": uri, "NEO4J_PASSWORD": "x"})
    assert result.exit_code == 5
    assert one_error_line(result).startswith(f"Error: Cannot reach Neo4j at {uri}")


def test_missing_database_is_one_line_and_exit_7(cli, backend):
    result = cli("--database", "nosuchdb", "db", "status")
    assert result.exit_code == 7
    assert one_error_line(result) == f"Error: Database 'nosuchdb' does not exist on {backend.settings.uri}."


def test_the_fixtures_refuse_an_opted_in_database_that_holds_data(backend, empty_db):
    """The guard ``WBGRAPH_TEST_URI`` passes through: an empty database is accepted, one node is refused."""
    from helpers import NotATestDatabase, require_empty

    require_empty(backend.settings)
    empty_db.execute_query("CREATE (:Customer {customerId: 'REAL-CLIENT'})", database_=backend.settings.database)
    with pytest.raises(NotATestDatabase, match="holds 1 nodes"):
        require_empty(backend.settings)


def test_a_shipped_read_cannot_write_and_a_batched_write_commits_on_its_own(backend, empty_db):
    """Every shipped query runs through wbgraph.db.read or write. A read runs in read access
    mode (routed to a reader on a cluster), so the server refuses a write handed to it; write()
    runs it on the writer, and runs a statement that commits in batches (``CALL ... IN
    TRANSACTIONS``, which only an auto-commit transaction may hold) in one."""
    from neo4j.exceptions import ClientError

    from wbgraph.db import read, write

    settings = backend.settings
    started = {"fingerprint": "f1", "file": "/in/rows.csv", "rows": 1, "rejectsFile": None, "modelFeatures": None}
    with pytest.raises(ClientError, match="(?i)read access mode"):
        read(empty_db, settings, "loaders/ingest_started", **started)
    assert read(empty_db, settings, "db/interrupted_ingests") == []
    write(empty_db, settings, "loaders/ingest_started", **started)
    assert [r["file"] for r in read(empty_db, settings, "db/interrupted_ingests")] == ["/in/rows.csv"]
    write(empty_db, settings, "db/delete_all", batchSize=1)
    assert read(empty_db, settings, "db/graph_counts")[0]["nodes"] == 0
