"""Every error wbgraph reports to its users, each with the exit status the CLI ends with.

Each is one short line for a person to read; the CLI prints it as ``Error: ...`` and exits
with the class's ``exit_code``, so scripts can tell them apart (the README lists them): 1 for
anything not listed, 2 for a usage error (click's own). The library raises these instead of
letting driver or OS exceptions escape, so no user ever sees a traceback for a problem they
can fix. No error class lives anywhere else.
"""

from os import PathLike
from pathlib import Path
from typing import Any


class WbgraphError(Exception):
    """Base class of every error wbgraph reports to its users."""

    exit_code = 1


class ConfigError(WbgraphError):
    """A setting, a config file or a rules file is missing or malformed."""


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


class MappingError(InputFileError):
    """The mapping file is unusable, or names what the data file lacks; nothing was read or written."""


class TooManyRejects(WbgraphError):
    """More rows failed validation than ``--max-rejects`` allows; nothing was loaded."""

    exit_code = 4


class NotInGraph(WbgraphError):
    """The customer, product or segment asked for is not in the graph."""

    exit_code = 8


class TargetRefused(WbgraphError):
    """The target database is not one this command may fill: ``ingest --bulk`` on a server it does
    not manage or on a database that is not empty; ``demo`` on a database holding other data."""

    exit_code = 9


class RunNotFound(WbgraphError):
    """The run folder is missing, incomplete, damaged or written in another format."""


class NotEnoughData(WbgraphError):
    """The graph holds too few interactions to train or evaluate on."""


class GateFailed(WbgraphError):
    """The model did not beat the baselines it was required to beat (``evaluate --require-beat``),
    or ``writeback --require-evaluated`` was given a run whose evaluation failed that gate."""

    exit_code = 10


class NotEvaluated(WbgraphError):
    """``writeback --require-evaluated`` was given a run that ``wbgraph evaluate`` never scored."""

    exit_code = 11


class PipelineStopped(WbgraphError):
    """A stage of ``wbgraph run`` failed: ``result`` is the run so far, the exit status that
    stage's error's (10 for the gate, so nothing was written back)."""

    def __init__(self, result: Any):
        super().__init__(f"wbgraph run stopped at {result.stopped_at}: {result.error}")
        self.result = result
        self.exit_code = result.exit_code


class Locked(WbgraphError):
    """Another wbgraph writer (ingest, writeback, reset, demo, ``ingest --bulk``) holds the
    database's writer lock; nothing was written. ``wbgraph db unlock`` clears a stale one."""

    exit_code = 13


class FileAccessError(WbgraphError):
    """A file or folder cannot be read or written: it or its folder is missing, access is refused,
    the disk is full. The CLI reports any operating-system error this way."""

    exit_code = 12


class Interrupted(WbgraphError):
    """Stopped with Ctrl-C (SIGINT); what a stage guarantees about interruption still holds."""

    exit_code = 130


def file_access_error(e: OSError) -> FileAccessError:
    """An operating-system error as one line naming the file: ``cannot use out/r.csv: No such file or directory``."""
    reason = e.strerror or type(e).__name__
    if e.filename is None:
        return FileAccessError(f"{reason} ({e})." if str(e) and str(e) != reason else f"{reason}.")
    names = f"{e.filename}" + (f" -> {e.filename2}" if e.filename2 else "")
    return FileAccessError(f"cannot use {names}: {reason}.")


def require_folder_of(path: str | PathLike, what: str) -> None:
    """Before long work whose result goes to ``path``: its folder must exist (else :class:`FileAccessError`)."""
    folder = Path(path).parent
    if not folder.is_dir():
        raise FileAccessError(f"cannot write {what} to {path}: the folder {folder} does not exist.")
