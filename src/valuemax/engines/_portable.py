"""Expressions with one meaning on every engine, where Ibis compiles differently per backend.

MySQL/MariaDB have no quantile or median aggregate in Ibis 12's compiler (DESIGN.md §2);
:func:`median_table` computes the interpolated median (the mean of the two middle values for
an even count, as DuckDB's ``median`` and PostgreSQL's ``percentile_cont(0.5)``) from row
numbers there, and uses the engine's own median elsewhere. :func:`money_sum` sums amounts
exactly, so a sum does not depend on the order threads or partitions add the lines in.
"""

from __future__ import annotations

from typing import Any, Final

import ibis
import ibis.expr.datatypes as dt

#: Fixed-point type money is summed in: 38 digits, 6 after the point (a millionth of the
#: currency unit; amounts up to 10^32). The clean step quarantines amounts of 10^15 or more
#: (``implausible_amount``), so no sum of fewer than 10^17 lines can overflow.
MONEY_DECIMAL: Final = dt.Decimal(38, 6)

#: Backends whose Ibis compiler has no Median / Quantile operation.
NO_QUANTILES = frozenset({"mysql"})
#: Backends where Ibis compares strings as ``CAST(a AS BINARY) = b``: a join on a string
#: key uses no index nor hash there (nested loops, quadratic in the rows joined).
NO_KEYED_STRING_JOIN = frozenset({"mysql"})
#: Backends whose Ibis compiler has no RegexReplace operation.
NO_REGEX_REPLACE = frozenset({"mysql"})
#: Backends whose floats cannot be NaN (and that have no ``IS_NAN`` function).
NO_NAN = frozenset({"mysql"})


def backend_name(expr: Any) -> str | None:
    """The name of the Ibis backend that holds ``expr`` (``duckdb``, ``postgres``, ...)."""
    try:
        return ibis.get_backend(expr).name
    except Exception:  # an unbound expression (memtable): no backend yet
        return None


@ibis.udf.scalar.builtin(name="regexp_replace")
def _regexp_replace(value: str, pattern: str, replacement: str) -> str:
    """MySQL/MariaDB ``REGEXP_REPLACE(value, pattern, replacement)``: every match replaced."""


def re_replace(x: Any, pattern: str, replacement: str) -> Any:
    """``x.re_replace(pattern, replacement)`` (every match), also on MySQL/MariaDB, whose Ibis
    12 compiler has no regular-expression replace (their ``REGEXP_REPLACE`` is called)."""
    if backend_name(x) in NO_REGEX_REPLACE:
        return _regexp_replace(x, pattern, replacement)
    return x.re_replace(pattern, replacement)


def is_nan(x: Any) -> Any:
    """Ibis boolean: ``x`` (float) is NaN; always false on backends whose floats cannot be
    NaN (:data:`NO_NAN`: MySQL/MariaDB, which have no ``IS_NAN`` function either)."""
    return ibis.literal(False) if backend_name(x) in NO_NAN else x.isnan()


def is_inf(x: Any) -> Any:
    """Ibis boolean: ``x`` (float) is +-inf; always false on :data:`NO_NAN` backends
    (MySQL/MariaDB store no infinity and raise on a float overflow instead)."""
    return ibis.literal(False) if backend_name(x) in NO_NAN else x.isinf()


def money_sum(amount: Any, where: Any = None) -> Any:
    """The exact sum of ``amount`` (float64; NULL when no line counts).

    A float sum depends on the order its terms are added in: DuckDB's parallel hash
    aggregates and window partitions, Spark's partitions and the servers' plans add them in
    an order that changes from run to run, so the last bit of a sum changed between two runs
    on the same log, and a gradient-boosting split or a ranking built on it could change with
    it (a propensity AUC moved by 7e-4). Each amount is rounded to :data:`MONEY_DECIMAL`
    (1e-6 of the currency unit) and the fixed-point sum, exact on every engine, is converted
    to float64 once: the same log gives the same bits on every run and every engine.

    Parameters
    ----------
    amount : ibis.NumericColumn
        The amounts (currency units).
    where : ibis.BooleanValue, optional
        Only the lines where this holds.

    Returns
    -------
    ibis.FloatingScalar
        The sum in currency units.
    """
    return amount.cast(MONEY_DECIMAL).sum(where=where).cast("float64")


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


