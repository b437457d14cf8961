"""Connection settings, resolved the way Neo4j's own tools do.

Order of precedence, first found wins:

1. options on the ``wbgraph`` command (``--uri``, ``--user``, ``--database``);
2. the environment: ``NEO4J_URI``, ``NEO4J_USERNAME``, ``NEO4J_PASSWORD``, ``NEO4J_DATABASE``;
3. a ``.env`` file in the working directory (git-ignored; same names);
4. the local managed server (``wbgraph db start``) as user ``neo4j`` with its generated
   password file; ``NEO4J_USERNAME`` and ``NEO4J_PASSWORD`` apply only with a URI, so the
   credentials of some other server in the environment never leak into the local one.

The password is never taken from a command-line option: options are visible to every user
of the machine through ``ps``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError

DEFAULT_DATABASE = "neo4j"
DEFAULT_USER = "neo4j"
SUPPORTED_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")
ENV_NAMES = ("NEO4J_URI", "NEO4J_USERNAME", "NEO4J_PASSWORD", "NEO4J_DATABASE")


@dataclass(frozen=True)
class Settings:
    """Where and as whom to connect. ``local`` is true for the managed local server."""

    uri: str
    user: str
    password: str = field(repr=False)
    database: str = DEFAULT_DATABASE
    local: bool = False

    def __post_init__(self):
        scheme = self.uri.split("://", 1)[0] if "://" in self.uri else ""
        if scheme not in SUPPORTED_SCHEMES:
            raise ConfigError(
                f"Unsupported Neo4j URI {self.uri!r}: use one of "
                + ", ".join(s + "://" for s in SUPPORTED_SCHEMES)
            )


def read_env_file(path: Path) -> dict[str, str]:
    """The ``NAME=value`` pairs of a dotenv file (comments, ``export`` and quotes allowed)."""
    values: dict[str, str] = {}
    if not path.is_file():
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


def uses_local_server(uri: str | None = None, env_file: Path | None = None) -> bool:
    """True when no server is configured (option, NEO4J_URI or ``.env``): the local server is the target."""
    env = read_env_file(env_file if env_file is not None else Path.cwd() / ".env")
    return not (uri or os.environ.get("NEO4J_URI") or env.get("NEO4J_URI"))


def resolve_settings(
    uri: str | None = None,
    user: str | None = None,
    database: str | None = None,
    environ: dict[str, str] | None = None,
    env_file: Path | None = None,
) -> Settings:
    """The connection settings in force, from options, environment, ``.env`` or the local server."""
    env = dict(read_env_file(env_file if env_file is not None else Path.cwd() / ".env"))
    env.update({k: v for k, v in (os.environ if environ is None else environ).items() if k in ENV_NAMES})

    uri = uri or env.get("NEO4J_URI")
    database = database or env.get("NEO4J_DATABASE") or DEFAULT_DATABASE
    if uri:
        password = env.get("NEO4J_PASSWORD")
        if password is None:
            raise ConfigError(f"NEO4J_URI is {uri} but NEO4J_PASSWORD is not set (environment or .env).")
        return Settings(uri, user or env.get("NEO4J_USERNAME") or DEFAULT_USER, password, database)

    from .localserver import LocalServer  # the local server is the default target

    server = LocalServer()
    return Settings(server.bolt_uri, user or DEFAULT_USER, server.read_password(), database, local=True)
