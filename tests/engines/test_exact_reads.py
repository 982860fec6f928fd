"""Reading back from the real servers is exact: an int64 beyond 2**53 beside a NULL, and a
decimal with 20 digits, come back digit for digit (Ibis 12 reads MySQL/MariaDB through
pandas, where such a column becomes float64: 9007199254740993 turned 9007199254740992)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

from valuemax.engines import connect, load_arrow, to_arrow, to_arrow_batches
from valuemax.pipeline._engine import copy_to_store

# Third-party noise: ibis 12's MySQL backend converts its other columns through pandas and
# reads a pandas option that pandas 3 deprecates.
pytestmark = pytest.mark.filterwarnings(
    "ignore:The 'future.infer_string' option is deprecated")

SERVERS = [pytest.param("postgres", marks=pytest.mark.postgres),
           pytest.param("mariadb", marks=pytest.mark.mariadb)]

#: 2**53 + 1 is the first integer a double cannot hold; the others around and beyond it.
BIG = [2**53 + 1, None, -(2**53) - 3, 2**63 - 1, -(2**63) + 1, 2**53 + 3, None, 7]
#: 20 significant digits: a double keeps about 16.
DECIMALS = [Decimal("123456789012345678.91"), None, Decimal("-0.01"),
            Decimal("999999999999999999.99"), Decimal("0.00"), None,
            Decimal("90071992547409.93"), Decimal("1.10")]
TEXTS = ["a", None, "b", "c", "", "d", "e", "f"]


def _frame() -> pa.Table:
    return pa.table({"k": pa.array(range(len(BIG)), pa.int64()),
                     "n": pa.array(BIG, pa.int64()),
                     "d": pa.array(DECIMALS, pa.decimal128(20, 2)),
                     "s": pa.array(TEXTS, pa.string()),
                     "x": pa.array([0.1 + 0.2, None, 1e-300, 2.5, None, -1.0, 3.0, 0.0])})


def _driver_rows(con, name) -> list[tuple]:
    """The rows as the server's own driver returns them (Python ints and Decimals)."""
    q = "`" if con.name == "mysql" else '"'
    cursor = con.raw_sql(f"SELECT {q}n{q}, {q}d{q} FROM {q}{name}{q} ORDER BY {q}k{q}")
    try:
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        cursor.close()


@pytest.mark.parametrize("which", SERVERS)
def test_int64_and_decimals_come_back_exact(which, request, table_name, tmp_path):
    con = request.getfixturevalue(which)
    data = _frame()
    table = load_arrow(con, table_name, data)
    try:
        # the server holds the exact values (checked with its own driver, not with Ibis)
        assert _driver_rows(con, table_name) == list(zip(BIG, DECIMALS, strict=True))
        ordered = table.order_by("k")
        got = to_arrow(ordered)
        assert got.column("n").to_pylist() == BIG
        assert got.column("d").to_pylist() == DECIMALS
        assert got.column("s").to_pylist() == TEXTS  # '' stays apart from NULL
        assert got.column("x").to_pylist() == data.column("x").to_pylist()
        assert got.schema.field("n").type == pa.int64()
        # several batches (3 rows each): the same rows, nothing dropped at the seams
        reader = to_arrow_batches(ordered, chunk_size=3)
        batches = list(reader)
        assert pa.Table.from_batches(batches, reader.schema).equals(got)
        if which == "mariadb":
            assert len(batches) == 3
        # a column expression and a computed int64 (n + 0 on the server) too
        assert to_arrow(ordered.n).column(0).to_pylist() == BIG
        assert to_arrow(ordered.mutate(m=ordered.n - 1).m).column(0).to_pylist() == [
            None if v is None else v - 1 for v in BIG]
        # the copy into the local DuckDB store (what analyze does with the engine's results)
        store = connect(tmp_path / "store.duckdb")
        copy_to_store(store, "copied", ordered)
        back = store.table("copied").order_by("k").to_pyarrow()
        assert back.column("n").to_pylist() == BIG
        assert back.column("d").to_pylist() == DECIMALS
        store.disconnect()
    finally:
        con.drop_table(table_name, force=True)


def test_the_float_path_would_fail_this_test():
    """What the test guards against: the float64 a pandas column of ints with a NULL holds."""
    import pandas as pd

    floated = pd.Series(BIG[:3]).astype("float64")
    assert int(floated[0]) == 2**53 and int(floated[0]) != BIG[0]


@pytest.mark.parametrize("which", SERVERS)
def test_analyze_keeps_integer_customer_ids_exact(which, request, table_name):
    """A warehouse log whose customer ids are BIGINT beyond 2**53, one line without an id:
    the ids reach the customer table digit for digit, the line without one is
    quarantined."""
    from valuemax.pipeline import analyze

    con = request.getfixturevalue(which)
    url = request.getfixturevalue(f"{which}_url")
    ids = [2**53 + 1, 2**53 + 1, 2**53 + 3, None, 2**53 + 3, 2**62 + 1]
    days = [dt.datetime(2024, 1, d) for d in (2, 20, 5, 6, 28, 9)]
    log = pa.table({"customer_id": pa.array(ids, pa.int64()),
                    "date": pa.array(days, pa.timestamp("us")),
                    "amount": pa.array([10.0, 12.5, 7.0, 3.0, 8.0, 4.0])})
    load_arrow(con, table_name, log)
    try:
        res = analyze(None, engine=url, table=table_name, clusters="none", clv=False,
                      propensity=False, observation_end="2024-01-31")
    finally:
        con.drop_table(table_name, force=True)
    assert sorted(res.customers.customer_id) == sorted(
        str(i) for i in {2**53 + 1, 2**53 + 3, 2**62 + 1})
    assert res.quality.rows_in == 6 and res.quality.rows_quarantined == 1
    spend = dict(zip(res.customers.customer_id, res.customers.total_spend, strict=True))
    assert spend[str(2**53 + 1)] == 22.5 and spend[str(2**53 + 3)] == 15.0
