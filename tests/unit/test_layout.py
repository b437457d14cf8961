"""The layout is the data flow: no import cycles, every Cypher file used by name, one graph-model table."""

import ast
import re
from pathlib import Path

from wbgraph import cypher
from wbgraph.graphmodel import CONTEXTS

PACKAGE = Path(__file__).parents[2] / "src" / "wbgraph"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Every wbgraph module and the wbgraph modules it imports, at module level or inside functions."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                target = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
                for alias in node.names:  # `from . import x` may name a module
                    candidate = f"{target}.{alias.name}"
                    found.add(candidate if candidate in modules else target)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def cycles_of(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle a depth-first walk meets, each as the path that closes it."""
    cycles: list[list[str]] = []

    def visit(node, path):
        for nxt in sorted(graph[node]):
            if nxt in path:
                cycles.append(path[path.index(nxt) :] + [nxt])
            elif nxt not in done:
                visit(nxt, path + [nxt])
        done.add(node)

    done: set = set()
    for start in sorted(graph):
        if start not in done:
            visit(start, [start])
    return cycles


def first_level(module: str) -> str:
    """The first-level package or module a module belongs to: ``wbgraph.gnn.train`` -> ``wbgraph.gnn``."""
    return ".".join(module.split(".")[:2])


def test_no_import_cycles_between_modules():
    cycles = cycles_of(imports())
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_no_import_cycles_between_first_level_packages():
    """A package is one room: two packages that import each other (even inside a function,
    through different modules) are one room in two places."""
    packages: dict[str, set[str]] = {}
    for module, targets in imports().items():
        here = first_level(module)
        packages.setdefault(here, set()).update(first_level(t) for t in targets if first_level(t) != here)
    cycles = cycles_of(packages)
    assert not cycles, "import cycles between packages: " + "; ".join(" -> ".join(c) for c in cycles)


def test_every_cypher_file_is_loaded_by_its_name_and_every_name_is_a_file():
    loaded = set()
    for path in PACKAGE.rglob("*.py"):
        loaded |= set(re.findall(r"\"((?:db|loaders|gnn|writeback|serve|queries|outcomes)/\w+)\"", path.read_text()))
    files = set(cypher.names())
    assert loaded <= files, f"named but missing: {sorted(loaded - files)}"
    unused = {name for name in files - loaded if not name.startswith("queries/")}
    assert not unused, f"Cypher files nothing runs: {sorted(unused)}"


def test_the_online_ingest_writes_exactly_the_context_nodes_of_the_graph_model():
    """The table drives the importer and the exporter; the upsert statements spell it out, so check them."""
    for context in CONTEXTS:
        text = cypher.load(f"loaders/upsert_{context.owner.lower()}s")
        assert re.search(rf"MERGE \(\w+:{context.label} {{name: name}}\)", text), context
        assert f"[:{context.relationship}]" in text, context
        assert ("row.regulations" if context.many else f"row.props.{context.prop}") in text, context
    labels = {c.label for c in CONTEXTS}
    for owner in ("customers", "products"):
        merged = set(re.findall(r"MERGE \(\w+:(\w+) {name:", cypher.load(f"loaders/upsert_{owner}")))
        assert merged <= labels, f"upsert_{owner} writes context nodes the graph model does not list: {merged - labels}"


def test_every_error_class_lives_in_errors_py():
    from wbgraph import errors

    names = {n for n in dir(errors) if isinstance(getattr(errors, n), type)}
    for path in PACKAGE.rglob("*.py"):
        if path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(b).rpartition(".")[2] for b in node.bases}
                assert not (bases & names) and not any(b.endswith(("Error", "Exception")) for b in bases), (
                    f"{path.relative_to(PACKAGE)}: error class {node.name} belongs in errors.py"
                )


def test_every_public_function_has_type_hints():
    missing = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
                params = [
                    a for a in node.args.args + node.args.kwonlyargs if a.arg not in ("self", "cls", "obj", "ctx")
                ]
                if node.returns is None or any(a.annotation is None for a in params):
                    missing.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}")
    assert not missing, "public functions without type hints:\n" + "\n".join(missing)


def test_no_module_imports_another_modules_private_names():
    """A leading underscore means "this module's own": another module that needs it needs a public name."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module != "__future__":
                found += [
                    f"{path.relative_to(PACKAGE)}:{node.lineno} {alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_") and not alias.name.startswith("__")
                ]
    assert not found, "private names imported from another module:\n" + "\n".join(found)


def code_lines(function: ast.FunctionDef | ast.AsyncFunctionDef, source: list[str]) -> int:
    """Lines of code in a function: its signature and body, less its docstring, blank lines and comments."""
    lines = set(range(function.lineno, function.end_lineno + 1))
    first = function.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        lines -= set(range(first.lineno, first.end_lineno + 1))
    return sum(1 for n in lines if source[n - 1].strip() and not source[n - 1].strip().startswith("#"))


def test_no_function_is_longer_than_60_lines_of_code():
    """A function that does not fit on a screen does more than one thing (the help text of a
    command, its docstring, does not count; its option decorators are not its body)."""
    long = []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = code_lines(node, text.splitlines())
                if n > 60:
                    long.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}: {n} lines")
    assert not long, "functions over 60 lines of code:\n" + "\n".join(long)
