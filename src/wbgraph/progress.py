"""What every stage reports: progress while it works, phase times and a summary when it ends.

One protocol for all of them. A library function takes ``progress: Progress`` (default
:data:`SILENT`) and calls ``progress.say(message)`` for a step without a count, and
``with progress.task(description, unit) as update: update(done, total)`` for a counted one.
The CLI passes its rich bars (:class:`wbgraph.cli.common.Bars`); ``--silent`` and ``--json``
pass :data:`SILENT`. A notebook may pass its own object with the same two methods.

Summaries are dataclasses with snake_case fields in Python and one :meth:`Summary.to_json`
that gives camelCase keys, the style of the graph and of every ``--json`` output.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any, Protocol

Update = Callable[[int, "int | None"], None]


class Progress(Protocol):
    """How a long-running library function tells its caller what it is doing."""

    def say(self, message: str) -> None:
        """A step begins that has no count (e.g. "Stopping Neo4j")."""

    def task(self, description: str, unit: str = "rows") -> Any:
        """A context manager yielding ``update(done, total)`` for a counted step."""


class Silent:
    """Progress that shows nothing."""

    def say(self, message: str) -> None:
        pass

    @contextmanager
    def task(self, description: str, unit: str = "rows") -> Iterator[Update]:
        yield lambda done, total=None: None


SILENT = Silent()


class Phases:
    """A stopwatch per phase: ``with phases("write"): ...``; :meth:`seconds` rounds them for a summary."""

    def __init__(self) -> None:
        self.began = time.perf_counter()
        self._seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        pause_point(name)
        mark = time.perf_counter()
        try:
            yield
        finally:
            self._seconds[name] = self._seconds.get(name, 0.0) + time.perf_counter() - mark

    def __getitem__(self, name: str) -> float:
        return self._seconds[name]

    def seconds(self, digits: int = 3) -> dict[str, float]:
        return {name: round(value, digits) for name, value in self._seconds.items()}

    @property
    def total(self) -> float:
        """Seconds since the stopwatch was made."""
        return time.perf_counter() - self.began


PAUSE_AT = "WBGRAPH_PAUSE_AT"  # fault-injection hook: the phase to pause in (tests only)
PAUSE_FILE = "WBGRAPH_PAUSE_FILE"  # ... and the file that says "paused" while it exists
_paused: set[str] = set()


def pause_point(name: str) -> None:
    """A place a test can hold the process: the start of phase ``name``, and ``name+1`` after its first batch.

    With ``WBGRAPH_PAUSE_AT=name`` and ``WBGRAPH_PAUSE_FILE=path`` in the environment, the
    first time the process reaches that point it writes its pid to ``path`` and waits
    while the file exists: the test then kills the process (or the server), or deletes the
    file to let it go on. So kill tests put the process in a phase without racing it.
    Without those variables this does nothing.
    """
    if os.environ.get(PAUSE_AT) != name or name in _paused or not os.environ.get(PAUSE_FILE):
        return
    _paused.add(name)
    flag = Path(os.environ[PAUSE_FILE])
    flag.write_text(str(os.getpid()))
    while flag.exists():
        time.sleep(0.02)


def camel(name: str) -> str:
    """``rows_per_second`` -> ``rowsPerSecond``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class Summary:
    """A dataclass mixin: one JSON shape for every summary (camelCase keys, derived figures included).

    ``derived`` names properties to add to the JSON (``rows_per_second`` -> ``rowsPerSecond``).
    """

    derived: tuple[str, ...] = ()

    def to_json(self) -> dict:
        out = {camel(f.name): _jsonable(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]
        for name in self.derived:
            value = getattr(self, name)
            out[camel(name)] = round(value, 1) if isinstance(value, float) else value
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, Summary):
        return value.to_json()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
