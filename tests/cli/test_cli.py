"""CLI behaviour: output equals the API's, inspect, headerless files, debug tracebacks."""

from __future__ import annotations

import json

import pytest

import valuemax
from valuemax.cli import app
from valuemax.exceptions import InputError

CDNOW_COLS = "customer_id,customer_index,date,number_of_cds,dollar_value"


def test_cli_output_equals_api_output(cli_runner, datasets, tmp_path):
    src = datasets("cdnow/CDNOW_sample.txt")
    out = tmp_path / "cli"
    result = cli_runner.invoke(app, ["analyze", str(src), "--out", str(out), "--columns",
                                     CDNOW_COLS, "--time-unit", "W", "--seed", "1"])
    assert result.exit_code == 0, result.output
    api = valuemax.analyze(str(src), columns=CDNOW_COLS.split(","), time_unit="W", random_state=1)
    cli_summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    api_summary = api.summary
    for key in ("rows_in", "rows_clean", "quarantine_by_reason", "n_customers",
                "observation_end", "segments", "kmeans", "rfm_cut_points"):
        assert cli_summary[key] == api_summary[key], key
    assert "report" in result.output and "report.html" in result.output


def test_headerless_file_needs_columns(cli_runner, datasets, tmp_path):
    src = datasets("cdnow/CDNOW_sample.txt")
    result = cli_runner.invoke(app, ["inspect", str(src)])
    assert result.exit_code == 2
    assert "--columns" in (result.stderr or result.output)


def test_inspect_json(cli_runner, datasets):
    src = datasets("cdnow/CDNOW_master.txt")
    result = cli_runner.invoke(app, ["inspect", str(src), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    q = payload["quality"]
    assert q["rows_in"] == 69_659 == q["rows_clean"] + q["rows_quarantined"]
    assert payload["ingest"]["mapping"]["customer_id"] == "customer_id"
    assert payload["ingest"]["date_formats"] == ["%Y%m%d"]


def test_debug_shows_the_traceback(cli_runner, tmp_path):
    src = tmp_path / "empty.csv"
    src.write_bytes(b"")
    plain = cli_runner.invoke(app, ["inspect", str(src)])
    assert plain.exit_code == 2
    assert "Traceback" not in plain.output
    assert not isinstance(plain.exception, InputError)
    debug = cli_runner.invoke(app, ["inspect", str(src), "--debug"])
    assert debug.exit_code != 0
    assert isinstance(debug.exception, InputError)


@pytest.mark.parametrize("cmd", [["--help"], ["analyze", "--help"], ["inspect", "--help"], ["demo", "--help"]])
def test_help(cli_runner, cmd):
    result = cli_runner.invoke(app, cmd)
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_decimal_comma_option(cli_runner, tmp_path):
    src = tmp_path / "eu.csv"
    src.write_text("order_id;customer_id;order_date;amount\n"
                   + "".join(f"{i};{100 + i % 3};2011-02-{1 + i:02d};1.2{i % 10}0,50\n" for i in range(25)),
                   encoding="utf-8")
    out = tmp_path / "out"
    failed = cli_runner.invoke(app, ["analyze", str(src), "--out", str(out)])
    assert failed.exit_code == 2 and "decimal" in failed.stderr
    result = cli_runner.invoke(app, ["analyze", str(src), "--out", str(out), "--decimal", ","])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["rows_clean"] == 25
    import pandas as pd

    total = pd.read_parquet(out / "customers.parquet")["total_spend"].sum()
    assert total == pytest.approx(sum(1200 + 10 * (i % 10) + 0.5 for i in range(25)))


def test_inspect_shows_the_returns_netting(cli_runner, tmp_path):
    """New user: `valuemax inspect` showed the quality table but not what analyze deducts
    for returns; it now prints the same money identities (counted here by hand: purchases
    3 x 10 + 2 x 5 + 1 x 5 = 45, the return of 1 x 10 netted against order O1)."""
    path = tmp_path / "ret.csv"
    path.write_text("customer_id,order_id,order_ts,product_id,quantity,unit_price\n"
                    "A,O1,2024-01-01 10:00:00,P,3,10.00\nA,C1,2024-01-03 10:00:00,P,-1,10.00\n"
                    "B,O2,2024-01-02 10:00:00,Q,2,5.00\nB,O3,2024-01-05 10:00:00,Q,1,5.00\n",
                    encoding="utf-8")
    result = cli_runner.invoke(app, ["inspect", str(path)], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert ("returns netted (money in the log's currency): purchases 45.00 - refunds "
            "deducted 10.00 = clean spend 35.00") in text
    assert "refunds not netted 0.00 (every return was netted)" in text
    # the same as analyze's identities (summary.json's returns_netting)
    found = valuemax.inspect(str(path))
    assert found.quality.reconciliation()["clean_spend"] == pytest.approx(35.0)
