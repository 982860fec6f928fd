"""Bad input through the CLI (issue 2): a clear one-line reason, exit 2, nothing half-written;
or a completed run that says which step was skipped and why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from valuemax.cli import app

HEADER = "InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID\n"


def _run(cli_runner, *args):
    return cli_runner.invoke(app, [str(a) for a in args])


def _fails_cleanly(result, out: Path, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    text = result.stderr if hasattr(result, "stderr") else result.output
    assert "Traceback" not in result.output
    low = text.lower()
    for frag in fragments:
        assert frag.lower() in low, text
    assert not out.exists(), "a failed run left an output folder"
    assert not list(out.parent.glob(f".{out.name}.partial-*")), "a failed run left a temp folder"


def _log(lines: list[str]) -> str:
    return HEADER + "".join(line + "\n" for line in lines)


def _varied_log(n_customers: int = 12, repeat: bool = True) -> list[str]:
    rows = []
    for c in range(n_customers):
        for k in range(3 if (repeat and c % 2 == 0) else 1):
            day = 1 + (c * 3 + k * 7) % 27
            rows.append(f"{1000 + c * 10 + k},P{k},{1 + c % 4},2011-0{1 + k}-{day:02d} 10:00:00,"
                        f"{1.5 + c},{200 + c}")
    return rows


def test_empty_file(cli_runner, tmp_path):
    src = tmp_path / "empty.csv"
    src.write_bytes(b"")
    out = tmp_path / "out"
    _fails_cleanly(_run(cli_runner, "analyze", src, "--out", out), out, "empty")


def test_header_only(cli_runner, tmp_path):
    src = tmp_path / "header.csv"
    src.write_text(HEADER, encoding="utf-8")
    out = tmp_path / "out"
    _fails_cleanly(_run(cli_runner, "analyze", src, "--out", out), out, "no data")


def test_not_a_table(cli_runner, tmp_path):
    src = tmp_path / "picture.csv"
    src.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    out = tmp_path / "out"
    result = _run(cli_runner, "analyze", src, "--out", out)
    _fails_cleanly(result, out)


def test_missing_file(cli_runner, tmp_path):
    out = tmp_path / "out"
    _fails_cleanly(_run(cli_runner, "analyze", tmp_path / "nope.csv", "--out", out), out, "not found")


def test_wrong_delimiter_is_reported_or_handled(cli_runner, tmp_path):
    # Semicolon-separated with a .csv name: either read correctly (delimiter sniffed) or a
    # clear error naming the delimiter; never a one-column table mapped to nothing.
    src = tmp_path / "semi.csv"
    src.write_text(_log(_varied_log()).replace(",", ";"), encoding="utf-8")
    out = tmp_path / "out"
    result = _run(cli_runner, "analyze", src, "--out", out)
    if result.exit_code == 0:
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        assert summary["mapping"]["customer_id"] == "CustomerID"
        assert summary["rows_in"] == summary["rows_clean"] + summary["rows_quarantined"]
    else:
        _fails_cleanly(result, out, ";")


def test_gbk_file_with_chinese_headers(cli_runner, tmp_path):
    text = "订单号,商品名称,数量,下单时间,单价,客户ID\n" + "".join(
        f"{r.split(',')[0]},商品{i % 3},{r.split(',')[2]},{r.split(',')[3]},{r.split(',')[4]},"
        f"客户{r.split(',')[5]}\n"
        for i, r in enumerate(_varied_log())
    )
    src = tmp_path / "订单.csv"
    src.write_bytes(text.encode("gbk"))
    out = tmp_path / "out"
    result = _run(cli_runner, "analyze", src, "--out", out)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["encoding"] in ("gb18030", "gbk")
    assert summary["mapping"]["customer_id"] == "客户ID"
    assert summary["mapping"]["order_ts"] == "下单时间"
    assert summary["n_customers"] == 12
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "客户ID" in html


def test_dates_in_two_formats(cli_runner, tmp_path):
    # half the lines ISO, half day-first (days > 12, so each format alone is unambiguous)
    rows = [f"{i},P,1,{f'2011-01-{13 + i % 15:02d}' if i % 2 else f'{13 + i % 15}/01/2011'},"
            f"2.0,{100 + i % 4}" for i in range(20)]
    src = tmp_path / "mixed_dates.csv"
    src.write_text(_log(rows), encoding="utf-8")
    out = tmp_path / "out"
    _fails_cleanly(_run(cli_runner, "analyze", src, "--out", out), out, "format", "--date-format")
    ok = _run(cli_runner, "analyze", src, "--out", out, "--date-format", "%Y-%m-%d",
              "--date-format", "%d/%m/%Y")
    assert ok.exit_code == 0, ok.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["rows_clean"] == 20


def test_ambiguous_day_month_order(cli_runner, tmp_path):
    rows = [f"{i},P,1,0{1 + i % 9}/0{1 + (i * 5) % 9}/2011,2.0,{100 + i % 4}" for i in range(20)]
    src = tmp_path / "ambiguous.csv"
    src.write_text(_log(rows), encoding="utf-8")
    out = tmp_path / "out"
    _fails_cleanly(_run(cli_runner, "analyze", src, "--out", out), out, "--date-format")
    ok = _run(cli_runner, "analyze", src, "--out", out, "--date-format", "%d/%m/%Y")
    assert ok.exit_code == 0, ok.output


def test_amounts_with_thousands_separators_and_currency_signs(cli_runner, tmp_path):
    text = "order_id,customer_id,order_date,amount\n" + "".join(
        f'{i},{100 + i % 5},2011-02-{1 + i % 27:02d},"£{1 + i % 3},{i % 10}00.50"\n'
        for i in range(30)
    )
    src = tmp_path / "money.csv"
    src.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = _run(cli_runner, "analyze", src, "--out", out)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["rows_clean"] == 30
    spend = sum(1000 * (1 + i % 3) + 100 * (i % 10) + 0.5 for i in range(30))
    import pandas as pd

    got = pd.read_parquet(out / "customers.parquet")["total_spend"].sum()
    assert got == pytest.approx(spend)
    assert "£" in result.output  # the normalisation is reported, not silent


def test_all_rows_invalid(cli_runner, tmp_path):
    rows = [f"{i},P,1,2011-01-0{1 + i % 9} 10:00:00,2.0," for i in range(10)]
    src = tmp_path / "nocustomer.csv"
    src.write_text(_log(rows), encoding="utf-8")
    out = tmp_path / "out"
    _fails_cleanly(_run(cli_runner, "analyze", src, "--out", out), out, "missing_customer_id")


def test_single_customer_completes_and_says_what_was_skipped(cli_runner, tmp_path):
    rows = [f"{i},P,1,2011-01-0{1 + i} 10:00:00,2.0,777" for i in range(5)]
    src = tmp_path / "one.csv"
    src.write_text(_log(rows), encoding="utf-8")
    out = tmp_path / "out"
    result = _run(cli_runner, "analyze", src, "--out", out)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["n_customers"] == 1
    assert summary["kmeans"]["k"] is None and summary["kmeans"]["skipped"]
    assert "skipped" in result.output.lower()
    assert (out / "report.html").exists()


def test_no_repeat_customers(cli_runner, tmp_path):
    src = tmp_path / "once.csv"
    src.write_text(_log(_varied_log(repeat=False)), encoding="utf-8")
    out = tmp_path / "out"
    result = _run(cli_runner, "analyze", src, "--out", out)
    assert result.exit_code == 0, result.output
    import pandas as pd

    cust = pd.read_parquet(out / "customers.parquet")
    assert (cust["frequency"] == 0).all() and (cust["monetary_value"] == 0).all()


def test_bad_option_values_exit_2(cli_runner, tmp_path):
    src = tmp_path / "ok.csv"
    src.write_text(_log(_varied_log()), encoding="utf-8")
    out = tmp_path / "out"
    _fails_cleanly(_run(cli_runner, "analyze", src, "--out", out, "--time-unit", "M"), out, "--time-unit")
    _fails_cleanly(_run(cli_runner, "analyze", src, "--out", out, "--preset", "nope"), out, "preset")
    _fails_cleanly(_run(cli_runner, "analyze", src, "--out", out, "--map", "customer_id"), out, "canonical=source")
    _fails_cleanly(_run(cli_runner, "analyze", src, "--out", out, "--observation-end", "yesterday"), out, "observation")
    _fails_cleanly(_run(cli_runner, "analyze", src, "--out", out, "--map", "customer_id=A",
                        "--map", "customer_id=B"), out, "twice")
    _fails_cleanly(_run(cli_runner, "analyze", src, "--out", out, "--seed", "99999999999"), out, "seed")


@pytest.mark.parametrize(("args", "what", "where"), [
    (["analyze", "--bogus", "x"], "No such option: --bogus", "valuemax analyze --help"),
    (["analzye"], "No such command 'analzye'. Did you mean 'analyze'?", "valuemax --help"),
    (["analyze", "--random-state", "abc", "x.csv"], "Invalid value for '--random-state'",
     "valuemax analyze --help"),
    (["clv"], "Missing argument 'PATH'", "valuemax clv --help"),
    (["target", "--holdout"], "Option '--holdout' requires an argument",
     "valuemax target --help"),
    (["--nope"], "No such option: --nope", "valuemax --help"),
])
def test_usage_errors_are_one_line(cli_runner, args, what, where):
    """An unknown command or option, a missing argument or a value of the wrong type: one
    line on stderr (what is wrong, which --help lists the options), exit 2, no box."""
    result = cli_runner.invoke(app, args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and what in lines[0] and f"'{where}'" in lines[0]
    assert "╭" not in result.output and "Usage:" not in result.output


@pytest.mark.parametrize(("args", "what"), [
    (["experiment", "--bogus"], "No such option: --bogus"),
    (["experiment", "x.csv", "--bogus"], "No such option: --bogus"),
    (["experiment", "--arm", "segment"], "Missing argument 'TABLE'"),
])
def test_usage_error_of_a_default_command_names_the_typed_group(cli_runner, args, what):
    """``valuemax experiment ...`` runs ``readout`` without the user typing it: the error
    line names ``valuemax experiment --help`` (what was typed) first, then where the
    readout's own options are listed, and both commands exist."""
    result = cli_runner.invoke(app, args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and what in lines[0]
    typed, default = "'valuemax experiment --help'", "'valuemax experiment readout --help'"
    assert typed in lines[0] and default in lines[0]
    assert lines[0].index(typed) < lines[0].index(default)
    for named in (["experiment", "--help"], ["experiment", "readout", "--help"]):
        shown = cli_runner.invoke(app, named)
        assert shown.exit_code == 0 and "Usage: valuemax " + " ".join(named[:-1]) in shown.stdout
    # a typed command is named alone, as before
    typed_readout = cli_runner.invoke(app, ["experiment", "readout", "--bogus"])
    assert "'valuemax experiment readout --help' lists the options" in typed_readout.stderr
    assert "'valuemax experiment --help'" not in typed_readout.stderr


@pytest.mark.parametrize("args", [[], ["experiment"]])
def test_no_arguments_shows_the_help_and_no_error_line(cli_runner, args):
    """``valuemax`` (or a command group) alone answers with its help, not an error line."""
    result = cli_runner.invoke(app, args)
    assert result.exit_code == 2
    assert "Usage:" in result.stdout and "--help" in result.stdout
    assert "error" not in result.stderr


def test_experiment_from_a_log_names_its_column_options(cli_runner, tmp_path):
    """``readout_from_log`` names its keywords (``customer_id= / arm= / assigned_at=``);
    ``valuemax experiment --log`` shows the options that set them."""
    (tmp_path / "a.csv").write_text("customer_id,group\nc1,A\nc2,B\n", encoding="utf-8")
    (tmp_path / "log.csv").write_text("customer_id,date,amount\nc1,2024-01-02,5\n"
                                      "c2,2024-01-03,7\n", encoding="utf-8")
    res = cli_runner.invoke(app, ["experiment", str(tmp_path / "a.csv"), "--log",
                                  str(tmp_path / "log.csv"), "--window-days", "3",
                                  "--control", "A", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert res.stderr.strip() == (
        "error: assignment column(s) ['arm', 'assigned_at'] not found; available: "
        "customer_id, group (--id / --arm / --assigned-at).")


def test_corrupt_parquet_part_fails_in_one_line_naming_it(cli_runner, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    parts = tmp_path / "export"
    parts.mkdir()
    pq.write_table(pa.table({"CustomerID": ["c1"], "InvoiceDate": ["2011-01-04"],
                             "UnitPrice": [2.5]}), parts / "part-0.parquet")
    (parts / "part-1.parquet").write_bytes(b"an unfinished export")
    out = tmp_path / "out"
    result = _run(cli_runner, "analyze", parts, "--out", out)
    _fails_cleanly(result, out, "the part 'part-1.parquet' could not be read as parquet",
                   "magic bytes", "export again")
    text = result.stderr if hasattr(result, "stderr") else result.output
    assert len(text.strip().splitlines()) == 1, text
