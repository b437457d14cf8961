"""Every error wbgraph reports to its users, each with the exit status the CLI ends with.

Each is one short line for a person to read; the CLI prints it as ``Error: ...`` and exits
with the class's ``exit_code``, one meaning per status, so scripts can tell them apart: the
README's table is :func:`exit_status_table` (a test keeps them equal). The library raises
these instead of letting driver or OS exceptions escape, so no user ever sees a traceback for
a problem they can fix. No error class lives anywhere else.
"""

from os import PathLike
from pathlib import Path
from typing import Any


class WbgraphError(Exception):
    """Base class of every error wbgraph reports to its users."""

    exit_code = 1
    meaning = ""  # the README's exit-status row, for a class that brings its own status


class ConfigError(WbgraphError):
    """A setting, a config file or a rules file is missing or malformed."""

    exit_code = 1
    meaning = (
        "a setting, an option's value, a configuration or rules file is missing or malformed "
        "(the line names it); nothing done"
    )


class ConnectionFailed(WbgraphError):
    """The Neo4j server could not be reached."""

    exit_code = 5
    meaning = "Neo4j cannot be reached (or the local server is not running)"


class AuthenticationFailed(WbgraphError):
    """The Neo4j server refused the user name or password."""

    exit_code = 6
    meaning = "Neo4j refused the user name or password"


class QueryFailed(WbgraphError):
    """The Neo4j server rejected a query."""

    exit_code = 14
    meaning = (
        "a query failed: the Neo4j server rejected it (`wbgraph query`'s Cypher, a write without "
        "`--write`, an impersonation the server does not allow; the line has the server's code), or "
        "`recommend` found the customer's set being replaced at every read"
    )


class DatabaseNotFound(QueryFailed):
    """The target database does not exist on the server."""

    exit_code = 7
    meaning = "the database does not exist on the server"


class ServerError(WbgraphError):
    """The local managed Neo4j server could not be assembled, started or stopped."""

    exit_code = 15
    meaning = (
        "the local Neo4j server could not be assembled, started or stopped (Java or Maven missing, "
        "a port in use, `neo4j-admin` failed)"
    )


class MissingTool(ServerError):
    """Java or Maven, needed to run the local Neo4j server, is not installed."""


class InputFileError(WbgraphError):
    """An input file cannot be read as the expected CSV at all; nothing was loaded."""

    exit_code = 3
    meaning = "the input file cannot be read as the expected CSV, or the mapping is unusable; nothing loaded"


class MappingError(InputFileError):
    """The mapping file is unusable, or names what the data file lacks; nothing was read or written."""


class TooManyRejects(WbgraphError):
    """More rows failed validation than ``--max-rejects`` allows; nothing was loaded."""

    exit_code = 4
    meaning = "more rejected rows than `--max-rejects`; nothing loaded"


class NotInGraph(WbgraphError):
    """The customer, product or segment asked for is not in the graph."""

    exit_code = 8
    meaning = "`recommend`, `visualize`: no customer (product, segment) with that ID"


class TargetRefused(WbgraphError):
    """The target database is not one this command may fill: ``ingest --bulk`` on a server it does
    not manage or on a database that is not empty; ``demo`` on a database holding other data."""

    exit_code = 9
    meaning = (
        "the target database is not one this command may fill: `ingest --bulk` on a server it does "
        "not manage or a database that is not empty, `demo` on a database holding other customers; "
        "nothing changed"
    )


class GateFailed(WbgraphError):
    """The model did not beat the baselines it was required to beat (``evaluate --require-beat``),
    or a run that failed that gate was given where a passed one is needed (``writeback
    --require-evaluated``, ``runs promote`` without ``--force``)."""

    exit_code = 10
    meaning = (
        "the run failed its evaluation gate: `evaluate --require-beat` (the model did not beat the "
        "named baselines with evidence: the interval of the difference not above zero), `run`, "
        "`writeback --require-evaluated`, `runs promote` without `--force`; nothing written"
    )


