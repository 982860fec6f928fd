"""Expressions with one meaning on every engine, where Ibis compiles differently per backend.

MySQL/MariaDB have no quantile or median aggregate in Ibis 12's compiler (DESIGN.md §2);
:func:`median_table` computes the interpolated median (the mean of the two middle values for
an even count, as DuckDB's ``median`` and PostgreSQL's ``percentile_cont(0.5)``) from row
numbers there, and uses the engine's own median elsewhere.
"""

from __future__ import annotations

from typing import Any

import ibis

#: Backends whose Ibis compiler has no Median / Quantile operation.
NO_QUANTILES = frozenset({"mysql"})


def backend_name(expr: Any) -> str | None:
    """The name of the Ibis backend that holds ``expr`` (``duckdb``, ``postgres``, ...)."""
    try:
        return ibis.get_backend(expr).name
    except Exception:  # an unbound expression (memtable): no backend yet
        return None


def median_table(t: Any, column: str, name: str) -> Any:
    """A one-row table with column ``name``: the median of ``t[column]`` (NULLs ignored).

    Parameters
    ----------
    t : ibis.Table
    column : str
        A numeric column.
    name : str
        Name of the output column (float64; NULL when every value is NULL).

    Returns
    -------
    ibis.Table
        One row.

    Examples
    --------
    >>> import ibis
    >>> import pyarrow as pa
    >>> con = ibis.duckdb.connect()
    >>> t = con.create_table("v", pa.table({"x": [4.0, 1.0, None, 3.0, 2.0]}))
    >>> median_table(t, "x", "m").to_pyarrow().to_pylist()
    [{'m': 2.5}]
    """
    if backend_name(t) not in NO_QUANTILES:
        return t.aggregate(**{name: t[column].median()})
    x = t.filter(t[column].notnull()).select(_vm_v=t[column].cast("float64"))
    ranked = x.mutate(_vm_rn=ibis.row_number().over(order_by=x._vm_v))  # 0-based
    n = x.aggregate(_vm_n=x.count())
    both = ranked.cross_join(n)
    # 0-based middle positions: (n - 1) // 2 and n // 2 (equal for an odd n)
    lower = (both._vm_n - 1) // 2
    upper = both._vm_n // 2
    middle = both.filter((both._vm_rn == lower) | (both._vm_rn == upper))
    return middle.aggregate(**{name: middle._vm_v.mean()})
