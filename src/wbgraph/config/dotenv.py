"""The ``.env`` file: where it is (``WBGRAPH_DOTENV``) and what it holds, read as Neo4j's tools read it."""

from __future__ import annotations

import os
from pathlib import Path


def dotenv_path() -> Path | None:
    """The dotenv file in force: ``WBGRAPH_DOTENV`` if set (empty: none), else ``./.env``."""
    chosen = os.environ.get("WBGRAPH_DOTENV")
    if chosen is None:
        return Path.cwd() / ".env"
    return Path(chosen) if chosen else None


def read_env_file(path: Path | None) -> dict[str, str]:
    """The ``NAME=value`` pairs of a dotenv file (comments, ``export`` and quotes allowed)."""
    values: dict[str, str] = {}
    if path is None or not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        name = name.removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name] = value
    return values