def refresh_statistics(con: Any, name: str, schema: str | None = None) -> None:
    """Have the server gather the statistics of table ``name`` its query planner reads.

    PostgreSQL plans from statistics that autovacuum gathers some time after a table is
    filled, and never for temporary tables: a table valuemax has just written is planned as
    a few hundred thousand rows of unknown values whatever its size, so the joins of the
    next query pick sort-merge plans estimated at billions of rows. ``ANALYZE`` (a sample of
    30,000 rows: a second on millions of lines) right after writing gives the planner the
    true row counts and distinct values. MySQL/MariaDB: ``ANALYZE TABLE``. Other engines
    (DuckDB, Spark) keep their statistics themselves: nothing is run.

    Parameters
    ----------
    con : ibis backend
        The engine that holds the table.
    name : str
        The table (a temporary table too).
    schema : str, optional
        Its schema (PostgreSQL) or database (MySQL/MariaDB); default the connection's.
    """
    kind = getattr(con, "name", None)
    if kind == "postgres":
        where = f'"{name}"' if schema is None else f'"{schema}"."{name}"'
        con.raw_sql(f"ANALYZE {where}").close()
    elif kind == "mysql":
        where = f"`{name}`" if schema is None else f"`{schema}`.`{name}`"
        cur = con.raw_sql(f"ANALYZE TABLE {where}")
        cur.fetchall()
        cur.close()


def add_key(con: Any, name: str, column: str) -> None:
    """Make ``column`` (unique, not NULL) the primary key of table ``name`` on MySQL/MariaDB.

    MariaDB joins a table without an index by block nested loops or builds a key on a
    derived table per statement; a table valuemax materialised and joins later on an id
    (``_row_id``, a matched purchase's row) gets that id as its primary key, so every
    later join on it is a key lookup. Other engines: nothing is run (PostgreSQL, DuckDB
    and Spark hash those joins).

    Parameters
    ----------
    con : ibis backend
    name : str
        A table of the connection's default database (a temporary table too).
    column : str
        An integer column whose values are unique and never NULL.
    """
    if getattr(con, "name", None) == "mysql":
        col = column.replace("`", "``")
        con.raw_sql(f"ALTER TABLE `{name}` ADD PRIMARY KEY (`{col}`)").close()


def spark_checkpoint(con: Any, expr: Any, name: str) -> Any:
    """Compute ``expr`` on a PySpark backend now, as the temporary view ``name`` whose plan
    starts there.

    Spark inlines every reference to a common table expression and re-analyses the whole
    plan behind a cached view at each query that reads it: a chain of steps each reading
    the previous one several times (the clean step's duplicate, netting and outlier
    windows) grows a plan Catalyst spent minutes on. A local checkpoint keeps the computed
    rows on the executors (memory, then their local disk) and cuts the plan: later queries
    read the view as a scan. The rows are not written to reliable storage: an executor
    lost before the run ends fails the run (Spark cannot recompute them).

    Parameters
    ----------
    con : ibis PySpark backend
    expr : ibis.Table
        An expression of ``con``.
    name : str
        The temporary view created (replaced when it exists).

    Returns
    -------
    ibis.Table
        The view.
    """
    from pyspark import StorageLevel

    frame = con._session.sql(con.compile(expr))
    frame = frame.localCheckpoint(eager=True, storageLevel=StorageLevel.MEMORY_AND_DISK)
    frame.createOrReplaceTempView(name)
    return con.table(name)
