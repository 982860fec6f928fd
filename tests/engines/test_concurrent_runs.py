"""Two ``analyze(engine=...)`` runs in one schema at once, a run that fails, and the
clean-up of a killed run's tables (issue 14: a run dropped another's working table mid-run).

Each run works on its own ``valuemax_tmp_<tag>_*`` tables and publishes its results as the
``valuemax_*`` tables in one step (:mod:`valuemax.pipeline._engine_tables`). Checked on real
PostgreSQL and MariaDB servers: two runs on different sources, started together in two
threads, each give the result of the same source run alone (the local DuckDB's, which
tests/engines/test_parity.py holds equal to each engine's); the published tables are one
run's whole set; a failing or interrupted run leaves no working table and publishes
nothing; the clean-up drops a dead run's tables and keeps a live one's.
"""

from __future__ import annotations

import threading
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from valuemax.engines import connect
from valuemax.pipeline import analyze, drop_leftover_tables
from valuemax.pipeline._engine import write_engine_table
from valuemax.pipeline._engine_tables import _LIVE, TMP_PREFIX, RunTables, hold_run

pytestmark = pytest.mark.filterwarnings(
    "ignore:The 'future.infer_string' option is deprecated",
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning",
)

JOB = {"clusters": "none", "clv": False, "propensity": False, "time_unit": "W",
       "observation_end": "1998-06-30"}
SERVERS = [pytest.param("postgres", marks=pytest.mark.postgres),
           pytest.param("mariadb", marks=pytest.mark.mariadb)]
#: The second source: the CDNOW sample's customers with ids below this (text compare).
CUT = "01000"


@pytest.fixture
def server(request, cdnow_typed):
    """``open(which) -> (url, backend, table, schema)``: the CDNOW sample as a fresh table
    and a fresh schema name; both dropped afterwards."""
    made = []

    def open_(which):
        url = request.getfixturevalue(f"{which}_url")
        con = request.getfixturevalue(which)
        table = f"vm_t_{uuid.uuid4().hex[:10]}"
        schema = f"vm_schema_{uuid.uuid4().hex[:8]}"  # MariaDB: the test user may create these
        write_engine_table(con, table, cdnow_typed)
        made.append((con, table, schema))
        return url, con, table, schema

    yield open_
    for con, table, schema in made:
        con.drop_table(table, force=True)
        if schema in con.list_databases():
            if con.name == "postgres":
                con.drop_database(schema, cascade=True)
            else:
                con.drop_database(schema, force=True)


def _customers(out) -> pa.Table:
    return pq.read_table(out / "customers.parquet").sort_by("customer_id")


def _tmp_tables(con, schema) -> list[str]:
    if schema not in con.list_databases():
        return []
    return [n for n in con.list_tables(database=schema) if n.startswith(TMP_PREFIX)]


@pytest.mark.parametrize("which", SERVERS)
def test_two_runs_at_once_in_one_schema(which, server, tmp_path, cdnow_typed):
    url, con, table, schema = server(which)
    q = "`" if which == "mariadb" else '"'
    query = f"SELECT * FROM {q}{table}{q} WHERE customer_id < '{CUT}'"
    # alone: the same two sources through the local DuckDB
    cdnow_typed.to_pandas().to_parquet(tmp_path / "all.parquet")
    part = cdnow_typed.filter(pa.compute.less(cdnow_typed["customer_id"], CUT))
    part.to_pandas().to_parquet(tmp_path / "part.parquet")
    alone = [analyze(tmp_path / f"{n}.parquet", out=tmp_path / f"alone_{n}", **JOB)
             for n in ("all", "part")]
    # together: two threads, each with its own connection (the URL), one schema
    barrier, results, errors = threading.Barrier(2), {}, {}

    def run(name, **source):
        try:
            barrier.wait()
            results[name] = analyze(None, engine=url, schema=schema, out=tmp_path / name,
                                    **source, **JOB)
        except BaseException as exc:  # reported below, with the run it came from
            errors[name] = exc

    threads = [threading.Thread(target=run, args=("all",), kwargs={"table": table}),
               threading.Thread(target=run, args=("part",), kwargs={"query": query})]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == {}
    for name, solo in zip(("all", "part"), alone, strict=True):
        got = results[name]
        assert (got.quality.rows_in, got.quality.rows_clean) == \
            (solo.quality.rows_in, solo.quality.rows_clean)
        assert _customers(tmp_path / name).equals(_customers(tmp_path / f"alone_{name}"))
    assert len(results["all"].customers) == 2_357
    assert 0 < len(results["part"].customers) < 2_357
    # the engine: one row per run, no working table left, the published set one run's
    runs = con.table("valuemax_runs", database=schema).to_pyarrow().to_pylist()
    assert len(runs) == 2
    assert {r["n_customers"] for r in runs} == {len(results["all"].customers),
                                               len(results["part"].customers)}
    assert _tmp_tables(con, schema) == []
    published = {n: con.table(f"valuemax_{n}", database=schema).count().to_pyarrow().as_py()
                 for n in ("customers", "transactions_clean", "transactions_raw")}
    assert any(published == {"customers": r["n_customers"], "transactions_clean":
                             r["rows_clean"], "transactions_raw": r["rows_in"]} for r in runs)


