"""``valuemax update`` on the command line: the same store as the API, one-line errors."""

from __future__ import annotations

import json

import duckdb

import valuemax
from valuemax.cli import app

from ._logs import FIRST, HEADER, SECOND, write_parts

OPTIONS = {"clv": False, "propensity": False, "clusters": "none"}


def test_cli_update_then_again_then_late(cli_runner, tmp_path):
    parts = write_parts(tmp_path, HEADER, FIRST, SECOND)
    store = tmp_path / "s.duckdb"
    valuemax.analyze(parts["first"], db=store, **OPTIONS)
    out = tmp_path / "out"
    run = cli_runner.invoke(app, ["update", "--db", str(store), str(parts["second"]),
                                  "--out", str(out)], env={"COLUMNS": "200"})
    assert run.exit_code == 0, run.output
    assert "11 new lines (5 clean, 6 quarantined" in run.output
    assert "observation end 2024-01-31 -> 2024-02-10" in run.output
    summary = json.loads((out / "update.json").read_text(encoding="utf-8"))
    assert summary["rows_clean"] == 5 and summary["applied"] is True
    con = duckdb.connect(str(store), read_only=True)
    try:
        n = con.execute("SELECT count(*) FROM customers").fetchone()[0]
    finally:
        con.close()
    assert (out / "customers.csv").read_text(encoding="utf-8-sig").count("\n") == n + 1
    again = cli_runner.invoke(app, ["update", "--db", str(store), str(parts["second"]),
                                    "--json"])
    assert again.exit_code == 0
    assert json.loads(again.output)["applied"] is False
    empty = tmp_path / "empty.csv"
    empty.write_text(HEADER, encoding="utf-8")
    quiet = cli_runner.invoke(app, ["update", "--db", str(store), str(empty)],
                              env={"COLUMNS": "200"})
    assert quiet.exit_code == 0, quiet.output
    assert "nothing changed: " in quiet.output and "no lines (a day without sales?)" in quiet.output
    late = tmp_path / "late.csv"
    late.write_text(HEADER + "2000,P1,Mug,1,2024-02-01 10:00,2.50,c1,UK\n", encoding="utf-8")
    bad = cli_runner.invoke(app, ["update", "--db", str(store), str(late)])
    assert bad.exit_code == 2
    assert "1 line is dated on or before the store's observation end 2024-02-10" in bad.output
    assert "Traceback" not in bad.output


def test_cli_update_help_has_an_example(cli_runner):
    run = cli_runner.invoke(app, ["update", "--help"], env={"COLUMNS": "200"})
    assert run.exit_code == 0
    assert "valuemax update --db results/valuemax.duckdb" in run.output
    assert "<bool>" not in run.output
