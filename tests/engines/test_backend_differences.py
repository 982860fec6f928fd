"""Known backend differences met by the steps that run on the engine (DESIGN.md §2), each
checked on the real engines: no median on MySQL/MariaDB, timestamp precision (Spark returns
nanoseconds), time zones (naive timestamps must not move), day counts from times of day."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from valuemax.engines import connect, median_table
from valuemax.engines._portable import money_sum
from valuemax.features import customer_table
from valuemax.pipeline._engine import copy_to_store, drop_engine_tables, write_engine_table

pytestmark = pytest.mark.filterwarnings(
    "ignore:The 'future.infer_string' option is deprecated",
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning",
)
SERVERS = [pytest.param("postgres", marks=pytest.mark.postgres),
           pytest.param("mariadb", marks=pytest.mark.mariadb)]
ALL = [*SERVERS, pytest.param("spark", marks=pytest.mark.spark)]


@pytest.fixture
def engine_of(request):
    def get(name):
        if name == "spark":
            return connect(request.getfixturevalue("spark"))
        return request.getfixturevalue(name)
    return get


@pytest.mark.parametrize("engine", [*SERVERS, "duckdb"])
@pytest.mark.parametrize("values", [
    [5.0, 1.0, 3.0],                      # odd count: the middle value
    [4.0, 1.0, 3.0, 2.0, None],           # even count, NULL ignored: mean of 2 and 3
    [0.1, 0.7, 0.2, 1e9, -3.5, 0.2],      # ties and a far value
    [None, None],                         # no value: NULL
])
def test_median_matches_numpy(engine, values, request, table_name):
    """MySQL/MariaDB have no median in Ibis 12: row numbers give the same interpolated
    median there as numpy (and DuckDB's median, PostgreSQL's percentile_cont)."""
    con = connect(None) if engine == "duckdb" else request.getfixturevalue(engine)
    t = write_engine_table(con, table_name, pa.table({"x": pa.array(values, pa.float64())}))
    try:
        got = median_table(t, "x", "m").to_pyarrow().column("m").to_pylist()
    finally:
        con.drop_table(table_name, force=True)
    present = [v for v in values if v is not None]
    assert len(got) == 1
    if present:
        assert got[0] == pytest.approx(float(np.median(present)), rel=1e-15)
    else:
        assert got[0] is None


@pytest.mark.parametrize("engine", [*ALL, "duckdb"])
def test_money_sums_are_exact_and_order_free(engine, engine_of, table_name):
    """Money is summed in fixed point: every engine returns the exact sum of the amounts
    (each with at most 6 decimals) as the nearest float64, whatever order it adds them in;
    a float sum of the same values depends on the order (checked here too, so the values
    do exercise it)."""
    rng = np.random.default_rng(7)
    micros = np.concatenate([rng.integers(-10**15, 10**15, 3000),   # up to 1e9 units (15 digits)
                             rng.integers(1, 10**7, 3000)])        # cents and below
    amounts = (micros / 1e6).tolist()
    group = (np.arange(len(micros)) % 3).tolist()
    exact = [float(sum(int(m) for m, g in zip(micros, group, strict=True) if g == k) / 10**6)
             for k in range(3)]  # int sum, one rounding: the correctly rounded value
    forward = [float(np.sum([a for a, g in zip(amounts, group, strict=True) if g == k]))
               for k in range(3)]
    backward = [float(np.sum([a for a, g in zip(amounts[::-1], group[::-1], strict=True)
                              if g == k])) for k in range(3)]
    assert forward != backward  # the float sums do depend on the order
    econ = connect(None) if engine == "duckdb" else engine_of(engine)
    t = write_engine_table(econ, table_name, pa.table({"g": group, "amount": amounts}))
    try:
        got = t.group_by("g").aggregate(s=money_sum(t.amount)).order_by("g").to_pyarrow()
    finally:
        drop_engine_tables(econ, (table_name,))
    assert got.column("s").to_pylist() == exact


#: Naive wall-clock times that a time-zone conversion would move or break: a microsecond,
#: the hour that does not exist in London (2011-03-27 01:30) and the one that repeats
#: (2011-10-30 01:30), a leap day and the end of a day.
TIMES = [dt.datetime(2011, 3, 27, 1, 30, 0, 1), dt.datetime(2011, 10, 30, 1, 30),
         dt.datetime(2012, 2, 29, 23, 59, 59, 999999), dt.datetime(1997, 1, 1)]


@pytest.mark.parametrize("engine", ALL)
def test_naive_timestamps_round_trip_exactly(engine, engine_of, table_name):
    """Through the engine and back into the store: same wall-clock values to the
    microsecond, stored as DuckDB TIMESTAMP (µs) even though Spark returns nanoseconds."""
    econ = engine_of(engine)
    if engine == "postgres":  # a session zone with DST must not move naive values
        econ.raw_sql("SET TIME ZONE 'Europe/London'").close()
    elif engine == "mariadb":
        econ.raw_sql("SET time_zone = '+05:00'").close()
    data = pa.table({"order_ts": pa.array(TIMES, pa.timestamp("us"))})
    store = connect(None)
    try:
        copy_to_store(store, "back", write_engine_table(econ, table_name, data))
    finally:
        drop_engine_tables(econ, (table_name,))
        if engine == "postgres":
            econ.raw_sql("SET TIME ZONE 'UTC'").close()
        elif engine == "mariadb":
            econ.raw_sql("SET time_zone = 'UTC'").close()
    back = store.table("back")
    assert str(back.schema()["order_ts"]).startswith("timestamp")
    assert store.con.execute("SELECT typeof(order_ts) FROM back LIMIT 1").fetchone()[0] == \
        "TIMESTAMP"
    assert sorted(back.to_pyarrow().column("order_ts").to_pylist()) == sorted(TIMES)


@pytest.mark.parametrize("engine", SERVERS)
def test_day_counts_ignore_the_time_of_day(engine, engine_of, table_name):
    """recency/tenure are whole days between dates, never a rounded or truncated fraction
    (a cast of 2.7 days to int gives 3 on some engines and 2 on Spark)."""
    econ = engine_of(engine)
    log = pa.table({
        "customer_id": ["a", "a", "b"],
        "order_id": ["1", "2", "3"],
        "order_ts": pa.array([dt.datetime(2024, 1, 1, 23, 59), dt.datetime(2024, 1, 4, 0, 1),
                              dt.datetime(2024, 1, 2, 16, 48)], pa.timestamp("us")),
        "amount": [10.0, 20.0, 5.0],
    })
    t = write_engine_table(econ, table_name, log)
    try:
        got = customer_table(t, observation_end=dt.date(2024, 1, 10), time_unit="D"
                             ).order_by("customer_id").to_pyarrow().to_pylist()
    finally:
        econ.drop_table(table_name, force=True)
    # by hand: a buys on Jan 1 and Jan 4, b on Jan 2; observation ends Jan 10
    assert [(r["customer_id"], r["recency_days"], r["tenure_days"], r["frequency"],
             r["recency"], r["T"]) for r in got] == [
        ("a", 6, 9, 1, 3.0, 9.0), ("b", 8, 8, 0, 0.0, 8.0)]
