"""Spark results reach the driver as Arrow batches, partition by partition
(:mod:`valuemax.engines._spark_fetch`), with the values and types Ibis's whole read gives."""

from __future__ import annotations

import datetime as dtm
from decimal import Decimal

import pytest

from valuemax.engines import to_arrow_batches
from valuemax.pipeline._engine import open_engine

pytestmark = [pytest.mark.spark, pytest.mark.filterwarnings(
    "ignore:The 'future.infer_string' option is deprecated",
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning")]

BIG = 2**53 + 1  # no float64 holds it: a read through pandas' floats would round it


def _rows(n: int) -> list[tuple]:
    day = dtm.datetime(2011, 1, 5, 10, 30, 15, 123456)
    return [(i, None if i % 4 == 0 else BIG + i, f"c{i % 7}", None if i % 5 == 0 else i / 3,
             Decimal(i) / 8, day + dtm.timedelta(minutes=i), day.date(), i % 2 == 0)
            for i in range(n)]


def test_streamed_in_partition_order_with_ibis_values(spark):
    """2,500 rows over 5 partitions, in batches of 100 rows: every row once, in the order
    ``collect()`` gives (partition after partition), the int64 beyond 2**53 exact, nulls kept,
    the timestamp the wall clock written (session zone UTC), the decimal kept, each column
    of the Ibis schema's Arrow type; the same table as Ibis's own (whole) read where Ibis is
    exact (the big integers left out: pandas' floats round them)."""
    econ = open_engine(spark)[0]
    schema = ("k long, big long, name string, third double, eighth decimal(12,3), "
              "at timestamp, day date, even boolean")
    # computed once (a recomputed round-robin shuffle may deal the rows otherwise)
    frame = spark.createDataFrame(_rows(2_500), schema).repartition(5).localCheckpoint()
    frame.createOrReplaceTempView("vm_fetch")
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "100")
    try:
        table = econ.table("vm_fetch")
        reader = to_arrow_batches(table)
        batches = list(reader)
        expected_order = [r["k"] for r in spark.table("vm_fetch").collect()]
        whole = econ.table("vm_fetch").drop("big").to_pyarrow()
    finally:
        spark.conf.unset("spark.sql.execution.arrow.maxRecordsPerBatch")
        spark.catalog.dropTempView("vm_fetch")
    import pyarrow as pa

    got = pa.Table.from_batches(batches, reader.schema)
    assert got.schema == table.schema().to_pyarrow()
    assert len(batches) >= 25 and max(b.num_rows for b in batches) <= 100
    assert got.column("k").to_pylist() == expected_order
    by_k = {r["k"]: r for r in got.to_pylist()}
    want = {r[0]: r for r in _rows(2_500)}
    assert sorted(by_k) == list(range(2_500))
    for k in (0, 1, 4, 5, 2_499):
        row, src = by_k[k], want[k]
        assert row["big"] == src[1] and row["name"] == src[2] and row["third"] == src[3]
        assert row["eighth"] == src[4].quantize(Decimal("0.001"))
        assert row["at"] == src[5] and row["day"] == src[6] and row["even"] is src[7]
    assert got.drop(["big"]).equals(whole)


def test_an_empty_result_has_the_schema(spark):
    """No rows: no batch, and the reader still has the Ibis schema's columns."""
    econ = open_engine(spark)[0]
    spark.createDataFrame([], "k long, name string").createOrReplaceTempView("vm_empty")
    try:
        table = econ.table("vm_empty")
        reader = to_arrow_batches(table)
        assert reader.read_all().num_rows == 0
        assert reader.schema == table.schema().to_pyarrow()
    finally:
        spark.catalog.dropTempView("vm_empty")


def test_whole_table_with_lists_as_ibis_reads_it(spark):
    """``to_arrow`` on Spark (the baskets' per-basket item lists): the Ibis schema's types,
    list columns included, and the rows Ibis's own read gives, in the same order."""
    from valuemax.engines import to_arrow

    econ = open_engine(spark)[0]
    frame = spark.createDataFrame([(i // 3, i % 11) for i in range(300)], "b long, item int")
    frame.localCheckpoint().createOrReplaceTempView("vm_lists")
    try:
        t = econ.table("vm_lists")
        expr = t.group_by("b").aggregate(n=t.count(), items=t.item.collect()).order_by("b")
        got, want = to_arrow(expr), expr.to_pyarrow()
    finally:
        spark.catalog.dropTempView("vm_lists")
    assert got.schema == expr.schema().to_pyarrow()
    assert got.num_rows == 100 and got.to_pylist() == want.to_pylist()
    assert sorted(got.column("items").to_pylist()[0]) == [0, 1, 2]  # basket 0: items 0-2