class _Stop(Exception):
    """Raised by the test's step callback to make a run fail mid-way."""


@pytest.mark.parametrize(("which", "exc"), [
    pytest.param("postgres", _Stop, marks=pytest.mark.postgres),
    pytest.param("postgres", KeyboardInterrupt, marks=pytest.mark.postgres),  # Ctrl-C
    pytest.param("mariadb", _Stop, marks=pytest.mark.mariadb)])
def test_failed_run_leaves_no_working_table(which, exc, server, tmp_path):
    url, con, table, schema = server(which)
    # a killed run's working table: the next run on the schema drops it as it starts
    con.create_database(schema, force=True)
    killed = RunTables.new()
    write_engine_table(con, killed.work("customers"), pa.table({"x": [1]}), schema)
    seen = []

    def stop_at_segments(step):  # after the engine wrote raw, clean, quarantine, customers
        seen.append(step)
        if step == "segments":
            raise exc("stopped by the test")

    with pytest.raises(exc):
        analyze(None, engine=url, table=table, schema=schema, out=tmp_path / "out",
                on_step=stop_at_segments, **JOB)
    assert seen[-1] == "segments" and "customers" in seen
    assert _tmp_tables(con, schema) == []  # its own and the killed run's
    # nothing published: the schema holds no valuemax_* table
    assert [n for n in con.list_tables(database=schema) if n.startswith("valuemax_")] == []
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("which", SERVERS)
def test_leftovers_of_a_dead_run_are_dropped_a_live_runs_kept(which, server):
    url, con, _, schema = server(which)
    con.create_database(schema, force=True)
    dead, live = RunTables.new(), RunTables.new()
    row = pa.table({"x": pa.array([1], pa.int64())})
    for t in (dead, live):
        for name in ("transactions_raw", "customers"):
            write_engine_table(con, t.work(name), row, schema)
    write_engine_table(con, "valuemax_customers", row, schema)  # a result: never touched
    other = connect(url)  # the live run's own connection holds its lock
    try:
        hold_run(other, live)
        _LIVE.discard(live.tag)  # as if held by another process: only the server knows
        dropped = drop_leftover_tables(url, schema=schema)
        assert dropped == sorted(dead.work(n) for n in ("customers", "transactions_raw"))
        assert sorted(_tmp_tables(con, schema)) == sorted(
            live.work(n) for n in ("customers", "transactions_raw"))
    finally:
        other.disconnect()  # the server releases the lock with the connection
    assert drop_leftover_tables(url, schema=schema) == sorted(
        live.work(n) for n in ("customers", "transactions_raw"))
    assert _tmp_tables(con, schema) == []
    assert "valuemax_customers" in con.list_tables(database=schema)


def test_duckdb_engine_publishes_and_cleans_up(tmp_path, cdnow_typed):
    """A DuckDB file as the engine: results published by a transaction, the run's working
    tables gone; a second run replaces the set and appends its row."""
    econ = connect(tmp_path / "warehouse.duckdb")
    write_engine_table(econ, "orders", cdnow_typed)
    try:
        first = analyze(None, engine=econ, table="orders", **JOB)
        econ.raw_sql("DELETE FROM orders WHERE customer_id >= '01000'")
        second = analyze(None, engine=econ, table="orders", **JOB)
        names = econ.list_tables()
        assert [n for n in names if n.startswith(TMP_PREFIX)] == []
        assert econ.table("valuemax_customers").count().to_pyarrow().as_py() == \
            len(second.customers) < len(first.customers)
        assert econ.table("valuemax_runs").count().to_pyarrow().as_py() == 2
    finally:
        econ.disconnect()
