"""Checking that Parquet parts can be read as one log, before any data is read.

``read_parquet(..., union_by_name=true)`` reads parts of different schemas without a word:
it unifies time zones (shifting days), fills a column missing from a part with NULLs, and
lets a Hive ``key=value`` folder overwrite a column of the same name. :func:`check_parts`
reads each part's schema from its footer (``pyarrow.parquet.read_schema``: no data) and
refuses such sets of parts, naming the parts and the difference.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

from valuemax._core.exceptions import InputError

#: Differences shown in one message (the rest counted).
_SHOWN = 3
_FIX = ("Re-export the parts with one schema (the same column names and types, and the same "
        "time zone, in every part), or read the parts that agree by a glob pattern.")


def part_names(files: list[Path]) -> dict[Path, str]:
    """Each part's path relative to the folder the parts share (for one part: its folder's
    name and its name)."""
    if len(files) == 1:  # with its folder: a Hive 'key=value' folder is in the message
        return {files[0]: f"{files[0].parent.name}/{files[0].name}"}
    root = os.path.commonpath([str(p.parent) for p in files])
    return {p: Path(os.path.relpath(p, root)).as_posix() for p in files}


def check_parts(files: list[Path], source: str) -> tuple[str, ...]:
    """Refuse parts that cannot be read as one log; the notes of what was accepted.

    Parameters
    ----------
    files : list of Path
        The Parquet parts (at least one), in reading order.
    source : str
        The folder or pattern as the user wrote it, for messages.

    Returns
    -------
    tuple of str
        Notes: columns whose whole-number (or floating) type differs between parts, read
        as the widest (widening int32 to int64, or float to double, loses no value).

    Raises
    ------
    InputError
        If a part is not readable Parquet (e.g. no magic bytes at its end) or has no
        column; if a Hive ``key=value`` folder names a column the parts hold; if a column
        is missing from some parts (or named differently), or its type differs between
        parts in any other way (time zone, unit, text vs timestamp, integer vs float).
    """
    names = part_names(files)
    schemas = {f: _schema(f, names[f], source) for f in files}
    _check_hive_keys(schemas, names, source)
    problems = _missing_columns(schemas, names)
    notes: list[str] = []
    for column in dict.fromkeys(n for s in schemas.values() for n in s.names):
        types = {f: _logical(s.field(column).type) for f, s in schemas.items()
                 if column in s.names}
        if len(set(types.values())) == 1:
            continue
        widened = _widened(set(types.values()))
        shown = _type_difference(column, types, names)
        if widened is None:
            problems.append(shown)
        else:
            notes.append(f"{source}: {shown}; read as {widened} in every part (widening a "
                         f"{'whole-number' if widened == 'int64' else 'floating'} type "
                         f"loses no value)")
    if problems:
        more = (f"; and {len(problems) - _SHOWN} more difference(s)"
                if len(problems) > _SHOWN else "")
        raise InputError(
            f"{source}: the {len(files)} Parquet parts do not share one schema, so they "
            f"cannot be read as one log: {'; '.join(problems[:_SHOWN])}{more}. {_FIX}")
    return tuple(notes)


def _schema(path: Path, name: str, source: str) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{source}: the part {name!r} could not be read as Parquet "
                         f"({first}); a damaged or unfinished export. Remove it or export "
                         f"again.") from exc
    if len(schema) == 0:
        raise InputError(f"{source}: the part {name!r} has no columns; expected the log's "
                         f"columns in every part. Remove it or export again.")
    return schema


def _hive_keys(path: Path) -> list[str]:
    """The keys of the Hive ``key=value`` folders above a part (as DuckDB reads them)."""
    return [d.split("=", 1)[0] for d in path.parent.parts if "=" in d]


def _check_hive_keys(schemas: dict, names: dict[Path, str], source: str) -> None:
    """Refuse a ``key=value`` folder whose key is also a column of the part under it.

    DuckDB (and Spark) would take the folder's value over the file's column, silently:
    folders ``customer_id=X0/`` turn every customer of the files into 'X0', monthly
    folders ``date=2023-04/`` over full timestamps lose the days. Keeping the file's
    column instead would make the same folder read differently here than in those tools,
    so neither is chosen silently: the user renames the folder key or drops the column.
    """
    for f, schema in schemas.items():
        clash = [k for k in _hive_keys(f) if k in schema.names]
        if clash:
            key = clash[0]
            raise InputError(
                f"{source}: the folder key {key!r} (a Hive '{key}=...' folder) is also a "
                f"column of the part {names[f]!r} ({schema.field(key).type}); reading "
                f"both, the folder's value would overwrite the column's values. Rename the "
                f"folder key (e.g. '{key}_part=...') or export the parts without the "
                f"column {key!r}.")


def _missing_columns(schemas: dict, names: dict[Path, str]) -> list[str]:
    """One line per column absent from some parts."""
    counts = Counter(n for s in schemas.values() for n in s.names)
    total, out = len(schemas), []
    for column, n in counts.items():
        if n == total:
            continue
        lacking = [names[f] for f, s in schemas.items() if column not in s.names]
        if len(lacking) <= n:
            shown = ", ".join(lacking[:_SHOWN]) + (", ..." if len(lacking) > _SHOWN else "")
            out.append(f"{shown} {'has' if len(lacking) == 1 else 'have'} no column "
                       f"{column!r} that the other {n} part(s) have")
        else:
            having = [names[f] for f, s in schemas.items() if column in s.names]
            shown = ", ".join(having[:_SHOWN]) + (", ..." if len(having) > _SHOWN else "")
            out.append(f"the column {column!r} is only in {shown}, not in the other "
                       f"{len(lacking)} part(s)")
    return out


def _logical(t: Any) -> Any:
    """The type as read: dictionary-encoded and large/view variants are the same values."""
    import pyarrow as pa

    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    return t


def _widened(types: set) -> str | None:
    """'int64' or 'double' where every type is a signed whole number (or every type a
    float): reading them as the widest loses nothing; None otherwise."""
    import pyarrow as pa

    if all(pa.types.is_signed_integer(t) for t in types):
        return "int64"
    if all(pa.types.is_floating(t) for t in types):
        return "double"
    return None


def _type_difference(column: str, types: dict, names: dict[Path, str]) -> str:
    """"'c' is T1 in a.parquet but T2 in b.parquet (and T3 in ...)" (the most common type
    last)."""
    by_type: dict = {}
    for f, t in types.items():
        by_type.setdefault(str(t), []).append(names[f])
    ordered = sorted(by_type.items(), key=lambda kv: len(kv[1]))
    shown = [f"{t} in {', '.join(fs[:_SHOWN])}{', ...' if len(fs) > _SHOWN else ''}"
             for t, fs in ordered]
    rest = shown[1:]
    tail = f"{', '.join(rest[:-1])} and {rest[-1]}" if len(rest) > 1 else rest[0]
    return f"{column!r} is {shown[0]} but {tail}"
