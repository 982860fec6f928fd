r"""SQL text for the DuckDB statements io issues: quoting, whitespace trimming, queries.

Everything io runs on the engine goes through these helpers so that identifiers and literals
are quoted one way, and trimming means the same in the SQL inference queries (``strip``) and
in the Ibis expressions of ``Ingested.standardized()`` (``strip_expr``): remove leading and
trailing RE2 ``\s`` characters. (Ibis's own ``strip()`` compiles to DuckDB
``trim(x, chars)``, several times slower; values without edge blanks are left untouched.)
"""

from __future__ import annotations

from typing import Any

_EDGE = r"^\s|\s$"
_RUNS = r"^\s+|\s+$"


def ident(name: str) -> str:
    """Return ``name`` as a double-quoted SQL identifier.

    Examples
    --------
    >>> ident('a"b')
    '"a""b"'
    """
    return '"' + str(name).replace('"', '""') + '"'


def lit(value: str) -> str:
    """Return ``value`` as a single-quoted SQL string literal.

    Examples
    --------
    >>> lit("it's")
    "'it''s'"
    """
    return "'" + str(value).replace("'", "''") + "'"


def lit_list(values: tuple[str, ...] | list[str]) -> str:
    """Return a DuckDB list literal of strings, e.g. ``['%Y', '%d']``."""
    return "[" + ", ".join(lit(v) for v in values) + "]"


def strip(expr: str) -> str:
    """Return SQL for ``expr`` without leading/trailing whitespace (as ``strip_expr``)."""
    return (f"CASE WHEN regexp_matches({expr}, {lit(_EDGE)}) THEN "
            f"regexp_replace({expr}, {lit(_RUNS)}, '', 'g') ELSE {expr} END")


def strip_expr(col: Any) -> Any:
    """Return the Ibis string expression ``col`` without leading/trailing whitespace."""
    import ibis

    from valuemax.engines import re_replace

    return ibis.ifelse(col.re_search(_EDGE), re_replace(col, _RUNS, ""), col)


def duck(con: Any) -> Any:
    """Return the ``duckdb.DuckDBPyConnection`` behind an Ibis DuckDB backend."""
    return con.con


def fetch(con: Any, sql: str, params: list[Any] | None = None) -> list[tuple]:
    """Run ``sql`` on the DuckDB connection behind ``con`` and return all rows."""
    return duck(con).execute(sql, params or []).fetchall()


def fetch_one(con: Any, sql: str, params: list[Any] | None = None) -> tuple:
    """Run ``sql`` and return its single row."""
    rows = fetch(con, sql, params)
    return rows[0]


def as_text(col: Any) -> Any:
    """Return the Ibis column ``col`` as trimmed text (cast to string first if needed)."""
    import ibis.expr.datatypes as dt

    return strip_expr(col if col.type().is_string() else col.cast(dt.string))
