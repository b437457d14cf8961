"""The README's five-minute tour works as written: its commands run verbatim, in order.

Every line of the ``bash`` blocks of the tour runs from an empty working directory against
the session's server, its database emptied first; ``make TARGET`` runs that target's recipe from the Makefile (the
environment it sets up first is the one running these tests). Nothing tells the commands
where the runs are: they agree through the default runs location, as a user's would.
"""

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).parent.parent


def tour_commands() -> list[str]:
    """The tour's commands: each line of its ``bash`` blocks, comments dropped."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Five-minute tour\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for block in re.findall(r"```bash\n(.*?)```", section, re.S) for line in block.splitlines()]
    return [line.split(" #", 1)[0].strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def make_recipe(target: str) -> list[str]:
    """The commands ``make TARGET`` runs (its own recipe; its prerequisites set up what is already here)."""
    makefile = (ROOT / "Makefile").read_text()
    variables = dict(re.findall(r"^(\w+) = (.*)$", makefile, re.M))
    recipe = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    expand = lambda line: re.sub(r"\$\((\w+)\)", lambda m: variables[m.group(1)], line.strip())
    return [expand(line).replace(".venv/bin/wbgraph", "wbgraph") for line in recipe.splitlines()]


def test_the_tour_has_the_commands_it_promises():
    commands = tour_commands()
    assert commands[0] == "make demo" and make_recipe("demo") == ["wbgraph demo --folder demo-data"]
    assert "wbgraph report --output report/" in commands and "wbgraph run extract.csv" in commands


def test_the_readme_tour_runs_verbatim(cli, empty_db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WBGRAPH_RUNS", raising=False)  # the tour relies on the default location
    outputs = {}
    for command in tour_commands():
        for line in make_recipe(command.split()[1]) if command.startswith("make ") else [command]:
            args = shlex.split(line)
            assert args[0] == "wbgraph", line
            result = cli(*args[1:])
            assert result.exit_code == 0, f"{line}\n{result.output}"
            outputs[line] = result.output
    assert (tmp_path / "cus.html").is_file() and (tmp_path / "report" / "index.html").is_file()
    assert (tmp_path / "runs" / "latest").is_file()
    assert "No trained run" not in outputs["wbgraph report --output report/"]
    assert "CUS-0001 (" in outputs["wbgraph recommend CUS-0001 --explain"]
    listed = outputs["wbgraph runs list"]
    assert listed.count(" passed") >= 1 and "*" in listed  # the tour's run passed its gate and serves
