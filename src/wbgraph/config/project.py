"""A team's ``wbgraph.toml`` (in the working directory): the runs location, the training
config and the eligibility rules it may set for every command run there.

Precedence, first found wins: the command's option (``--runs-dir``, ``--config``, ``--rules``
or ``--no-rules``), then the environment (``WBGRAPH_RUNS``, for the runs location only), then
``wbgraph.toml``, then wbgraph's defaults (``./runs``, the training defaults, the shipped rules).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from ..errors import ConfigError

PROJECT_FILE = "wbgraph.toml"


RUNS_ENV = "WBGRAPH_RUNS"


DEFAULT_RUNS_DIR = "runs"


PROJECT_KEYS = {"runs": {"dir": str}, "train": {"config": str}, "rules": {"file": str}}  # what wbgraph.toml may hold


def project_config(folder: Path | None = None) -> dict:
    """The project file ``wbgraph.toml`` of ``folder`` (the working directory), checked; {} without one.

    It holds settings a team shares in its repository, never credentials::

        [runs]
        dir = "/srv/wbgraph/runs"   # where the run folders live (relative: to this file's folder)
        [train]
        config = "train.toml"       # the training config `train` and `run` use without --config
        [rules]
        file = "rules.toml"         # the rules `writeback`, `run` and `recommend` use without --rules
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


def _project_path(table: str, key: str) -> Path | None:
    """``[table] key`` of ``./wbgraph.toml`` as a path (relative: to the file's folder), or None."""
    project = project_config()
    if key not in project.get(table, {}):
        return None
    return project["_folder"] / Path(project[table][key]).expanduser()


def train_config_file(option: str | Path | None = None) -> Path | None:
    """The training config a command uses: ``--config``, else ``[train] config`` of ``wbgraph.toml``, else none."""
    return Path(option) if option else _project_path("train", "config")


def rules_file(option: str | Path | None = None, none: bool = False, default: str = "default") -> str | Path | None:
    """The eligibility rules a command applies: none with ``--no-rules``, else ``--rules``, else
    ``[rules] file`` of ``wbgraph.toml``, else ``default`` (the shipped rules)."""
    if none:
        return None
    return option or _project_path("rules", "file") or default
