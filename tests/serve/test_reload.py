"""A writer beside the server: DuckDB allows one read-write process and no reader beside it,
so the server must not hold the store open; it keeps answering from the loaded run while a
writer holds the file, and serves the new run once the writer is done."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

import httpx
from tests.serve.conftest import python_env, running_server

# A second process: opens the store read-write (impossible if the server held it), records a
# new run and changes one customer's CLV, then keeps the file open until told to close it.
WRITER = r"""
import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("BEGIN")
con.execute("INSERT INTO runs SELECT * REPLACE ('feedface' AS run_id, "
            "finished_at + INTERVAL 1 DAY AS finished_at) FROM runs ORDER BY finished_at DESC LIMIT 1")
con.execute("UPDATE clv SET clv_12 = 12345.5 WHERE customer_id = '00004'")
con.execute("COMMIT")
print("written", flush=True)
sys.stdin.readline()
con.close()
print("closed", flush=True)
"""


def _wait(check, seconds: float = 60.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError("condition not reached within the wait")


def test_new_run_is_served_after_the_writer_closes(cdnow_store, tmp_path):
    store = tmp_path / "store.duckdb"
    shutil.copyfile(cdnow_store, store)
    with running_server(store, token=None, tmp=tmp_path) as base:
        first = httpx.get(base + "/health").json()
        old_clv = httpx.get(base + "/customers/00004").json()["value"]["clv"]
        assert old_clv != 12345.5
        with subprocess.Popen([sys.executable, "-c", WRITER, str(store)], env=python_env(),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) as writer:
            # the writer could open the file read-write: the server does not hold it
            assert writer.stdout.readline().strip() == "written", writer.stderr.read()
            # while the writer holds the file, the server answers from the loaded run and
            # says a reload is pending, with DuckDB's reason
            held = _wait(lambda: (h := httpx.get(base + "/health").json())["reload_error"] and h)
            assert held["status"] == "stale" and held["reload_pending"] is True
            assert held["run_id"] == first["run_id"]
            assert "lock" in held["reload_error"].lower()
            assert httpx.get(base + "/customers/00004").json()["value"]["clv"] == old_clv
            writer.stdin.write("\n")
            writer.stdin.flush()
            assert writer.stdout.readline().strip() == "closed"
        new = _wait(lambda: (h := httpx.get(base + "/health").json())["run_id"] == "feedface"
                    and h)
        assert new["status"] == "ok" and new["reload_error"] is None
        assert httpx.get(base + "/customers/00004").json()["value"]["clv"] == 12345.5
        assert httpx.get(base + "/segments").json()["run_id"] == "feedface"
