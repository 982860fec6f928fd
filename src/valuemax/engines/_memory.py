"""DuckDB's memory limit read back, and work split by a key into passes that fit under it.

Most of DuckDB's operators spill to disk past ``memory_limit`` (hash aggregates, hash
joins, sorts), but some hold their whole input in memory: a window function's partitions
(``LAG``/``ROW_NUMBER() OVER (PARTITION BY ...)``), list aggregates (``LIST``/``collect``)
and a grouped aggregate's ``COUNT(DISTINCT ...)`` (DuckDB 1.4) among them. Over every line of a 30M-line log such an operator needs more than the store's
limit. When its result for one key (a customer, a basket) depends on that key's lines
only, the lines can go through it in passes, each over the keys that hash to the pass's
number (:func:`hash_pass`): every key's lines are in exactly one pass, so the union of
the passes is the result of one query over every line, row for row, and each pass needs
memory for its share of the lines only.
"""

from __future__ import annotations

import math
import re

import ibis
import ibis.expr.types as ir

#: Units DuckDB writes a memory size in (``current_setting('memory_limit')`` gives
#: e.g. ``1.3 GiB``) or accepts (``1.5GB``), in bytes.
_UNITS = {"": 1, "b": 1, "byte": 1, "bytes": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9,
          "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)


def parse_size(text: str) -> int | None:
    """Bytes of a memory size as DuckDB writes or reads it, None when it is not one.

    Examples
    --------
    >>> parse_size("1.5GB"), parse_size("1.3 GiB"), parse_size("512 MiB")
    (1500000000, 1395864371, 536870912)
    >>> parse_size("lots") is None
    True
    """
    m = _SIZE.match(str(text))
    if m is None or m.group(2).lower() not in _UNITS:
        return None
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def memory_limit_bytes(expr: ir.Expr) -> int | None:
    """DuckDB's ``memory_limit`` of the connection holding ``expr``, in bytes; None for
    another backend (or an unbound expression)."""
    try:
        con = ibis.get_backend(expr)
    except Exception:  # a memtable: no backend yet
        return None
    if getattr(con, "name", None) != "duckdb":
        return None
    got = con.raw_sql("SELECT current_setting('memory_limit')").fetchone()
    return None if got is None else parse_size(got[0])


def hash_passes(lines: ir.Table, bytes_per_line: int) -> int:
    """How many passes (>= 1) put each pass's lines at ``bytes_per_line`` under the
    connection's memory limit: ``ceil(lines * bytes_per_line / memory_limit)``; 1 for a
    backend other than DuckDB (whose operators are not bounded this way) or an empty table.

    Parameters
    ----------
    lines : ibis.Table
        The rows the operator reads (counted: one ``count(*)``, read from a stored table's
        metadata).
    bytes_per_line : int
        Memory the operator needs per row, measured (the callers say how).
    """
    limit = memory_limit_bytes(lines)
    if limit is None or limit <= 0:
        return 1
    n = int(lines.count().to_pyarrow().as_py())
    return max(1, math.ceil(n * bytes_per_line / limit))


def hash_pass(key: ir.Column, passes: int, k: int) -> ir.BooleanValue:
    """True for the rows of pass ``k`` of ``passes``: the key's hash modulo ``passes`` is
    ``k`` (a NULL key goes to pass 0). Each key falls in exactly one pass."""
    h = key.hash()
    bucket = ((h % passes) + passes) % passes  # the hash is signed: a non-negative bucket
    hit = bucket == k
    return (hit | key.isnull()) if k == 0 else (hit & key.notnull())


__all__ = ["hash_pass", "hash_passes", "memory_limit_bytes", "parse_size"]
