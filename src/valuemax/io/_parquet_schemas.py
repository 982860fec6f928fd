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
        as the widest (widening int32 to int64, or float to double, loses no value); and
        timestamp columns of one time zone whose unit differs (ms in some parts, µs in
        others), read in the finest unit (a finer unit loses no instant).

    Raises
    ------
    InputError
        If a part is not readable Parquet (e.g. no magic bytes at its end) or has no
        column; if a Hive ``key=value`` folder names a column the parts hold, or the parts
        sit under different folder keys (``a=1/x.parquet`` beside ``b=2/y.parquet``); if a column
        is missing from some parts (or named differently), or its type differs between
        parts in any other way (time zone, unit, text vs timestamp, integer vs float).
    """
    names = part_names(files)
    schemas = {f: _schema(f, names[f], source) for f in files}
    _check_hive_keys(schemas, names, source)
    _check_same_keys(files, names, source)
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
            notes.append(f"{source}: {shown}; read as {widened} in every part "
                         f"({_WIDENING.get(widened, _FINER)} loses no value)")
    if problems:
        more = (f"; and {len(problems) - _SHOWN} more difference(s)"
                if len(problems) > _SHOWN else "")
        raise InputError(
            f"{source}: the {len(files)} Parquet parts do not share one schema, so they "
            f"cannot be read as one log: {'; '.join(problems[:_SHOWN])}{more}. {_FIX}")
    return tuple(notes)


def check_hive_file(path: Path, source: str) -> None:
    """Refuse a single Parquet file under a Hive ``key=value`` folder whose key is also one
    of its columns (as :func:`check_parts` refuses it for parts): DuckDB would read the
    folder's value over the column's. A file under no such folder is not opened.

    Raises
    ------
    InputError
        Naming the folder key, the file and the column's type, and how to fix it.
    """
    if _hive_keys(path):
        names = part_names([path])
        _check_hive_keys({path: _schema(path, names[path], source)}, names, source)


def _check_same_keys(files: list[Path], names: dict[Path, str], source: str) -> None:
    """Refuse parts under different Hive folder keys (``a=1/x.parquet`` beside
    ``b=2/y.parquet``, or a part under no key beside parts under one): DuckDB would not
    read the keys as columns at all (or read them as NULL for some parts), so a key the
    user meant as a column would be lost without a word."""
    by_keys: dict[tuple[str, ...], list[str]] = {}
    for f in files:
        by_keys.setdefault(tuple(_hive_keys(f)), []).append(names[f])
    if len(by_keys) < 2:
        return
    groups = sorted(by_keys.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    shown = "; ".join(
        f"{'/'.join(k + '=...' for k in keys) or 'no key folder'} in {len(parts)} part(s) "
        f"({', '.join(parts[:_SHOWN])}{', ...' if len(parts) > _SHOWN else ''})"
        for keys, parts in groups[:_SHOWN])
    more = f"; and {len(groups) - _SHOWN} more" if len(groups) > _SHOWN else ""
    raise InputError(
        f"{source}: the {len(files)} Parquet parts sit under {len(by_keys)} different sets "
        f"of Hive 'key=value' folders: {shown}{more}. Expected every part under the same "
        f"folder keys (e.g. all under 'year=.../month=...'), so that each key is one column "
        f"of the log. Move the parts into one layout, or read the parts of one layout by a "
        f"glob pattern.")


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


_WIDENING = {"int64": "widening a whole-number type", "double": "widening a floating type"}
_FINER = "reading a timestamp in a finer unit"
_UNITS = ("s", "ms", "us", "ns")


def _widened(types: set) -> str | None:
    """'int64' or 'double' where every type is a signed whole number (or every type a
    float), or the finest timestamp type where every type is a timestamp of one time zone
    in different units: reading them as the widest loses nothing; None otherwise.

    Nanoseconds with a time zone are left refused: DuckDB holds a zoned timestamp in
    microseconds, so the mix would not be read in nanoseconds."""
    import pyarrow as pa

    if all(pa.types.is_signed_integer(t) for t in types):
        return "int64"
    if all(pa.types.is_floating(t) for t in types):
        return "double"
    if all(pa.types.is_timestamp(t) for t in types) and len({t.tz for t in types}) == 1:
        finest = max(types, key=lambda t: _UNITS.index(t.unit))
        if not (finest.tz and finest.unit == "ns"):
            return str(finest)
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
