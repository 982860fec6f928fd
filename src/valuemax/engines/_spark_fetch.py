"""Stream a Spark result to the driver partition by partition, as Arrow batches.

Ibis 12's PySpark backend reads every result whole: ``to_pyarrow`` calls ``toPandas()``
(all rows collected into one pandas frame, then converted to Arrow), and
``to_pyarrow_batches`` cuts that table into batches afterwards. At 10M lines the read
step of a ``--table`` run held the whole raw log in the driver that way (8.7 GB peak).

:func:`spark_arrow_batches` asks the executors for Arrow batches instead (the Dataset's
``toArrowBatchRdd``, Spark's own Arrow encoder, as ``toPandas`` uses) and serves them to
Python one partition at a time in partition order (``PythonRDD.toLocalIteratorAndServe``,
the server behind ``DataFrame.toLocalIterator``; the next partition is computed while the
current one is read): the driver's Python holds one batch (at most
``spark.sql.execution.arrow.maxRecordsPerBatch`` rows, 10,000 by default) plus what its
consumer keeps, the driver's JVM at most two partitions. The rows come in the order
``collect()`` gives them. Both calls are Spark internals (py4j, Spark 3.5 to 4.0 alike);
where they are missing (Spark Connect), :func:`spark_arrow_batches` returns None and the
caller reads through Ibis.
"""

from __future__ import annotations

from typing import Any


def spark_arrow_batches(backend: Any, table: Any) -> Any | None:
    """The rows of ``table`` (an Ibis table of the PySpark ``backend``), streamed.

    Parameters
    ----------
    backend : ibis PySpark backend
    table : ibis.Table

    Returns
    -------
    pyarrow.RecordBatchReader or None
        Schema: ``table``'s Ibis schema in Arrow (each column cast to it, as Ibis's own
        read gives it: a Spark ``TIMESTAMP`` as the session time zone's wall clock without
        a zone, decimals read as floats through their exact text). None when the session
        has no JVM Dataset to stream from (Spark Connect): read it through Ibis then.

    Raises
    ------
    Exception
        Spark's own error when the query fails (while the batches are read).
    """
    import pyarrow as pa

    backend._run_pre_execute_hooks(table)
    session = backend._session
    frame = session.sql(backend.compile(table))
    try:
        from pyspark.serializers import NoOpSerializer
        from pyspark.sql.pandas.types import to_arrow_schema
        from pyspark.util import _local_iterator_from_socket

        jrdd = frame._jdf.toArrowBatchRdd()
        wire = to_arrow_schema(frame.schema, timestamp_utc=True,
                               prefers_large_types=session._jconf.arrowUseLargeVarTypes())
        jvm = session.sparkContext._jvm
    except (AttributeError, ImportError, TypeError):  # Spark Connect: no JVM Dataset
        return None
    target = table.schema().to_pyarrow()
    zone = session.conf.get("spark.sql.session.timeZone")
    if len(wire) != len(target):  # a column type Spark's Arrow encoder spells otherwise
        return None

    def batches():
        served = jvm.PythonRDD.toLocalIteratorAndServe(jrdd, True)
        for message in _local_iterator_from_socket(served, NoOpSerializer()):
            batch = pa.ipc.read_record_batch(pa.py_buffer(message), wire)
            yield pa.RecordBatch.from_arrays(
                [_as(col, f.type, zone) for col, f in zip(batch.columns, target, strict=True)],
                schema=target)

    return pa.RecordBatchReader.from_batches(target, batches())


def _as(column: Any, want: Any, zone: str) -> Any:
    """``column`` (as Spark's Arrow encoder gave it) in the type Ibis reads it as."""
    import pyarrow as pa
    import pyarrow.compute as pc

    have = column.type
    if have == want:
        return column
    if pa.types.is_timestamp(have) and pa.types.is_timestamp(want):
        if have.tz is not None and want.tz is None:  # toPandas: the session's wall clock
            column = pc.local_timestamp(column.cast(pa.timestamp(have.unit, zone)))
        return column.cast(want)
    if pa.types.is_decimal(have) and pa.types.is_floating(want):
        # the nearest double of the exact decimal, as float(Decimal) in Ibis's pandas read
        return column.cast(pa.string()).cast(want)
    return column.cast(want)
