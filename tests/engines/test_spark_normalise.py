"""Spark normalises its sources itself: a table or query of the session is numbered there
without an order (:func:`valuemax.engines.spark_number_rows`), a typed file's raw log is
pushed alone; either is mapped, typed and cleaned on Spark, with DuckDB's results (the
CDNOW table: ``test_parity.test_cdnow_same_on_every_engine[spark]``)."""

from __future__ import annotations

import pytest

from valuemax.pipeline import analyze
from valuemax.pipeline._engine import drop_engine_tables, open_engine

from .test_parity import RETAIL, assert_same_quality, assert_same_table

pytestmark = [pytest.mark.spark, pytest.mark.filterwarnings(
    "ignore:The 'future.infer_string' option is deprecated",
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning")]

WORK = ("valuemax_transactions_raw", "valuemax_transactions_std",
        "valuemax_transactions_clean", "valuemax_quarantine", "valuemax_customers",
        "valuemax_calibration_holdout", "valuemax_runs")


def test_rows_numbered_across_partitions_once(spark):
    """5,000 rows scattered over 7 partitions (a round-robin shuffle): numbered 1..5,000,
    each number once, partition after partition (the rows of each partition numbered
    consecutively, partitions in order), and the same numbers at every later read."""
    from pyspark.sql import functions as F

    from valuemax.engines import spark_number_rows

    econ = open_engine(spark)[0]
    frame = spark.range(5_000).withColumnRenamed("id", "k").repartition(7) \
        .withColumn("part", F.spark_partition_id())
    frame.createOrReplaceTempView("vm_scattered")
    try:
        numbered = spark_number_rows(econ, econ.table("vm_scattered"), "vm_numbered")
        first = numbered.order_by("_row_id").to_pyarrow().to_pydict()
        again = numbered.order_by("k").to_pyarrow().to_pydict()
    finally:
        drop_engine_tables(econ, ("vm_scattered", "vm_numbered"))
    assert numbered.columns == ("k", "part", "_row_id")
    assert first["_row_id"] == list(range(1, 5_001))
    assert sorted(first["k"]) == list(range(5_000))
    assert first["part"] == sorted(first["part"]) and len(set(first["part"])) == 7
    by_k = dict(zip(first["k"], first["_row_id"], strict=True))
    assert dict(zip(again["k"], again["_row_id"], strict=True)) == by_k


def test_typed_retail_file_normalised_on_spark(spark, retail_typed, tmp_path):
    """A typed parquet file (Online Retail's slice typed as a warehouse does, with a column of
    e-mail addresses) on Spark: only its raw log is pushed (20,000 rows, without the
    personal-data column), Spark maps, types and cleans it, and every reason code's count,
    the customer ids, every RFM/BTYD column (floats within 1e-9 relative), the
    calibration/holdout table and the segments equal DuckDB's run on the same file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    emails = pa.array([f"buyer{i}@example.com" for i in range(retail_typed.num_rows)])
    path = tmp_path / "retail.parquet"
    pq.write_table(retail_typed.append_column("contact", emails), path)
    exp = analyze(str(path), **RETAIL)
    fired = {r.code for r in exp.quality.rules if r.count}
    assert {"missing_customer_id", "duplicate_line", "non_product", "return_netted",
            "return_unmatched", "fully_returned"} <= fired
    econ = open_engine(spark)[0]
    try:
        res = analyze(str(path), engine=econ, **RETAIL)
        kept = econ.table("valuemax_transactions_raw").columns  # published from the run's
        # working views (valuemax_tmp_<tag>_*), renamed or dropped at its end
        assert [n for n in econ.list_tables() if n.startswith("valuemax_tmp_")] == []
    finally:
        drop_engine_tables(econ, WORK)
    assert res.params["normalised_on"] == "engine"
    assert res.params["rows_pushed"] == 20_000
    assert "normalised_locally_because" not in res.params
    assert res.ingest["privacy"]["dropped"] == ["contact"] and "contact" not in kept
    assert_same_quality(res.quality, exp.quality)
    assert_same_table(res.customers, exp.customers)
    assert_same_table(res.calibration, exp.calibration)
    assert res.customers.set_index("customer_id").segment.sort_index().tolist() == \
        exp.customers.set_index("customer_id").segment.sort_index().tolist()
