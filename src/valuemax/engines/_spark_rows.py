"""Line numbers and column drops on Spark, where rows have no order and views no ALTER.

Spark's ``ROW_NUMBER()`` needs an ``ORDER BY``, and a source (a table, a query, a file)
has no column to order by. :func:`spark_number_rows` numbers the rows 1..n in the order
Spark holds them (partition by partition, each in its own order: the order of
``monotonically_increasing_id()``) without moving them to one partition: the rows are
computed once (a local checkpoint, so a recomputation cannot number them differently),
each partition's count is collected (one small row per partition), and a row's number is
its place in its partition plus the rows of the partitions before it.
"""

from __future__ import annotations

from typing import Any

#: ``monotonically_increasing_id()`` puts the partition index above its lowest 33 bits.
_PARTITION_SHIFT = 33


def spark_number_rows(con: Any, expr: Any, name: str, column: str = "_row_id") -> Any:
    """Compute ``expr`` on a PySpark backend with ``column`` = 1..n, as the temporary view
    ``name`` (cached; replaced when it exists).

    The numbers follow the order Spark holds the rows in (partition order, then each
    partition's order); they are unique and gap-free whatever the partitioning, and fixed
    for the life of the view (the rows are computed once, a local checkpoint kept by the
    executors in memory, then disk).

    Parameters
    ----------
    con : ibis PySpark backend
    expr : ibis.Table
        An expression of ``con`` without a column named ``column``.
    name : str
        The temporary view created.
    column : str, default "_row_id"
        The line-number column (int64), added last.

    Returns
    -------
    ibis.Table
        The view: ``expr``'s columns, then ``column``.

    Examples
    --------
    With a session ``spark`` (``valuemax.engines.spark_session()``) and ``con =
    connect(spark)``: ``spark_number_rows(con, con.table("orders"), "numbered")`` is the
    orders with ``_row_id`` 1..n.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    session = con._session
    columns = list(expr.columns)
    frame = session.sql(con.compile(expr)).withColumn("_vm_mid",
                                                      F.monotonically_increasing_id())
    frame = frame.localCheckpoint(eager=True, storageLevel=StorageLevel.MEMORY_AND_DISK)
    part = F.shiftright(F.col("_vm_mid"), _PARTITION_SHIFT)
    counts = sorted((int(r["p"]), int(r["n"]))
                    for r in frame.groupBy(part.alias("p")).agg(F.count("*").alias("n"))
                    .collect())
    offsets, before = [], 0
    for p, n in counts:
        offsets.append((p, before))
        before += n
    first = session.createDataFrame(offsets or [(0, 0)], "_vm_p long, _vm_before long")
    numbered = frame.withColumn("_vm_p", part).join(F.broadcast(first), "_vm_p").select(
        *(F.col(f"`{c}`") for c in columns),
        (F.col("_vm_mid") - F.shiftleft(F.col("_vm_p"), _PARTITION_SHIFT)
         + F.col("_vm_before") + F.lit(1)).cast("long").alias(column))
    numbered.createOrReplaceTempView(name)
    session.catalog.cacheTable(name)
    return con.table(name)


def spark_drop_columns(con: Any, name: str, columns: tuple[str, ...],
                       schema: str | None = None) -> Any:
    """Drop ``columns`` from the view ``name`` (or the table ``schema.name``) of a PySpark
    backend: rewritten from its own rows (cut from its plan by a local checkpoint, since
    Spark refuses to overwrite a table it reads), cached when a view.

    Returns
    -------
    ibis.Table
        The view or table without ``columns``.
    """
    from pyspark import StorageLevel

    session = con._session
    where = name if schema is None else f"`{schema}`.`{name}`"
    frame = session.table(where).drop(*columns)
    frame = frame.localCheckpoint(eager=True, storageLevel=StorageLevel.MEMORY_AND_DISK)
    if schema is None:
        session.catalog.uncacheTable(name)
        frame.createOrReplaceTempView(name)
        session.catalog.cacheTable(name)
        return con.table(name)
    frame.write.mode("overwrite").saveAsTable(where)
    return con.table(name, database=schema)
