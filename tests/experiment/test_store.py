"""``--out`` and ``--db`` of ``valuemax experiment | target``: files, store tables, runs rows."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from valuemax.cli import app
from valuemax.experiment import readout
from valuemax.pipeline._decide_outputs import STORE_TABLE, _runs_row
from valuemax.pipeline._workspace import STORE_TABLES


@pytest.fixture
def table(tmp_path, rng):
    n = 900
    arm = rng.choice(["control", "mail"], size=n)
    pre = rng.gamma(2.0, 20.0, n)
    df = pd.DataFrame({"arm": arm, "buy": (rng.random(n) < 0.2 + 0.1 * (arm == "mail"))
                       .astype(int), "spend": 0.5 * pre + rng.normal(0, 5, n), "pre": pre})
    path = tmp_path / "exp.csv"
    df.to_csv(path, index=False)
    return path, df


def _args(path, *extra):
    return ["experiment", str(path), "--arm", "arm", "--control", "control", "--metric", "buy",
            "--metric", "spend", "--covariate", "pre", *map(str, extra)]


def _query(db, sql):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(sql).df()


def test_store_table_and_runs_row_in_one_store(cli_runner, table, tmp_path):
    path, df = table
    db = tmp_path / "store.duckdb"
    with duckdb.connect(str(db)) as con:  # a table of another run that must stay
        con.sql("CREATE TABLE customers AS SELECT 'c1' AS customer_id, 3 AS n_orders")
    res = cli_runner.invoke(app, _args(path, "--db", db, "--json"))
    assert res.exit_code == 0, res.output
    api = readout(df, arm="arm", control="control", metrics=["buy", "spend"],
                  covariates=["pre"]).to_frame()
    got = _query(db, "SELECT * FROM experiments ORDER BY metric, arm")
    assert got[["metric", "arm"]].values.tolist() == [["buy", "mail"], ["spend", "mail"]]
    for col in ("absolute_lift", "absolute_ci_low", "absolute_ci_high", "p_adjusted",
                "relative_lift"):
        assert got[col].to_numpy() == pytest.approx(api[col].to_numpy(), rel=1e-12)
    counts = df["arm"].value_counts()
    assert (got["n_control"] == counts["control"]).all()
    assert (got["n_treatment"] == counts["mail"]).all()
    assert got["correction"].tolist() == ["holm", "holm"]
    assert 0 < got["variance_reduction"].iloc[1] < 1 and not got["srm_alert"].any()
    runs = _query(db, "SELECT * FROM runs")
    assert len(runs) == 1 and set(got["run_id"]) == set(runs["run_id"])
    params = json.loads(runs["parameters"].iloc[0])
    assert params["command"] == "experiment" and params["covariates"] == ["pre"]
    assert _query(db, "SELECT * FROM customers")["customer_id"].tolist() == ["c1"]
    # a second run replaces the table and appends its runs row
    res = cli_runner.invoke(app, _args(path, "--db", db, "--correction", "bh"))
    assert res.exit_code == 0, res.output
    again = _query(db, "SELECT * FROM experiments")
    runs = _query(db, "SELECT * FROM runs ORDER BY started_at")
    assert len(again) == 2 and set(again["correction"]) == {"bh"}
    assert len(runs) == 2 and set(again["run_id"]) == {runs["run_id"].iloc[-1]}


def test_a_store_the_command_creates_is_private(cli_runner, table, tmp_path):
    """A new store holds customer-level rows: owner-only (0600), as analyze's stores."""
    path, _ = table
    db = tmp_path / "new.duckdb"
    res = cli_runner.invoke(app, _args(path, "--db", db))
    assert res.exit_code == 0, res.output
    assert db.stat().st_mode & 0o777 == 0o600


def test_the_runs_row_has_the_main_jobs_columns_and_types():
    """A store started by a part command must take the main job's runs rows (INSERT BY NAME)."""
    import ibis

    from valuemax.clean import QualityReport, RuleCount
    from valuemax.pipeline._store import record_run

    con = ibis.duckdb.connect()
    quality = QualityReport(
        rows_in=10, rows_clean=9, rows_quarantined=1,
        rules=(RuleCount("missing_customer_id", "No customer id.", 1),),
        observation_end=dt.date(2025, 12, 31), preset="standard", returns="exclude",
        outliers="off", n_outliers=0, netted_revenue=0.0, notes=())
    record_run(con, started=dt.datetime(2026, 1, 1), params={}, ingest={"source": "x"},
               quality=quality, n_customers=3, timings={})
    main = con.table("runs").schema()
    ours = _runs_row("r1", "target", "s.csv", {}, dt.datetime(2026, 1, 1), 5)
    con.create_table("ours", pa.Table.from_pandas(ours, preserve_index=False))
    assert con.table("ours").schema() == main


def test_bad_input_writes_nothing(cli_runner, table, tmp_path):
    path, _ = table
    db = tmp_path / "store.duckdb"
    with duckdb.connect(str(db)) as con:
        con.sql("CREATE TABLE experiments AS SELECT 1 AS x")
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    out = tmp_path / "out"
    res = cli_runner.invoke(app, ["experiment", str(path), "--arm", "arm", "--control", "nobody",
                                  "--metric", "buy", "--out", str(out), "--db", str(db)])
    assert res.exit_code == 2
    assert "control arm 'nobody' is not in column 'arm'" in res.output
    assert not out.exists()
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_a_folder_holding_another_commands_report_is_refused(cli_runner, table, tmp_path):
    path, _ = table
    scores = tmp_path / "scores.csv"
    rng = np.random.default_rng(0)
    pd.DataFrame({"customer_id": [f"c{i}" for i in range(50)],
                  "uplift": rng.uniform(0, 0.2, 50)}).to_csv(scores, index=False)
    out = tmp_path / "campaign"
    res = cli_runner.invoke(app, ["target", str(scores), "--value", "20", "--margin", "0.5",
                                  "--cost-per-contact", "0.1", "--holdout", "0.2",
                                  "--start", "2026-03-02", "--out", str(out)])
    assert res.exit_code == 0, res.output
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert set(summary) == {"targets"}
    assert summary["targets"] == json.loads((out / "target_summary.json").read_text("utf-8"))
    res = cli_runner.invoke(app, _args(path, "--out", out))
    assert res.exit_code == 2
    assert "already holds report.html (written by valuemax target)" in res.output
    assert "--out" in res.output and str(out / "experiment") in res.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # its own folder is fine, and a rerun replaces its own report
    own = tmp_path / "readout"
    for _ in range(2):
        res = cli_runner.invoke(app, _args(path, "--out", own))
        assert res.exit_code == 0, res.output
    assert "Did it work?" in (own / "report.html").read_text(encoding="utf-8")


def test_store_tables_are_documented():
    assert set(STORE_TABLE.values()) <= set(STORE_TABLES)
