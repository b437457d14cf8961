"""What a run was made with: the library versions and, in a git checkout, wbgraph's commit."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass


def environment() -> dict:
    """What a run was made with: the library versions and, in a git checkout, wbgraph's commit."""
    import platform
    import subprocess
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for name in ("wbgraph", "torch", "torch-geometric", "neo4j", "neo4j-rust-ext", "numpy", "pandas"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    commit = None
    try:  # the commit of the code that trained, when wbgraph runs from a git checkout
        here = Path(__file__).parents[1]  # the wbgraph package
        head = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        if head.returncode == 0:
            dirty = subprocess.run(
                ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no", "--", "."],
                capture_output=True,
                text=True,
                timeout=10,
            )
            commit = head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return {"versions": versions, "gitCommit": commit}