class NotEvaluated(WbgraphError):
    """``writeback --require-evaluated`` was given a run that ``wbgraph evaluate`` never scored."""

    exit_code = 11
    meaning = "`writeback --require-evaluated`: the run was never evaluated; nothing written"


class FileAccessError(WbgraphError):
    """A file or folder cannot be read or written: it or its folder is missing, access is refused,
    the disk is full. The CLI reports any operating-system error this way."""

    exit_code = 12
    meaning = (
        "a file or folder cannot be read or written: an output's folder does not exist (checked "
        "before the work starts), access refused, disk full; the line names the file"
    )


class Locked(WbgraphError):
    """Another wbgraph writer (ingest, writeback, reset, demo, ``ingest --bulk``) holds the
    database's writer lock; nothing was written. ``wbgraph db unlock`` clears a stale one."""

    exit_code = 13
    meaning = (
        "another wbgraph writer holds the database's writer lock (`wbgraph db unlock` clears a stale "
        "one); nothing written (`db dump` and `db load`: nothing copied)"
    )


class RunNotFound(WbgraphError):
    """The run folder is missing, incomplete, damaged or written in another format."""

    exit_code = 16
    meaning = "no trained run, or the run folder named is missing, incomplete, damaged or of another format"


class NotEnoughData(WbgraphError):
    """The graph holds too few interactions to train or evaluate on."""

    exit_code = 17
    meaning = "`train`, `evaluate`: too little data to hold anything out (or nothing to validate on before the cutoff)"


class NotWrittenBack(WbgraphError):
    """``writeback --only-new`` was given a run that was never written back: it has no segments to join."""

    exit_code = 18
    meaning = "`writeback --only-new`: the run was never written back (it tops up a writeback); nothing written"


class Declined(WbgraphError):
    """A confirmation the command asks for (``db reset``, ``db load``, ``forget`` without ``--yes``) was declined."""

    exit_code = 19
    meaning = "a confirmation was declined or not answered (`--yes` answers it; `--json` never does); nothing done"


class TooMuchChurn(WbgraphError):
    """A writeback with ``--max-churn X`` would change the customers' sets more than X: their mean
    overlap with the sets in the graph is below 1 - X."""

    exit_code = 20
    meaning = (
        "`--max-churn`: the new sets would change more than allowed (their mean overlap@k with the current "
        "ones is below 1 - X); nothing written back"
    )


class PipelineStopped(WbgraphError):
    """A stage of ``wbgraph run`` failed: ``result`` is the run so far, the exit status that
    stage's error's (10 for the gate, so nothing was written back)."""

    def __init__(self, result: Any):
        super().__init__(f"wbgraph run stopped at {result.stopped_at}: {result.error}")
        self.result = result
        self.exit_code = result.exit_code


class Interrupted(WbgraphError):
    """Stopped with Ctrl-C (SIGINT); what a stage guarantees about interruption still holds."""

    exit_code = 130
    meaning = (
        "interrupted with Ctrl-C; each stage's guarantees about interruption hold (ingest reruns heal, "
        "writeback leaves complete sets)"
    )


# statuses that are not wbgraph errors
OTHER_STATUSES = {
    0: "done (for `ingest`: every row loaded or quarantined as designed)",
    2: "wrong usage of the command (click's own)",
    141: "the reader of stdout went away (`wbgraph query ... \\| head`); nothing more is printed",
}


def exit_statuses() -> dict[int, str]:
    """Every exit status and its one meaning: each error class that brings its own status, and
    the statuses that are not errors of wbgraph's."""
    found, seen = dict(OTHER_STATUSES), [WbgraphError]
    while seen:
        cls = seen.pop()
        seen += cls.__subclasses__()
        if "meaning" in cls.__dict__ and cls.meaning:
            assert cls.exit_code not in found, f"exit status {cls.exit_code} has two meanings"
            found[cls.exit_code] = cls.meaning
    return dict(sorted(found.items()))


def exit_status_table() -> str:
    """The README's exit-status table (Markdown), from :func:`exit_statuses`."""
    rows = [f"| {status} | {meaning} |" for status, meaning in exit_statuses().items()]
    return "\n".join(["| status | meaning |", "|---|---|", *rows])


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
