"""Security properties that hold by construction, checked over the package's source."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[2] / "src" / "wbgraph"
USER_STATEMENT = {("query.py", "statement")}  # `wbgraph query` runs the user's own statement, with parameters


def cypher_arguments():
    """(file, call) for every call that hands a statement to the driver."""
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"run", "execute_query"}
            ):
                if isinstance(node.func.value, ast.Name) and node.func.value.id == "subprocess":
                    continue
                if node.args:
                    yield path, node.args[0]


def test_no_cypher_is_assembled_from_runtime_values():
    seen = 0
    for path, statement in cypher_arguments():
        seen += 1
        where = f"{path.relative_to(PACKAGE)}:{statement.lineno}"
        assert not isinstance(statement, (ast.JoinedStr, ast.BinOp)), f"{where}: Cypher built from values"
        if isinstance(statement, ast.Call):  # cypher.load(name) can only return one of the package's own files
            assert ast.unparse(statement.func) == "cypher.load", where
        elif isinstance(statement, ast.Name):  # a variable: it must come from cypher.load / cypher.statements
            source = path.read_text()
            assigned = [
                n
                for n in ast.walk(ast.parse(source))
                if isinstance(n, (ast.Assign, ast.For))
                and statement.id
                in {
                    t.id
                    for t in ast.walk(n.targets[0] if isinstance(n, ast.Assign) else n.target)
                    if isinstance(t, ast.Name)
                }
            ]
            if (path.name, statement.id) in USER_STATEMENT:
                continue
            assert assigned, f"{where}: {statement.id} is not assigned in the module"
            for n in assigned:
                origin = ast.unparse(n.value if isinstance(n, ast.Assign) else n.iter)
                assert origin.startswith(("cypher.load(", "cypher.statements(")), f"{where}: {statement.id} = {origin}"
        else:
            assert isinstance(statement, ast.Constant), where
    assert seen >= 10  # the scan really sees the package's queries


def test_every_value_reaches_cypher_as_a_parameter():
    from wbgraph import cypher

    texts = [path.read_text() for path in (PACKAGE / "cypher").rglob("*.cypher")]
    assert texts
    for text in texts:
        assert (
            "apoc.cypher.run" not in text and "apoc.cypher.doIt" not in text
        )  # no dynamic Cypher inside Cypher either
    assert cypher.load("writeback/write_recommendations").count("$") >= 4
