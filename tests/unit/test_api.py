"""``import wbgraph`` offers the functions the commands call; ``python -m wbgraph`` is the command."""

import importlib
import subprocess
import sys

import wbgraph


def test_the_api_names_are_the_library_functions_of_the_commands():
    expected = {
        "generate": "wbgraph.loaders.generate",
        "ingest": "wbgraph.loaders.ingest",
        "bulk_ingest": "wbgraph.loaders.bulk",
        "train": "wbgraph.gnn.train",
        "evaluate": "wbgraph.gnn.evaluate",
        "writeback": "wbgraph.writeback",
        "recommend": "wbgraph.serve.recommend",
        "query": "wbgraph.serve.query",
        "visualize": "wbgraph.serve.visualize",
        "report": "wbgraph.serve.report",
        "demo": "wbgraph.pipeline",
        "connect": "wbgraph.db",
        "Run": "wbgraph.runs",
    }
    for name, module in expected.items():
        assert getattr(wbgraph, name) is getattr(importlib.import_module(module), name), name
    assert importlib.import_module("wbgraph.cli.ingest").library is wbgraph.ingest  # what `wbgraph ingest` calls
    assert set(expected) <= set(wbgraph.__all__)


def test_the_writeback_function_and_its_room_share_a_name_without_harm():
    import wbgraph.writeback.segments  # importing a module of the room later ...

    assert callable(wbgraph.writeback)  # ... leaves the function where the API promises it
    assert wbgraph.writeback.__module__ == "wbgraph.writeback"


def test_importing_wbgraph_and_its_cli_does_not_load_torch():
    code = "import sys, wbgraph, wbgraph.cli; print('torch' in sys.modules)"  # (the neo4j driver loads pandas itself)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_python_dash_m_wbgraph_is_the_command():
    done = subprocess.run([sys.executable, "-m", "wbgraph", "--version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.strip() == f"wbgraph, version {wbgraph.__version__}"
