"""A team's ``wbgraph.toml`` (found from the working directory up) and the runs location it may set."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from ..errors import ConfigError

PROJECT_FILE = "wbgraph.toml"


RUNS_ENV = "WBGRAPH_RUNS"


DEFAULT_RUNS_DIR = "runs"


PROJECT_KEYS = {"runs": {"dir": str}}  # table -> key -> type: what wbgraph.toml may hold


def project_config(folder: Path | None = None) -> dict:
    """The project file ``wbgraph.toml`` of ``folder`` (the working directory), checked; {} without one.

    It holds settings a team shares in its repository, never credentials::

        [runs]
        dir = "/srv/wbgraph/runs"   # where the run folders live (relative: to this file's folder)
    """
    path = (folder or Path.cwd()) / PROJECT_FILE
    if not path.is_file():
        return {}
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: not a valid project file ({e}).") from None
    except RecursionError:
        raise ConfigError(f"{path}: not a valid project file (nested too deeply).") from None
    for table, value in values.items():
        known = PROJECT_KEYS.get(table)
        if known is None or not isinstance(value, dict):
            raise ConfigError(f"{path}: unknown table [{table}] (known: {', '.join(PROJECT_KEYS)}).")
        for key, item in value.items():
            if key not in known:
                raise ConfigError(f"{path}: unknown setting {table}.{key} (known: {', '.join(known)}).")
            if not isinstance(item, known[key]) or not item:
                raise ConfigError(f"{path}: {table}.{key} must be non-empty text, not {item!r}.")
    return values | {"_folder": path.parent}


def runs_location(runs_dir: str | Path | None = None) -> Path:
    """Where the run folders live, first found wins: ``runs_dir`` (``--runs-dir``), the
    environment's ``WBGRAPH_RUNS``, ``[runs] dir`` of ``./wbgraph.toml``, else ``./runs``.

    Every command that reads or writes runs resolves it here, so ``demo``, ``train``,
    ``report`` and a scheduled job started elsewhere agree on one folder.
    """
    if runs_dir:
        return Path(runs_dir)
    if os.environ.get(RUNS_ENV):
        return Path(os.environ[RUNS_ENV]).expanduser()
    project = project_config()
    if "dir" in project.get("runs", {}):
        return project["_folder"] / Path(project["runs"]["dir"]).expanduser()
    return Path(DEFAULT_RUNS_DIR)
