"""A typed ``--table`` is mapped and normalised on the server itself: the engine writes
``valuemax_transactions_std`` from its own ``valuemax_transactions_raw`` (numbered there), no
row is pushed from the driver (the run record's ``rows_pushed``), and the results equal
DuckDB's on the same table; a source the engine cannot normalise identically (text dates)
is normalised locally, with the reason in the notes and the same results."""

from __future__ import annotations

import pytest

from valuemax.pipeline import analyze
from valuemax.pipeline._engine import drop_engine_tables, write_engine_table

from .test_parity import CDNOW, RETAIL, assert_same_quality, assert_same_table

pytestmark = pytest.mark.filterwarnings(
    "ignore:The 'future.infer_string' option is deprecated")

SERVERS = [pytest.param("postgres", marks=pytest.mark.postgres),
           pytest.param("mariadb", marks=pytest.mark.mariadb)]
WORK = ("valuemax_transactions_raw", "valuemax_transactions_clean", "valuemax_quarantine",
        "valuemax_customers", "valuemax_calibration_holdout", "valuemax_runs")


def _run(con, data, name, options, **extra):
    write_engine_table(con, name, data)
    try:
        res = analyze(None, engine=con, table=name, **options, **extra)
        raw = con.table("valuemax_transactions_raw")
        numbered = raw.aggregate(n=raw.count(), lo=raw._row_id.min(), hi=raw._row_id.max(),
                                 k=raw._row_id.nunique()).to_pyarrow().to_pylist()[0]
        return res, numbered, set(con.list_tables())
    finally:
        drop_engine_tables(con, (name, *WORK))


@pytest.mark.parametrize("which", SERVERS)
def test_typed_cdnow_normalised_on_the_server(which, request, cdnow_typed, tmp_path):
    """No push: the run record says the engine normalised, 0 rows pushed, and the engine's
    raw table is the source numbered 1..n there; the same table from a file is pushed
    (the counter counts: both logs, 2 x 6,919 rows) and gives the same results."""
    con = request.getfixturevalue(which)
    res, numbered, tables = _run(con, cdnow_typed, "vm_norm_cdnow", CDNOW)
    assert res.params["normalised_on"] == "engine"
    assert res.params["rows_pushed"] == 0
    assert "normalised_locally_because" not in res.params
    assert numbered == {"n": 6_919, "lo": 1, "hi": 6_919, "k": 6_919}
    assert "valuemax_transactions_std" not in tables  # a working table, dropped at the end
    path = tmp_path / "cdnow.parquet"
    import pyarrow.parquet as pq

    pq.write_table(cdnow_typed, path)
    pushed = analyze(str(path), engine=con, **CDNOW)
    drop_engine_tables(con, WORK)
    assert pushed.params["normalised_on"] == "local"
    assert pushed.params["rows_pushed"] == 2 * 6_919
    assert_same_quality(res.quality, pushed.quality)
    assert_same_table(res.customers, pushed.customers)
    assert_same_table(res.calibration, pushed.calibration)


@pytest.fixture(scope="module")
def retail_typed_duckdb(retail_typed):
    return analyze(retail_typed, **RETAIL)


@pytest.mark.parametrize("which", SERVERS)
def test_typed_retail_same_as_duckdb(which, request, retail_typed, retail_typed_duckdb):
    """Online Retail typed as in a warehouse, normalised on the server: every reason code's
    count, the customer ids and every RFM/BTYD column (floats within 1e-9 relative) and the
    calibration/holdout table equal DuckDB's on the same table."""
    exp = retail_typed_duckdb
    fired = {r.code for r in exp.quality.rules if r.count}
    assert {"missing_customer_id", "duplicate_line", "non_product", "return_netted"} <= fired
    con = request.getfixturevalue(which)
    res, numbered, _ = _run(con, retail_typed, "vm_norm_retail", RETAIL)
    assert res.params["normalised_on"] == "engine" and res.params["rows_pushed"] == 0
    assert numbered["n"] == numbered["k"] == numbered["hi"] == 20_000
    assert_same_quality(res.quality, exp.quality)
    assert_same_table(res.customers, exp.customers)
    assert_same_table(res.calibration, exp.calibration)


@pytest.mark.parametrize("which", SERVERS)
def test_padded_ids_fall_back_with_the_reason(which, request, cdnow_typed):
    """Ids with surrounding blanks: each engine's regular expressions call other characters
    blanks, so the run normalises locally, says why, and gives DuckDB's result."""
    import pyarrow as pa

    padded = cdnow_typed.set_column(0, "customer_id", pa.array(
        [f"{c} " for c in cdnow_typed["customer_id"].to_pylist()], pa.string()))
    con = request.getfixturevalue(which)
    res, numbered, _ = _run(con, padded, "vm_norm_padded", CDNOW)
    assert res.params["normalised_on"] == "local"
    assert res.params["rows_pushed"] == 2 * 6_919  # the pushed raw replaced the engine's
    assert numbered == {"n": 6_919, "lo": 1, "hi": 6_919, "k": 6_919}
    why = res.params["normalised_locally_because"]
    assert "'customer_id' has values with surrounding blanks (6,919 by DuckDB" in why
    assert any(n.startswith("normalised in the local DuckDB") and why in n
               for n in res.ingest["notes"])
    exp = analyze(padded, **CDNOW)
    assert_same_quality(res.quality, exp.quality)
    assert_same_table(res.customers, exp.customers)


@pytest.mark.parametrize("which", SERVERS)
def test_personal_data_leaves_the_engine_copy_too(which, request, cdnow_typed):
    """A column found to hold e-mail addresses is dropped from the store's copy and from the
    engine's ``valuemax_transactions_raw`` alike; the log is still normalised there."""
    import pyarrow as pa

    emails = pa.array([f"buyer{i}@example.com" for i in range(cdnow_typed.num_rows)])
    data = cdnow_typed.append_column("contact", emails)
    con = request.getfixturevalue(which)
    write_engine_table(con, "vm_norm_pii", data)
    try:
        res = analyze(None, engine=con, table="vm_norm_pii", **CDNOW)
        kept = con.table("valuemax_transactions_raw").columns
    finally:
        drop_engine_tables(con, ("vm_norm_pii", *WORK))
    assert res.ingest["privacy"]["dropped"] == ["contact"]
    assert res.params["normalised_on"] == "engine"
    assert "contact" not in kept and "_row_id" in kept and "customer_id" in kept
    assert res.quality.rows_in == 6_919


@pytest.mark.parametrize("which", SERVERS)
def test_typed_query_classic_preset_same_as_duckdb(which, request, retail_typed):
    """A ``query=`` source is numbered and normalised on the server as a table is; with the
    classic preset (returns excluded, not netted) the counts and tables equal DuckDB's."""
    con = request.getfixturevalue(which)
    write_engine_table(con, "vm_norm_q", retail_typed)
    try:
        res = analyze(None, engine=con, query="SELECT * FROM vm_norm_q", preset="classic",
                      **RETAIL)
    finally:
        drop_engine_tables(con, ("vm_norm_q", *WORK))
    exp = analyze(retail_typed, preset="classic", **RETAIL)
    assert res.params["normalised_on"] == "engine" and res.params["rows_pushed"] == 0
    assert res.ingest["source"].endswith("query SELECT * FROM vm_norm_q")
    assert_same_quality(res.quality, exp.quality)
    assert_same_table(res.customers, exp.customers)
    assert_same_table(res.calibration, exp.calibration)
