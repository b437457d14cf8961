"""Where and as whom to connect: :class:`Settings`, resolved by :func:`resolve_settings`.

Connection settings are resolved the way Neo4j's own tools do.

Order of precedence, first found wins:

1. options on the ``wbgraph`` command (``--uri``, ``--user``, ``--database``,
   ``--password-file``, ``--trusted-ca``, ``--impersonate``);
2. the environment: ``NEO4J_URI``, ``NEO4J_USERNAME``, ``NEO4J_PASSWORD`` or
   ``NEO4J_PASSWORD_FILE`` (a file holding it; not both), ``NEO4J_DATABASE``,
   ``NEO4J_TRUSTED_CA``;
3. a ``.env`` file in the working directory (git-ignored; same names); ``WBGRAPH_DOTENV``
   names another file, or, set empty, turns ``.env`` off (the test suite does);
4. for the password only: a hidden prompt, when the caller passes one (the CLI does when a
   terminal is attached);
5. the local managed server (``wbgraph db start``) as user ``neo4j`` with its generated
   password file; the user, password and CA settings apply only with a URI, so the
   credentials of some other server in the environment never leak into the local one.

The password itself is never taken from a command-line option: options are visible to
every user of the machine through ``ps``. ``trusted_ca`` (a PEM file of certificate
authorities) is for ``+s`` schemes whose server certificate an internal CA signed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from .dotenv import dotenv_path, read_env_file

DEFAULT_DATABASE = "neo4j"


DEFAULT_USER = "neo4j"


SUPPORTED_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")


ENV_NAMES = (
    "NEO4J_URI",
    "NEO4J_USERNAME",
    "NEO4J_PASSWORD",
    "NEO4J_PASSWORD_FILE",
    "NEO4J_DATABASE",
    "NEO4J_TRUSTED_CA",
)


@dataclass(frozen=True)
class Settings:
    """Where and as whom to connect. ``local`` is true for the managed local server.

    ``trusted_ca``: a PEM file of the certificate authorities to trust instead of the
    system's (``+s`` schemes only); ``impersonate``: run every query as this user (servers
    that allow impersonation: Neo4j Enterprise and Aura).
    """

    uri: str
    user: str
    password: str = field(repr=False)
    database: str = DEFAULT_DATABASE
    local: bool = False
    trusted_ca: str | None = None
    impersonate: str | None = None

    def __post_init__(self):
        scheme = self.scheme
        if scheme not in SUPPORTED_SCHEMES:
            raise ConfigError(
                f"Unsupported Neo4j URI {self.uri!r}: use one of " + ", ".join(s + "://" for s in SUPPORTED_SCHEMES)
            )
        if self.trusted_ca and not scheme.endswith("+s"):
            raise ConfigError(
                f"A trusted CA file applies to the +s schemes (neo4j+s://, bolt+s://), not to {self.uri!r}."
            )

    @property
    def scheme(self) -> str:
        return self.uri.split("://", 1)[0] if "://" in self.uri else ""


def uses_local_server(uri: str | None = None, env_file: Path | None = None) -> bool:
    """True when no server is configured (option, NEO4J_URI or ``.env``): the local server is the target."""
    env = read_env_file(env_file if env_file is not None else dotenv_path())
    return not (uri or os.environ.get("NEO4J_URI") or env.get("NEO4J_URI"))


def resolve_settings(
    uri: str | None = None,
    user: str | None = None,
    database: str | None = None,
    environ: dict[str, str] | None = None,
    env_file: Path | None = None,
    *,
    password_file: str | Path | None = None,
    trusted_ca: str | Path | None = None,
    impersonate: str | None = None,
    prompt: Callable[[str], str] | None = None,
) -> Settings:
    """The connection settings in force, from options, environment, ``.env``, a prompt or the local server.

    ``prompt`` (e.g. a hidden terminal prompt) is asked for the password only when a URI is
    set and neither ``password_file``, ``NEO4J_PASSWORD`` nor ``NEO4J_PASSWORD_FILE`` is.
    """
    env = dict(read_env_file(env_file if env_file is not None else dotenv_path()))
    env.update({k: v for k, v in (os.environ if environ is None else environ).items() if k in ENV_NAMES})

    uri = uri or env.get("NEO4J_URI")
    database = database or env.get("NEO4J_DATABASE") or DEFAULT_DATABASE
    if uri:
        user = user or env.get("NEO4J_USERNAME") or DEFAULT_USER
        password = _password(uri, user, env, password_file, prompt)
        trusted_ca = trusted_ca or env.get("NEO4J_TRUSTED_CA") or None
        if trusted_ca and not Path(trusted_ca).is_file():
            raise ConfigError(f"The trusted CA file {trusted_ca} does not exist (--trusted-ca or NEO4J_TRUSTED_CA).")
        return Settings(
            uri,
            user,
            password,
            database,
            trusted_ca=str(trusted_ca) if trusted_ca else None,
            impersonate=impersonate,
        )

    from ..localserver import LocalServer  # the local server is the default target

    server = LocalServer()
    password = server.read_password()
    return Settings(server.bolt_uri, user or DEFAULT_USER, password, database, local=True, impersonate=impersonate)


def _password(
    uri: str, user: str, env: dict[str, str], password_file: str | Path | None, prompt: Callable[[str], str] | None
) -> str:
    """The password for a configured server: ``password_file``, else the environment's
    ``NEO4J_PASSWORD`` or ``NEO4J_PASSWORD_FILE`` (not both), else the prompt."""
    if not password_file:
        if "NEO4J_PASSWORD" in env and env.get("NEO4J_PASSWORD_FILE"):
            raise ConfigError("Both NEO4J_PASSWORD and NEO4J_PASSWORD_FILE are set: keep one of them.")
        if "NEO4J_PASSWORD" in env:
            return env["NEO4J_PASSWORD"]
        password_file = env.get("NEO4J_PASSWORD_FILE") or None
    if password_file:
        try:
            text = Path(password_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            reason = getattr(e, "strerror", None) or type(e).__name__
            raise ConfigError(f"Cannot read the password file {password_file} ({reason}).") from None
        password = text.rstrip("\r\n")  # a file ends with a newline; the password does not
        if not password:
            raise ConfigError(f"The password file {password_file} is empty.")
        return password
    if prompt is not None:
        return prompt(f"Password for {user} at {uri}: ")
    raise ConfigError(
        f"NEO4J_URI is {uri} but no password is set: NEO4J_PASSWORD or NEO4J_PASSWORD_FILE "
        "(environment or .env), or --password-file."
    )
