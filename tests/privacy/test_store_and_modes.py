"""The store is rewritten without freed pages; part outputs are owner-only too."""

from __future__ import annotations

import os
import stat

import duckdb
import pandas as pd

from valuemax.cli import app
from valuemax.pipeline._workspace import compact_store
from valuemax.privacy import make_private

from ._scan import holding, output_texts

MARK = "secret-marker-"


def test_duckdb_keeps_replaced_pages_and_compact_store_removes_them(tmp_path):
    db = tmp_path / "s.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(f"CREATE TABLE raw AS SELECT '{MARK}' || i AS pii, i AS id "
                    "FROM range(50) t(i)")
        con.execute("CHECKPOINT")
        con.execute("CREATE OR REPLACE TABLE raw AS SELECT id FROM raw")
        con.execute("CREATE TABLE other AS SELECT id * 2 AS x FROM raw")
        con.execute("CHECKPOINT")
    # the precondition: the replaced table's values are still in the file
    assert MARK.encode() in db.read_bytes()
    compact_store(db)
    assert MARK.encode() not in db.read_bytes()
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.sql("SELECT sum(id), count(*) FROM raw").fetchone() == (1225, 50)
        assert con.sql("SELECT sum(x) FROM other").fetchone() == (2450,)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["s.duckdb"]


def test_make_private_sets_modes_without_following_links_or_touching_shared_files(tmp_path):
    folder = tmp_path / "f"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.csv").write_text("x")
    (folder / "sub" / "b.csv").write_text("y")
    user = tmp_path / "users_file.txt"
    user.write_text("mine")
    os.chmod(user, 0o644)
    os.link(user, folder / "linked.txt")  # a user's file linked into an output folder
    os.symlink(user, folder / "sym.txt")
    done = make_private([folder])
    assert {p.name for p in done} == {"f", "sub", "a.csv", "b.csv"}
    modes = {p: stat.S_IMODE(p.lstat().st_mode) for p in (folder, folder / "sub",
                                                          folder / "a.csv",
                                                          folder / "sub" / "b.csv")}
    assert set(modes.values()) <= {0o600, 0o700} and modes[folder] == 0o700
    assert stat.S_IMODE(user.stat().st_mode) == 0o644


def test_clv_out_pseudonymised_and_owner_only(tmp_path, cli_runner, datasets, monkeypatch):
    monkeypatch.setenv("VALUEMAX_PSEUDONYM_KEY", "a key for the clv command, 32 b")
    out = tmp_path / "clv"
    old = os.umask(0)
    try:
        res = cli_runner.invoke(app, [
            "clv", str(datasets("cdnow/CDNOW_sample.txt")), "--columns",
            "customer_id,customer_index,date,number_of_cds,dollar_value", "--time-unit", "W",
            "--calibration-end", "1997-09-30", "--clv-model", "bgnbd", "--out", str(out),
            "--pseudonymize"])
    finally:
        os.umask(old)
    assert res.exit_code == 0, res.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()} == {0o600}
    ids = pd.read_csv(out / "clv.csv", dtype={"customer_id": str})["customer_id"]
    assert len(ids) == 2357 and ids.str.fullmatch("[0-9a-f]{64}").all()
    texts = output_texts(out)
    assert holding(texts, ["a key for the clv command"]) == {}



