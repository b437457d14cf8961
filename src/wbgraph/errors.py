"""The errors wbgraph reports to its users.

Each is one short line for a person to read; the CLI prints it as ``Error: ...`` and exits
non-zero. The library raises these instead of letting driver or OS exceptions escape, so no
user ever sees a traceback for a problem they can fix.

Each error class carries the exit status the CLI ends with, so scripts can tell them apart
(the README lists them): 1 for anything not listed, 2 for a usage error (click's own).
"""


class WbgraphError(Exception):
    """Base class of every error wbgraph reports to its users."""

    exit_code = 1


class ConfigError(WbgraphError):
    """A setting is missing or malformed."""


class ConnectionFailed(WbgraphError):
    """The Neo4j server could not be reached."""

    exit_code = 5


class AuthenticationFailed(WbgraphError):
    """The Neo4j server refused the user name or password."""

    exit_code = 6


class QueryFailed(WbgraphError):
    """The Neo4j server rejected a query."""


class DatabaseNotFound(QueryFailed):
    """The target database does not exist on the server."""

    exit_code = 7


class ServerError(WbgraphError):
    """The local managed Neo4j server could not be assembled, started or stopped."""


class MissingTool(ServerError):
    """Java or Maven, needed to run the local Neo4j server, is not installed."""


class InputFileError(WbgraphError):
    """An input file cannot be read as the expected CSV at all; nothing was loaded."""

    exit_code = 3


class TooManyRejects(WbgraphError):
    """More rows failed validation than ``--max-rejects`` allows; nothing was loaded."""

    exit_code = 4


class TargetRefused(WbgraphError):
    """The target database is not one this command may fill: ``ingest --bulk`` on a server it does
    not manage or on a database that is not empty; ``demo`` on a database holding other data."""

    exit_code = 9
