"""The store's DuckDB never draws its progress bar on standard output.

DuckDB's Python client draws a progress bar on stdout for any query longer than
``progress_bar_time`` (2 s), even when stdout is a pipe: it corrupted ``--json`` output and
once showed up in a spawned run's step lines. The bar is a per-connection setting, on by
default in a plain process (the control below; pytest's captured stdout turns the default
off, hence the subprocesses); every connection the store opens must have it off.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

_SETTING = "SELECT current_setting('enable_progress_bar')"


def _setting_in_a_process(open_connection: str) -> str:
    """``enable_progress_bar`` of a connection opened in a fresh process (stdout a pipe)."""
    code = (f"{open_connection}\n"
            f"print(sql({_SETTING!r}).fetchall()[0][0])\n"
            "sql('SELECT count(*) FROM range(1000)').fetchall()\n"
            f"print(sql({_SETTING!r}).fetchall()[0][0])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    return done.stdout


def test_plain_duckdb_draws_the_bar_by_default():
    assert _setting_in_a_process(
        "import duckdb\ncon = duckdb.connect()\nsql = con.sql") == "True\nTrue\n"


@pytest.mark.parametrize("where", ["memory", "file"])
def test_the_store_connection_has_the_bar_off(where, tmp_path):
    target = "None" if where == "memory" else repr(str(tmp_path / "store.duckdb"))
    assert _setting_in_a_process(
        f"from valuemax.engines import connect\nsql = connect({target}).raw_sql"
    ) == "False\nFalse\n"
