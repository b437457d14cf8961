"""Security properties that hold by construction, checked over the package's source."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "src" / "wbgraph"
USER_STATEMENT = {("query.py", "statement")}  # `wbgraph query` runs the user's own statement, with parameters


LOADERS = {"cypher.load", "cypher.statements"}
RUNNERS = {"read", "write", "queries.read", "queries.write", "db.read", "db.write"}  # (driver, settings, name, ...)
RUNNER_MODULE = "db/queries.py"  # read() and write() load the name their callers give: each caller is checked
STATEMENT_KEYWORDS = {"query", "query_"}  # the driver's names for the statement: tx.run(query=), execute_query(query_=)


def problems(source: str, filename: str) -> list[str]:
    """Every statement handed to the driver that does not come from a shipped ``.cypher`` file
    by a constant name, and every ``cypher.load``/``cypher.statements`` of a name that is not a
    constant (or a helper's parameter that every caller fills with a constant)."""
    tree = ast.parse(source, filename=filename)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found: list[str] = []

    def enclosing(node):
        while node in parents:
            node = parents[node]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return node
        return None

    def callers(function, param):
        """The argument each call of ``function`` in this module passes for ``param`` (None: not found)."""
        names = [a.arg for a in function.args.args]
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call):
                continue
            callee = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", None)
            if callee != function.name:
                continue
            position = names.index(param) - (
                1 if isinstance(call.func, ast.Attribute) and names[:1] in (["self"], ["cls"]) else 0
            )
            given = {k.arg: k.value for k in call.keywords}
            yield given.get(param, call.args[position] if 0 <= position < len(call.args) else None)

    def assignments(name, scope):
        for n in ast.walk(scope):
            if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in n.targets):
                yield n.value
            elif isinstance(n, ast.For) and isinstance(n.target, ast.Name) and n.target.id == name:
                yield n.iter

    def constant_name(node, depth=0) -> bool:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return True
        if isinstance(node, ast.IfExp):
            return constant_name(node.body, depth) and constant_name(node.orelse, depth)
        if isinstance(node, ast.Name) and depth < 3:
            function = enclosing(node)
            if function and node.id in [a.arg for a in function.args.args]:
                passed = list(callers(function, node.id))
                return bool(passed) and all(p is not None and constant_name(p, depth + 1) for p in passed)
            values = list(assignments(node.id, function or tree))
            return bool(values) and all(constant_name(v, depth + 1) for v in values)
        return False

    def loaded(node, depth=0) -> bool:
        """``node`` is a statement read from a shipped file."""
        if isinstance(node, ast.Call) and ast.unparse(node.func) in LOADERS:
            return True  # its name is checked where the call is
        if isinstance(node, ast.Name) and depth < 3:
            if (Path(filename).name, node.id) in USER_STATEMENT:
                return True
            function = enclosing(node)
            if function and node.id in [a.arg for a in function.args.args]:
                passed = list(callers(function, node.id))
                return bool(passed) and all(p is not None and loaded(p, depth + 1) for p in passed)
            values = list(assignments(node.id, tree))
            return bool(values) and all(loaded(v, depth + 1) for v in values)
        return False

    def passed_through(node) -> bool:
        """``node`` is ``*args`` of a driver-like method of the same name (a wrapper of the driver
        such as ``db.Impersonating.execute_query``), handed on unchanged: its callers are checked."""
        function = enclosing(node)
        wrapper = function is not None and function.name in {"run", "execute_query"}
        vararg = function.args.vararg.arg if wrapper and function.args.vararg else None
        return isinstance(node, ast.Starred) and isinstance(node.value, ast.Name) and node.value.id == vararg

    imported_runners = {  # a module's own read/write (a file's) is not wbgraph.db's
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] in {"db", "queries"}
        for alias in node.names
    }
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        where = f"{filename}:{node.lineno}"
        func = ast.unparse(node.func)
        if func in LOADERS:
            if Path(filename).as_posix().endswith(RUNNER_MODULE):
                continue
            if not node.args or not constant_name(node.args[0]):
                found.append(f"{where}: {func} of a name that is not a constant")
        elif func in RUNNERS and (func not in {"read", "write"} or func in imported_runners):
            if len(node.args) < 3 or not constant_name(node.args[2]):
                found.append(f"{where}: {func} of a name that is not a constant")
        elif isinstance(node.func, ast.Attribute) and node.func.attr in {"run", "execute_query"}:
            if isinstance(node.func.value, ast.Name) and node.func.value.id == "subprocess":
                continue
            keyword = next((k.value for k in node.keywords if k.arg in STATEMENT_KEYWORDS), None)
            statement = node.args[0] if node.args else keyword
            if passed_through(statement):
                continue  # a wrapper handing on its caller's statement: the caller's call is checked
            if statement is None or not loaded(statement):
                found.append(f"{where}: a statement that is not read from a .cypher file")
    return found


def package_sources():
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent.name == "cypher":  # the loader itself: load(name) is its job
            continue
        yield path, path.read_text()


