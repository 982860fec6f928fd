"""The numbered rows of a Spark source reach the store's ``transactions_raw`` in ``_row_id``
order: kept as they came when they came in order, sorted by DuckDB otherwise
(``pipeline/_engine_read._copy_in_order``). The source here is a DuckDB expression standing
for Spark's numbered view (the copy reads any backend's batches alike)."""

from __future__ import annotations

from types import SimpleNamespace

import pyarrow as pa

from valuemax.engines import connect
from valuemax.pipeline._engine_read import _copy_in_order, _InOrder


def _numbered(ids: list[int]):
    source = connect()
    table = pa.table({"_row_id": pa.array(ids, pa.int64()),
                      "amount": pa.array([float(i) / 4 for i in ids])})
    return source.create_table("numbered", table)


def _stored_ids(con) -> list[int]:
    # the table's own order (DuckDB keeps the insertion order of a CREATE TABLE AS)
    return [r[0] for r in con.raw_sql("SELECT _row_id FROM transactions_raw").fetchall()]


def test_rows_in_order_are_kept_as_they_came():
    con = connect()
    _copy_in_order(SimpleNamespace(name="pyspark"), con, _numbered(list(range(1, 5_001))))
    assert _stored_ids(con) == list(range(1, 5_001))


def test_rows_out_of_order_are_sorted():
    """5,000 rows, two halves swapped: stored 1..5,000 in order, amounts with their rows."""
    con = connect()
    ids = list(range(2_501, 5_001)) + list(range(1, 2_501))
    _copy_in_order(SimpleNamespace(name="pyspark"), con, _numbered(ids))
    assert _stored_ids(con) == list(range(1, 5_001))
    rows = con.raw_sql("SELECT _row_id, amount FROM transactions_raw").fetchall()
    assert all(a == i / 4 for i, a in rows)


def test_in_order_watch():
    """Consecutive across batches: ordered; a gap, a repeat or a null: not."""
    def seen(*batches):
        watch = _InOrder()
        for ids in batches:
            watch(pa.record_batch({"_row_id": pa.array(ids, pa.int64())}))
        return watch.ordered

    assert seen([1, 2, 3], [], [4], [5, 6])
    assert not seen([1, 2, 4])
    assert not seen([1, 2], [2, 3])
    assert not seen([2, 3])
    assert not seen([1, None, 3])
