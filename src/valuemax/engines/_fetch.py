"""Read an Ibis expression's rows as Arrow, exactly, on every engine.

Ibis 12's MySQL backend fetches every result through pandas (``DataFrame.from_records``,
then ``pa.Table.from_pandas``): an integer column holding a NULL becomes float64 there, so
an int64 beyond 2**53 (9,007,199,254,740,993) comes back as its nearest double
(9,007,199,254,740,992), silently; a ``DECIMAL`` goes through floats the same way
(``coerce_float``). :func:`to_arrow_batches` reads a MySQL/MariaDB result with the
driver's own cursor instead (mysqlclient's unbuffered ``SSCursor``, in chunks) and builds
the integer and decimal columns straight from the driver's Python ``int``/``Decimal``
values; the other columns (booleans stored as ``TINYINT(1)``, times, JSON, ...) keep
Ibis's own conversion. PostgreSQL (Ibis builds Arrow from psycopg's Python values),
DuckDB and Spark (Arrow natively) are exact already; DuckDB reads through Ibis, Spark
streams its partitions' Arrow batches (:mod:`valuemax.engines._spark_fetch`: Ibis 12 would
collect every row into one pandas frame first).
"""

from __future__ import annotations

from typing import Any

#: Rows per Arrow batch read from a MySQL/MariaDB cursor (bounds the Python rows held).
CHUNK_ROWS = 100_000


def to_arrow_batches(expr: Any, *, chunk_size: int = CHUNK_ROWS) -> Any:
    """Stream the rows of ``expr`` as Arrow record batches, integers and decimals exact.

    Parameters
    ----------
    expr : ibis.Table or ibis.Column
        An expression of any backend valuemax runs on.
    chunk_size : int, default 100,000
        Rows per batch read from a MySQL/MariaDB cursor (Spark: its own Arrow batches,
        ``spark.sql.execution.arrow.maxRecordsPerBatch`` rows at most).

    Returns
    -------
    pyarrow.RecordBatchReader
        Schema: the expression's Ibis schema in Arrow (a column: a one-column table).

    Raises
    ------
    Exception
        The engine's own error when the query fails (raised when the first batch is read
        on MySQL/MariaDB, at once elsewhere).

    Examples
    --------
    >>> import ibis
    >>> import pyarrow as pa
    >>> t = ibis.memtable(pa.table({"id": pa.array([2**53 + 1, None], pa.int64())}))
    >>> to_arrow_batches(t).read_all().column("id").to_pylist()
    [9007199254740993, None]
    """
    table = expr.as_table()
    backend = table._find_backend(use_default=True)
    name = getattr(backend, "name", None)
    if name == "pyspark":  # partition by partition, not one pandas frame of every row
        from valuemax.engines._spark_fetch import spark_arrow_batches

        reader = spark_arrow_batches(backend, table)
        if reader is not None:
            return reader
    if name != "mysql":
        return backend.to_pyarrow_batches(table, chunk_size=chunk_size)
    import pyarrow as pa

    schema = table.schema()
    arrow = schema.to_pyarrow()
    backend._run_pre_execute_hooks(table)
    sql = backend.compile(table)
    return pa.RecordBatchReader.from_batches(
        arrow, _mysql_batches(backend, sql, schema, arrow, chunk_size))


def to_arrow(expr: Any) -> Any:
    """The rows of ``expr`` as one Arrow table, integers and decimals exact
    (:func:`to_arrow_batches`; Spark: its own Arrow batches gathered, without the pandas
    frame Ibis 12 builds first).

    Returns
    -------
    pyarrow.Table
    """
    table = expr.as_table()
    backend = table._find_backend(use_default=True)
    if getattr(backend, "name", None) not in ("mysql", "pyspark"):
        return backend.to_pyarrow(table)  # exact there: Ibis's own read
    return to_arrow_batches(table).read_all()  # Spark: its Arrow batches, not via pandas


def _mysql_batches(backend: Any, sql: str, schema: Any, arrow: Any, chunk_size: int):
    from MySQLdb.cursors import SSCursor

    cursor = backend.con.cursor(SSCursor)
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(chunk_size):
            yield _mysql_batch(rows, schema, arrow)
    finally:
        cursor.close()  # reads what is left, so the connection serves the next query


def _mysql_batch(rows: list, schema: Any, arrow: Any) -> Any:
    """One Arrow batch from the driver's rows: integer and decimal columns from the Python
    values themselves, the others through Ibis's MySQL conversion (as Ibis reads them)."""
    import pyarrow as pa

    columns = list(zip(*rows, strict=True))
    arrays: list[Any] = [None] * len(arrow)
    rest = []
    for i, (name, dtype) in enumerate(schema.items()):
        if dtype.is_integer() or dtype.is_decimal():
            arrays[i] = pa.array(columns[i], type=arrow.field(name).type)
        else:
            rest.append(i)
    if rest:
        import ibis
        import pandas as pd
        from ibis.backends.mysql.converter import MySQLPandasData

        names = [schema.names[i] for i in rest]
        frame = pd.DataFrame.from_records(list(zip(*(columns[i] for i in rest), strict=True)),
                                          columns=names, coerce_float=True)
        frame = MySQLPandasData.convert_table(frame, ibis.schema({n: schema[n] for n in names}))
        for i, name in zip(rest, names, strict=True):
            arrays[i] = pa.Array.from_pandas(frame[name], type=arrow.field(name).type)
    return pa.RecordBatch.from_arrays(arrays, schema=arrow)