def test_a_runs_table_of_an_earlier_version_gains_the_outputs_column(tmp_path):
    import json
    from datetime import datetime

    from valuemax.clean import QualityReport, RuleCount
    from valuemax.engines import connect
    from valuemax.pipeline._store import record_run
    from valuemax.pipeline._workspace import Workspace

    q = QualityReport(rows_in=3, rows_clean=2, rows_quarantined=1,
                      rules=(RuleCount("missing_customer_id", "No customer id.", 1),),
                      observation_end=datetime(2025, 12, 31).date(), preset="standard",
                      returns="exclude", outliers="off", n_outliers=0, netted_revenue=0.0,
                      notes=())
    kw = {"started": datetime(2026, 1, 1), "params": {}, "ingest": {"source": "x"},
          "quality": q, "n_customers": 2, "timings": {}}
    user_db = tmp_path / "user.duckdb"
    con = connect(user_db)
    record_run(con, **kw, outputs={"files": ["old"]})
    con.raw_sql("ALTER TABLE runs DROP COLUMN outputs")  # as an earlier version wrote it
    # the run's own store continuing an old one (db inside out): record_run adds it
    record_run(con, **kw, outputs={"files": ["a.csv"]})
    rows = con.raw_sql("SELECT outputs FROM runs ORDER BY rowid").fetchall()
    assert rows[0][0] is None and json.loads(rows[1][0]) == {"files": ["a.csv"]}
    con.raw_sql("ALTER TABLE runs DROP COLUMN outputs")
    con.disconnect()
    # a user's store elsewhere (--db): the copy adds the column before inserting
    ws = Workspace(None, user_db)
    try:
        run = connect(ws.store)
        record_run(run, **kw, outputs={"files": ["b.csv"]})
        ws.copy_store_to_db(run, run.list_tables())
        run.disconnect()
    finally:
        ws.discard()
    with duckdb.connect(str(user_db), read_only=True) as db:
        rows = db.sql("SELECT outputs FROM runs ORDER BY rowid").fetchall()
    assert len(rows) == 3 and rows[0][0] is None and rows[1][0] is None
    assert json.loads(rows[2][0]) == {"files": ["b.csv"]}


_KILLED_RUN = """
import os, signal, sys
from pathlib import Path
import pandas as pd
from valuemax._core._csv import write_csv
from valuemax.engines import connect
from valuemax.pipeline._workspace import Workspace

os.umask(0o022)  # a permissive umask: files would be 0644
ws = Workspace(Path(sys.argv[1]), None)
frame = pd.DataFrame({"customer_id": ["a", "b"], "x": [1.0, 2.0]})
frame.to_parquet(ws.tmp / "customers.parquet")
write_csv(frame, ws.tmp / "customers.csv")
(ws.tmp / "report.html").write_text("<html></html>", encoding="utf-8")
con = connect(ws.store)
con.create_table("customers", frame)
con.disconnect()
os.kill(os.getpid(), signal.SIGKILL)  # killed before publishing, as by kill -9
"""


def test_a_killed_runs_partial_folder_holds_owner_only_files(tmp_path):
    """The files a SIGKILLed run left in its ``.partial-*`` folder are 0600 (as published
    outputs are), written under the run's umask 0o077 whatever the process umask was."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-c", _KILLED_RUN, str(out)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    partial = [p for p in tmp_path.iterdir() if p.name.startswith(".out.partial-")]
    assert len(partial) == 1 and not out.exists()
    files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in partial[0].rglob("*")
             if p.is_file()}
    assert {"customers.parquet", "customers.csv", "report.html", "valuemax.duckdb"} <= set(files)
    assert files == dict.fromkeys(files, 0o600)
    assert stat.S_IMODE(partial[0].stat().st_mode) == 0o700


def test_the_umask_is_restored_when_the_run_ends(tmp_path):
    from valuemax.pipeline._workspace import Workspace

    old = os.umask(0o022)
    try:
        ws = Workspace(tmp_path / "out", None)
        assert os.umask(0o077) == 0o077  # (set and read back: the run's umask)
        ws.discard()
        assert os.umask(0o022) == 0o022  # the caller's umask again
        ws = Workspace(tmp_path / "out", None)
        (ws.tmp / "a.csv").write_text("x\n", encoding="utf-8")
        ws.publish()
        assert os.umask(0o022) == 0o022
        assert stat.S_IMODE((tmp_path / "out" / "a.csv").stat().st_mode) == 0o600
    finally:
        os.umask(old)
