"""The Cypher queries the README offers analysts run and return rows."""

import re
from pathlib import Path

README = (Path(__file__).parent.parent / "README.md").read_text()


def readme_statements() -> list[str]:
    statements = []
    for block in re.findall(r"```cypher\n(.*?)```", README, re.S):
        body = "\n".join(line for line in block.splitlines() if not line.strip().startswith("//"))
        statements += [s.strip() for s in body.split(";") if s.strip()]
    return statements


def test_readme_queries_return_rows(backend, small_graph, driver):
    statements = readme_statements()
    assert len(statements) == 3
    customer = driver.execute_query("MATCH (c:Customer) RETURN c.customerId AS id ORDER BY id LIMIT 1").records[0]["id"]
    for statement in statements:
        assert driver.execute_query(statement, customerId=customer).records, statement
