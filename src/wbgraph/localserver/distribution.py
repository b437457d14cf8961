"""Neo4j's jars, fetched once from Maven Central with the ordinary Maven client and cached.

The cache (``$WBGRAPH_CACHE``, default ``~/.cache/wbgraph``) holds one folder per Neo4j
version with ``lib/`` (server, HTTP server, Browser, bootloaders, admin tool). A folder is
used only once complete, so an interrupted download is simply redone. No plugin is
assembled: no statement of wbgraph needs one (APOC was, until it turned out to break Bolt
TLS on this class path); each server's own ``plugins/`` folder takes any you add.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import MissingTool, ServerError
from ..progress import SILENT, Progress

NEO4J_VERSION = "5.26.30"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

ALTERNATIVES = (
    "Either install them, or run Neo4j with Docker (docker compose -f docker/compose.yaml up -d), "
    "or point NEO4J_URI (and NEO4J_PASSWORD) at an existing Neo4j server."
)


@dataclass(frozen=True)
class Distribution:
    """An assembled Neo4j: the server's class path folder."""

    version: str
    lib: Path

    @property
    def classpath(self) -> str:
        return str(self.lib / "*")


def default_cache() -> Path:
    """Where downloads are cached: ``$WBGRAPH_CACHE`` or ``$XDG_CACHE_HOME/wbgraph``."""
    if os.environ.get("WBGRAPH_CACHE"):
        return Path(os.environ["WBGRAPH_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "wbgraph"


def java_executable() -> str:
    """The ``java`` to run Neo4j with (``$JAVA_HOME`` first), checked to be version 17 or later."""
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise MissingTool("Java 17 or later is needed to run the local Neo4j server and was not found. " + ALTERNATIVES)
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    major = int(match.group(1)) if match else 0
    if major == 1 and match and match.group(2):  # "1.8.0" style
        major = int(match.group(2))
    if major < 17:
        raise MissingTool(
            f"Neo4j {NEO4J_VERSION} needs Java 17 or later; {java} is Java {major or 'unknown'}. " + ALTERNATIVES
        )
    return java


def ensure_distribution(cache: Path | None = None, progress: Progress = SILENT) -> Distribution:
    """The cached Neo4j distribution, assembled with Maven first if it is not there yet."""
    root = (cache or default_cache()) / f"neo4j-{NEO4J_VERSION}"
    dist = Distribution(NEO4J_VERSION, root / "lib")
    if (root / ".complete").exists():
        shutil.rmtree(root / "plugins", ignore_errors=True)  # the APOC that earlier wbgraph versions assembled
        return dist
    mvn = shutil.which("mvn")
    if not mvn:
        raise MissingTool(
            "Maven (mvn) is needed once to assemble the local Neo4j server and was not found. " + ALTERNATIVES
        )
    progress.say(f"Assembling Neo4j {NEO4J_VERSION} from Maven Central into {root} (first time only)...")
    root.mkdir(parents=True, exist_ok=True)
    _copy_dependencies(mvn, root, "server.pom.xml", dist.lib)
    (root / ".complete").write_text(NEO4J_VERSION + "\n")
    return dist


def _copy_dependencies(mvn: str, root: Path, pom_name: str, target: Path) -> None:
    pom = root / pom_name
    pom.write_bytes(resources.files(__package__).joinpath("maven", pom_name).read_bytes())
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    log = root / "maven.log"
    with log.open("a") as out:
        done = subprocess.run(
            [
                mvn,
                "-B",
                "-f",
                str(pom),
                f"{DEPENDENCY_PLUGIN}:copy-dependencies",
                f"-DoutputDirectory={partial}",
                "-DincludeScope=runtime",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=root,
        )
    if done.returncode != 0:
        errors = [line for line in log.read_text().splitlines() if line.startswith("[ERROR]")]
        reason = errors[0].removeprefix("[ERROR]").strip() if errors else f"exit status {done.returncode}"
        raise ServerError(f"Maven could not fetch Neo4j's artifacts ({reason}); full log: {log}")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
