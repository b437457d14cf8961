"""The rejects file and the ``--max-rejects`` limit, shared by the online ingest and the bulk importer."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..errors import InputFileError, TooManyRejects, file_access_error


def default_rejects_path(path: Path) -> Path:
    """``data.csv`` -> ``data.rejects.csv`` beside it."""
    return path.with_name(path.stem + ".rejects.csv")


class RejectsFile:
    """The rejects CSV, written a chunk at a time: created at the first reject, complete or absent.

    Rows go to a temporary file beside it, renamed when the whole input has been read, so a
    file-level error half way leaves no partial rejects file behind.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + ".partial")
        self.rows = 0
        self._file = None

    def write(self, rejects: pd.DataFrame) -> None:
        if self._file is None:
            self._file = open(self.partial, "w", encoding="utf-8", newline="")
        rejects.to_csv(self._file, index=False, header=not self.rows, lineterminator="\n")
        self.rows += len(rejects)

    def __enter__(self) -> RejectsFile:
        return self

    def __exit__(self, kind, error, tb) -> None:
        if self._file is None:
            return
        self._file.close()
        if kind is None:
            os.replace(self.partial, self.path)
        else:
            self.partial.unlink(missing_ok=True)


def refuse_too_many_rejects(summaries: list, max_rejects: int | None, where: str | None = None) -> None:
    """Raise :class:`TooManyRejects` when the files' rejects together exceed ``max_rejects`` (None: no limit).

    ``summaries``: the files' :class:`~wbgraph.loaders.ingest.IngestSummary` (``read``,
    ``rejected``, ``rejects_file``)."""
    rejected = sum(s.rejected for s in summaries)
    if max_rejects is None or rejected <= max_rejects:
        return
    where = where or ", ".join(s.rejects_file for s in summaries if s.rejects_file)
    raise TooManyRejects(
        f"{rejected} of {sum(s.read for s in summaries)} rows rejected, more than --max-rejects {max_rejects}; "
        f"nothing loaded (reasons in {where})."
    )


def read_text_table(path: Path, encoding: str, what: str) -> pd.DataFrame:
    """A small CSV (.csv, .csv.gz) or Parquet file whole, every cell as text ("" for none): a
    hierarchy or outcomes file, checked row by row; ``what`` names it in the one-line error."""
    try:
        if path.name.endswith(".parquet"):
            return pd.read_parquet(path).astype("string").fillna("").astype(object)
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
    except OSError as e:
        raise file_access_error(e) from None
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as e:
        raise InputFileError(f"{path}: cannot be read as {what} ({str(e).splitlines()[0]}).") from None


def first_reasons(checks: list[tuple[pd.Series, object]], index: pd.Index) -> pd.Series:
    """Each row's first problem ("" for none) from ``checks``, ``(failed, reason)`` pairs in order:
    a reason is a text or a Series of texts (one per row)."""
    reasons = pd.Series("", index=index, dtype=object)
    for failed, reason in reversed(checks):  # the first check's reason wins
        text = reason if isinstance(reason, pd.Series) else pd.Series(reason, index=index)
        reasons = reasons.mask(failed.fillna(False).astype(bool), text)
    return reasons


ISO_DATE = "%Y-%m-%d"  # the dates of a hierarchy or outcomes file, unless a mapping gives their format


def write_rejects(
    path: Path, rejects: str | Path | None, lines: pd.Series, reasons: pd.Series, raw: pd.DataFrame
) -> str | None:
    """Write the rows with a reason (``lineNumber``, ``reason``, then the row as read) to
    ``rejects``, else beside ``path`` (``FILE.rejects.csv``); the file written, None without rejects."""
    bad = reasons != ""
    if not bad.any():
        return None
    target = Path(rejects) if rejects else default_rejects_path(path)
    with RejectsFile(target) as out:
        out.write(pd.concat([lines[bad].rename("lineNumber"), reasons[bad].rename("reason"), raw[bad]], axis=1))
    return str(target)
