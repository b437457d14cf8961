"""The README's Python example runs as written against the real server."""

import re
from pathlib import Path

import wbgraph

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_the_readme_python_example_runs_as_written(backend, empty_db, tmp_path, monkeypatch, capsys):
    example = re.search(r"## From Python.*?```python\n(.*?)```", README, re.S).group(1)
    data = wbgraph.generate(5000, seed=3, customers=1000, products=20, truth=False)
    from wbgraph.loaders.generate import write

    write(data, tmp_path / "transactions.csv")
    monkeypatch.chdir(tmp_path)
    exec(compile(example, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "5,000 rows loaded, 0 rejected" in out
    assert re.search(r"^1 PROD-\d+ -?\d", out, re.M)  # the best recommendation of CUS-0001
    assert wbgraph.Run.latest().id in out
