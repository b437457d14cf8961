"""The errors wbgraph reports to its users.

Each is one short line for a person to read; the CLI prints it as ``Error: ...`` and exits
non-zero. The library raises these instead of letting driver or OS exceptions escape, so no
user ever sees a traceback for a problem they can fix.
"""


class WbgraphError(Exception):
    """Base class of every error wbgraph reports to its users."""


class ConfigError(WbgraphError):
    """A setting is missing or malformed."""


class ConnectionFailed(WbgraphError):
    """The Neo4j server could not be reached."""


class AuthenticationFailed(WbgraphError):
    """The Neo4j server refused the user name or password."""


class QueryFailed(WbgraphError):
    """The Neo4j server rejected a query."""


class ServerError(WbgraphError):
    """The local managed Neo4j server could not be assembled, started or stopped."""


class MissingTool(ServerError):
    """Java or Maven, needed to run the local Neo4j server, is not installed."""
