"""The writer lock: one writer per database at a time."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import neo4j
from neo4j.exceptions import ServiceUnavailable, SessionExpired

from ..config import Settings
from ..errors import ConnectionFailed, Locked
from ..progress import SILENT, Progress
from .queries import read, write
from .schema import apply_schema
from .translate import translate_errors

_HELD: dict[tuple, str] = {}  # (uri, database, thread) -> token of a lock this thread holds


@contextmanager
def writer_lock(driver: neo4j.Driver, settings: Settings, command: str, progress: Progress = SILENT) -> Iterator[dict]:
    """Hold the database's writer lock while ``command`` writes: ``with writer_lock(...)``.

    Two writers (ingest, writeback, reset, demo, ``ingest --bulk``) cannot hold it at once:
    the second gets :class:`Locked` naming the first. The lock is a node that ``db reset``
    spares and ``ingest --bulk`` puts back after replacing the store. A lock whose command
    died on this machine (its process is gone) is taken over, with a note; one left on
    another machine is cleared with ``wbgraph db unlock``. Nested use in the same thread
    (``demo`` runs ``ingest`` and ``writeback``) holds it once.
    """
    key = (settings.uri, settings.database, threading.get_ident())
    if key in _HELD:
        yield {"token": _HELD[key], "nested": True}
        return
    holder = {"command": command, "host": socket.gethostname(), "pid": os.getpid(), "token": uuid.uuid4().hex}
    take_lock(driver, settings, holder, progress)
    _HELD[key] = holder["token"]
    try:
        yield holder
    except (ServiceUnavailable, SessionExpired, ConnectionFailed):
        _HELD.pop(key, None)  # the server went away: the lock stays, and the next writer here takes it over
        raise
    except BaseException:
        _HELD.pop(key, None)
        try:
            release_lock(driver, settings, holder["token"])
        except Exception:
            pass  # the work's own error is the one to see
        raise
    _HELD.pop(key, None)
    release_lock(driver, settings, holder["token"])


def take_lock(driver: neo4j.Driver, settings: Settings, holder: dict, progress: Progress = SILENT) -> None:
    """Take the writer lock for ``holder`` (``{command, host, pid, token}``), or raise :class:`Locked`."""
    with translate_errors(settings):
        apply_schema(driver, settings)
        found = _lock_query(driver, settings, "db/lock_take", holder=holder)
        if found and found["token"] == holder["token"]:
            return
        if found and _gone(found):
            taken = _lock_query(driver, settings, "db/lock_steal", holder=holder, stale=found["token"])
            if taken and taken["token"] == holder["token"]:
                progress.say(f"Note: took over the writer lock left by {describe_holder(found)} (its process is gone).")
                return
            found = lock_holder(driver, settings) or found
    raise Locked(
        f"Database {settings.database!r} at {settings.uri} is being written by {describe_holder(found)}: "
        "wait for it to finish, or, if it is no longer running, clear its lock with `wbgraph db unlock`."
    )


def release_lock(driver: neo4j.Driver, settings: Settings, token: str) -> None:
    """Give the writer lock back if ``token`` still holds it."""
    with translate_errors(settings):
        write(driver, settings, "db/lock_release", token=token)


def lock_holder(driver: neo4j.Driver, settings: Settings) -> dict | None:
    """Who holds the writer lock: ``{command, host, pid, token, since}``, or None."""
    with translate_errors(settings):
        return _lock_read(driver, settings)


def unlock(driver: neo4j.Driver, settings: Settings) -> dict | None:
    """``wbgraph db unlock``: remove the writer lock whoever holds it; the holder removed, or None."""
    with translate_errors(settings):
        return _lock_query(driver, settings, "db/lock_clear")


def describe_holder(holder: dict | None) -> str:
    """``wbgraph writeback (pid 123 on host-a, since 2026-11-26T03:00:00Z)``."""
    if not holder:
        return "another writer"
    return (
        f"wbgraph {holder.get('command', '?')} (pid {holder.get('pid', '?')} on {holder.get('host', '?')}, "
        f"since {str(holder.get('since', '?'))[:19]})"
    )


def _lock_query(driver: neo4j.Driver, settings: Settings, name: str, **params) -> dict | None:
    records = write(driver, settings, name, **params).records
    return records[0]["holder"] if records else None


def _lock_read(driver: neo4j.Driver, settings: Settings) -> dict | None:
    records = read(driver, settings, "db/lock_holder")
    return records[0]["holder"] if records else None


def _gone(holder: dict) -> bool:
    """Whether the lock's command ran on this machine and its process no longer exists."""
    if holder.get("host") != socket.gethostname() or not isinstance(holder.get("pid"), int):
        return False
    if holder["pid"] == os.getpid():
        return False  # this process, another thread: alive
    try:
        os.kill(holder["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _zombie(holder["pid"])


def _zombie(pid: int) -> bool:
    """A killed child not yet reaped still has a pid; on Linux its state says it is dead."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False