def test_no_cypher_is_assembled_from_runtime_values():
    seen = 0
    for path, source in package_sources():
        assert problems(source, str(path.relative_to(PACKAGE))) == []
        seen += sum(
            isinstance(node, ast.Call) and ast.unparse(node.func) in LOADERS | RUNNERS
            for node in ast.walk(ast.parse(source))
        )
    assert seen >= 40  # the scan really sees the package's queries


DRIVER_CALLS = {"execute_query", "execute_read", "execute_write", "session", "begin_transaction"}
DRIVER_USERS = {
    "db/queries.py": "read() and write() themselves",
    "db/driver.py": "the impersonating driver, and its connectivity check",
    "serve/query.py": "`wbgraph query` runs the user's own statement, routed as the user asks",
}


def driver_calls(source: str) -> list[str]:
    """Where a module calls the driver to run a statement itself (not through read() or write())."""
    calls = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = ast.unparse(node.func.value)
            if node.func.attr in DRIVER_CALLS or (node.func.attr == "run" and owner != "subprocess"):
                calls.append(f"{node.lineno}: {ast.unparse(node.func)}")
    return sorted(calls)


def test_every_query_runs_through_read_or_write():
    # one place decides routing (reads to a reader), retries and auto-commit: a module that ran a
    # statement itself would skip them
    seen = set()
    for path, source in package_sources():
        name = path.relative_to(PACKAGE).as_posix()
        if name in DRIVER_USERS:
            seen.add(name)
            continue
        assert driver_calls(source) == [], name
    assert seen == set(DRIVER_USERS)


def test_the_driver_call_scan_sees_a_session_and_a_query():
    source = "def f(driver, q):\n    with driver.session() as s:\n        s.run(q)\n    driver.execute_query(q)\n"
    assert driver_calls(source) == ["2: driver.session", "3: s.run", "4: driver.execute_query"]


@pytest.mark.parametrize(
    "source",
    [
        'def f(tx, v):\n    tx.run(f"MATCH (c {{id: {v}}}) RETURN c")\n',  # an f-string
        "def f(tx, v):\n    tx.run(query='MATCH (c) WHERE c.id = ' + v)\n",  # passed by keyword
        "def f(driver, v):\n    driver.execute_query(query_=v)\n",  # a value as the statement, by keyword
        "def f(tx, v):\n    q = cypher.load('db/graph_counts').replace('count', v)\n    tx.run(q)\n",  # edited
        "def f(tx, v):\n    tx.run(cypher.load(v))\n",  # a name from a value
        "def f(tx, v):\n    tx.run(cypher.load('db/' + v))\n",
        "def helper(tx, name):\n    tx.run(cypher.load(name))\ndef g(tx, v):\n    helper(tx, v)\n",  # via a helper
        "def f(tx):\n    tx.run('MATCH (n) RETURN n')\n",  # Cypher in Python, not in a .cypher file
        "from ..db import read\ndef f(driver, settings, v):\n    read(driver, settings, v)\n",  # a name from a value
        "def f(driver, settings, v):\n    queries.write(driver, settings, 'db/' + v)\n",
    ],
)
def test_the_scan_catches_cypher_that_is_not_a_shipped_file_by_a_constant_name(source):
    assert problems(source, "crafted.py")


def test_the_scan_accepts_helpers_fed_with_constant_names():
    source = (
        "def helper(tx, name, **params):\n    tx.run(cypher.load(name), params)\n"
        "def g(tx, windowed):\n    helper(tx, 'db/graph_counts')\n"
        "    helper(tx, 'gnn/a' if windowed else 'gnn/b')\n"
        "    for statement in cypher.statements('db/schema'):\n        tx.run(statement)\n"
    )
    assert problems(source, "crafted.py") == []


def test_every_name_in_the_code_is_a_shipped_file_and_every_file_is_used():
    import re

    from wbgraph import cypher

    pattern = re.compile(rf"^({'|'.join(cypher.STAGES)})/[a-z_]+$")
    named = {
        node.value
        for _, source in package_sources()
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and pattern.match(node.value)
    }
    for name in named:
        cypher.load(name)  # raises KeyError for a file that is not shipped
    unused = {name for name in cypher.names() if not name.startswith("queries/")} - named
    assert not unused, f"shipped .cypher files no code runs: {sorted(unused)}"


def test_no_cypher_file_runs_cypher_built_from_values():
    # the scan above: statements are only the shipped files, by constant names, so a value can
    # reach Cypher only as a parameter; inside Cypher, no procedure may run a string as Cypher
    texts = {path.name: path.read_text() for path in (PACKAGE / "cypher").rglob("*.cypher")}
    assert len(texts) >= 30
    for name, text in texts.items():
        for dynamic in ("apoc.cypher.run", "apoc.cypher.doIt", "apoc.cypher.runMany", "apoc.periodic.iterate"):
            assert dynamic not in text, (name, dynamic)
