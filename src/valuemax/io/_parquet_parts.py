"""A log exported as many Parquet files: a folder of parts or a glob pattern.

Warehouses and Spark write a large table as a folder of part files
(``part-00000-....snappy.parquet``, possibly under Hive-style ``key=value`` sub-folders,
beside ``_SUCCESS`` and ``.crc`` markers). :func:`parquet_parts` turns such a folder, or a
pattern such as ``exports/orders-*.parquet``, into the sorted list of its Parquet files,
which ``_sources.load_parquet`` reads in one DuckDB scan (streamed, never whole in Python).
"""

from __future__ import annotations

import glob
import hashlib
import os
from pathlib import Path
from typing import NamedTuple

from valuemax._core.exceptions import InputError
from valuemax.io._encoding import file_sha256

#: Extensions of a Parquet part (Spark's ``.snappy.parquet`` ends in ``.parquet``).
PARQUET_SUFFIXES = (".parquet", ".pq")
_GLOB_CHARS = ("*", "?", "[")


def _hidden(rel: Path) -> bool:
    """A marker or temporary entry: a path component starting with ``_`` or ``.``
    (``_SUCCESS``, ``_committed_*``, ``_temporary/``, ``.part-0.crc``), as Spark and
    Hive skip them."""
    return any(part.startswith(("_", ".")) for part in rel.parts)


class Parts(NamedTuple):
    """The Parquet files of a folder or a pattern, and the marker files skipped."""

    files: list[Path]
    #: Marker and hidden files skipped (``_SUCCESS``, ``.crc``, names starting ``_``/``.``).
    skipped: int


def parquet_parts(path: Path, label: str) -> Parts | None:
    """The Parquet files a folder or a glob pattern names, sorted by path.

    Parameters
    ----------
    path : Path
        A folder (searched recursively, markers and hidden entries skipped), a glob pattern
        that names no existing path (``*``, ``?``, ``[...]``; ``**`` crosses folders;
        files named like markers skipped), or anything else.
    label : str
        The source as the user wrote it, for messages.

    Returns
    -------
    Parts or None
        The parts in path order (that order numbers the lines, ``_row_id``) and how many
        marker files were skipped; None when ``path`` is neither a folder nor a pattern
        (a single file, or nothing).

    Raises
    ------
    InputError
        If the folder or the pattern holds no file, or holds files that are not Parquet
        (naming how many and the first ones), or empty (0-byte) files.
    """
    if path.is_dir():
        files = [p for p in path.rglob("*") if p.is_file()]
        found = sorted(p for p in files if not _hidden(p.relative_to(path)))
        what = f"the folder {label!r}"
    elif not path.exists() and any(c in str(path) for c in _GLOB_CHARS):
        files = [Path(p) for p in glob.glob(str(path), recursive=True) if os.path.isfile(p)]
        found = sorted(p for p in files if not _hidden(Path(p.name)))
        what = f"the pattern {label!r}"
    else:
        return None
    if not found:
        raise InputError(f"{what} names no file; expected Parquet files (*.parquet) in it. "
                         f"Check the path.")
    others = [p for p in found if not p.name.lower().endswith(PARQUET_SUFFIXES)]
    if others:
        shown = ", ".join(repr(str(p)) for p in others[:3])
        raise InputError(
            f"{what} holds {len(others)} file(s) that are not Parquet ({shown}"
            f"{', ...' if len(others) > 3 else ''}); a folder or a pattern is read as the "
            f"Parquet parts of one log (*.parquet). Pass a single CSV/Excel/JSON file by its "
            f"path, or move the other files out.")
    empty = [p for p in found if p.stat().st_size == 0]
    if empty:
        raise InputError(f"{what}: {len(empty)} Parquet file(s) are empty (0 bytes), e.g. "
                         f"{str(empty[0])!r}; an export still being written, or a failed "
                         f"one. Remove them or export again.")
    return Parts(found, len(files) - len(found))


def parts_sha256(files: list[Path]) -> str:
    """The hex SHA-256 of a set of parts: each part's path relative to their common folder
    and the SHA-256 of its bytes, in order (renaming or changing any part changes it)."""
    root = Path(os.path.commonpath([str(p.resolve()) for p in files]))
    if len(files) == 1:
        root = root.parent
    digest = hashlib.sha256()
    for p in files:
        digest.update(f"{p.resolve().relative_to(root).as_posix()}\0"
                      f"{file_sha256(p)}\n".encode())
    return digest.hexdigest()
