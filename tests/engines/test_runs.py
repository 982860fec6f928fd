"""``valuemax_runs`` in the engine: one row per ``analyze`` run there, beside its tables.

Each run's row is read back from the engine and checked against what the run returned and
against the local store's own ``runs`` row (same run id), on a DuckDB file passed as the
engine and on PostgreSQL (with ``schema=``: the table lands only there)."""

from __future__ import annotations

import uuid

import duckdb
import pytest

import valuemax
from valuemax.engines import connect, redact
from valuemax.pipeline import analyze
from valuemax.pipeline._engine import drop_engine_tables, write_engine_table

JOB = {"clusters": "none", "clv": False, "propensity": False, "time_unit": "W",
       "observation_end": "1998-06-30"}
#: The CDNOW sample: 6,919 lines (its file's line count), none quarantined with this job.
CDNOW_LINES = 6_919
RUN_TABLES = ("valuemax_transactions_raw", "valuemax_transactions_clean",
              "valuemax_quarantine", "valuemax_customers", "valuemax_runs")


def _store_runs(out) -> list[tuple]:
    with duckdb.connect(str(out / "valuemax.duckdb"), read_only=True) as con:
        return con.sql("SELECT run_id, source, rows_in, rows_clean, rows_quarantined, "
                       "n_customers, valuemax_version FROM runs").fetchall()


def _two_runs(econ, table, tmp_path, schema=None, engine=None):
    """Run the job twice on ``table`` of ``econ`` (given as ``engine`` when not None);
    return the results, the store rows and the engine's ``valuemax_runs`` read back
    (ordered by start)."""
    results, stored = [], []
    for i in range(2):
        out = tmp_path / f"run{i}"
        results.append(analyze(None, engine=econ if engine is None else engine, table=table,
                               schema=schema, out=out, **JOB))
        stored.extend(_store_runs(out))
    runs = econ.table("valuemax_runs", database=schema) if schema else econ.table(
        "valuemax_runs")
    frame = runs.to_pyarrow().to_pandas().sort_values("started_at", ignore_index=True)
    return results, stored, frame


def _check(results, stored, frame, *, engine_label):
    assert len(frame) == 2  # one row per run, appended
    assert frame.columns.tolist() == [
        "run_id", "started_at", "finished_at", "source", "rows_in", "rows_clean",
        "rows_quarantined", "n_customers", "engine", "valuemax_version"]
    # the same run ids, sources and counts as the local store's runs table, in run order
    assert [tuple(r) for r in frame[["run_id", "source", "rows_in", "rows_clean",
                                     "rows_quarantined", "n_customers",
                                     "valuemax_version"]].itertuples(index=False)] == stored
    for row, res in zip(frame.itertuples(), results, strict=True):
        q = res.quality
        assert (row.rows_in, row.rows_clean, row.rows_quarantined) == \
            (CDNOW_LINES, q.rows_clean, q.rows_quarantined)
        assert row.rows_in == row.rows_clean + row.rows_quarantined
        assert row.n_customers == len(res.customers) == 2_357
        assert row.started_at <= row.finished_at
        assert row.engine == engine_label
        assert row.valuemax_version == valuemax.__version__
    assert frame.run_id.nunique() == 2
    assert frame.started_at[0] <= frame.finished_at[0] <= frame.started_at[1]


def test_runs_in_a_duckdb_file_engine(tmp_path, cdnow_typed):
    path = tmp_path / "warehouse.duckdb"
    econ = connect(path)
    write_engine_table(econ, "orders", cdnow_typed)
    results, stored, frame = _two_runs(econ, "orders", tmp_path)
    _check(results, stored, frame, engine_label="duckdb")
    assert frame.source.tolist() == ["duckdb table orders"] * 2
    econ.disconnect()
    # written to the file: another connection reads the two rows
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM valuemax_runs").fetchone() == (2,)


@pytest.mark.postgres
def test_runs_in_a_postgres_schema(postgres, postgres_url, table_name, tmp_path, cdnow_typed):
    schema = f"vm_schema_{uuid.uuid4().hex[:8]}"
    # runs of other tests without a schema leave theirs in the default schema
    drop_engine_tables(postgres, ("valuemax_runs",))
    write_engine_table(postgres, table_name, cdnow_typed)
    try:
        # the URL as the CLI's --engine gives it: the row names it without the password
        results, stored, frame = _two_runs(postgres, table_name, tmp_path, schema=schema,
                                           engine=postgres_url)
        _check(results, stored, frame, engine_label=redact(postgres_url))
        password = postgres_url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
        assert password not in frame.engine[0] and "***" in frame.engine[0]
        assert "valuemax_runs" in postgres.list_tables(database=schema)
        assert "valuemax_runs" not in postgres.list_tables()  # only in the schema
        assert frame.source.tolist() == [f"{redact(postgres_url)} table {table_name}"] * 2
    finally:
        drop_engine_tables(postgres, RUN_TABLES, schema=schema)
        drop_engine_tables(postgres, (table_name,))
        postgres.raw_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE').close()
