"""A model step that fails never takes down the main job (issue 9, point 2): the CLI exits 0,
names the step and the message (the exception type stays in summary.json and the API),
writes every other output, and shows the traceback only with --debug. Flags render without a ``<bool>`` type (point 7)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

import valuemax
from valuemax.cli import app
from valuemax.clv._btyd import finite_or_raise
from valuemax.exceptions import ValuemaxError
from valuemax.pipeline import _analyze

HEADER = "InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID\n"


@pytest.fixture
def small_log(tmp_path):
    lines = [f"{1000 + c * 10 + k},P{k},{1 + c % 3},2011-0{1 + k}-{1 + c:02d} 10:00:00,"
             f"{2.5 + c},{200 + c}\n" for c in range(6) for k in range(1 + c % 3)]
    src = tmp_path / "log.csv"
    src.write_text(HEADER + "".join(lines), encoding="utf-8")
    return src


def _issue_error(*_args, **_kwargs):
    """The value step's crash of issue 9, raised by the real overflow check."""
    finite_or_raise(np.array([np.inf] * 37), "BetaGeoModel.expected_purchases",
                    [70691.5, 615655.6, 0.04, 1049.4])


def test_a_crashing_value_step_is_skipped_and_the_rest_is_written(
        cli_runner, small_log, tmp_path, monkeypatch):
    monkeypatch.setattr(_analyze, "run_value", _issue_error)
    out = tmp_path / "out"
    result = cli_runner.invoke(app, ["analyze", str(small_log), "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    reason = summary["skipped"]["value"]
    assert reason.startswith("ConvergenceError: BetaGeoModel.expected_purchases: the "
                             "prediction is not finite for 37 of 37 values")
    assert summary["clv"] is None
    for name in ("report.html", "customers.parquet", "customers.csv", "quarantine.parquet",
                 "valuemax.duckdb"):
        assert (out / name).is_file(), name
    text = " ".join(result.output.split())
    assert "skipped value: BetaGeoModel.expected_purchases: the prediction is not finite" in text
    assert "ConvergenceError" not in result.output
    assert "run with --debug for the traceback" in text
    # the CLI never advises an option it does not have (the estimator's "penalizer")
    assert "penalizer" not in result.output
    from typer.main import get_command

    options = {o for p in get_command(app).commands["analyze"].params for o in p.opts}
    assert set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", result.output)) <= options


def test_debug_prints_the_skipped_steps_traceback(cli_runner, small_log, tmp_path,
                                                  monkeypatch):
    monkeypatch.setattr(_analyze, "run_value", _issue_error)
    result = cli_runner.invoke(app, ["analyze", str(small_log), "--out", str(tmp_path / "o"),
                                     "--debug"])
    assert result.exit_code == 0, result.output
    assert "traceback of the skipped step value" in result.stderr
    assert "Traceback (most recent call last)" in result.stderr
    assert "finite_or_raise" in result.stderr


def test_any_exception_from_a_model_is_a_skip_with_its_type(small_log, monkeypatch):
    def singular(*_args, **_kwargs):
        raise np.linalg.LinAlgError("Singular matrix")

    def bad_value(*_args, **_kwargs):
        raise ValueError("Input contains NaN")

    monkeypatch.setattr(_analyze, "run_stats", singular)
    monkeypatch.setattr(_analyze, "run_basket", bad_value)
    result = valuemax.analyze(str(small_log), out=None, clv=False, random_state=0)
    assert result.skipped["stats"] == "LinAlgError: Singular matrix"
    assert result.skipped["basket"] == "ValueError: Input contains NaN"
    assert result.stats is None and result.basket is None
    assert set(result.tracebacks) == {"stats", "basket"}
    assert result.skipped["value"] == "customer value turned off with --no-clv (clv=False)"
    # the RFM segments, the first outputs, are all there
    assert result.customers["segment"].notna().all()


def test_environment_failures_still_stop_the_job(small_log, tmp_path, monkeypatch):
    def disk_full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_analyze, "run_stats", disk_full)
    out = tmp_path / "out"
    # a full disk is not a step failure: the job stops with the clear disk-full error
    with pytest.raises(ValuemaxError, match="disk full") as info:
        valuemax.analyze(str(small_log), out=out, clv=False, random_state=0)
    assert isinstance(info.value.__cause__, OSError)
    assert not out.exists()


@pytest.mark.parametrize("command", ["analyze", "inspect", "clv", "rules", "propensity",
                                     "demo", "experiment readout", "experiment plan", "uplift",
                                     "target"])
def test_flags_render_without_a_type(cli_runner, command):
    result = cli_runner.invoke(app, [*command.split(), "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "<bool>" not in result.output
    assert "--debug" in result.output
    flags = [line for line in result.output.splitlines() if "--debug" in line]
    assert flags and all("<" not in line for line in flags)
    top = cli_runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert "<bool>" not in top.output
    group = cli_runner.invoke(app, ["experiment", "--help"], env={"COLUMNS": "200"})
    assert group.exit_code == 0 and "<bool>" not in group.output


def test_steps_turned_off_name_the_keyword_in_python_and_the_flag_on_the_cli(small_log,
                                                                              cli_runner,
                                                                              tmp_path):
    result = valuemax.analyze(str(small_log), out=None, clv=False, propensity=False,
                              clusters="none", random_state=0)
    assert result.skipped["value"] == "customer value turned off with --no-clv (clv=False)"
    assert result.skipped["propensity"] == ("turned off with --no-propensity "
                                            "(propensity=False)")
    assert result.skipped["kmeans"] == ("clustering turned off with --clusters none "
                                        "(clusters='none')")
    res = cli_runner.invoke(app, ["analyze", str(small_log), "--no-clv", "--no-propensity",
                                  "--clusters", "none", "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    skips = sorted(line.strip() for line in res.stdout.splitlines()
                   if line.startswith("skipped "))
    # on the CLI the flag alone: the Python keyword is written as its flag, once
    assert skips == ["skipped kmeans: clustering turned off with --clusters none",
                     "skipped propensity: turned off with --no-propensity",
                     "skipped value: customer value turned off with --no-clv"]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["skipped"]["value"] == result.skipped["value"]


def test_a_real_input_error_inside_a_step_shows_its_message_without_the_type(cli_runner,
                                                                            tmp_path,
                                                                            monkeypatch):
    """A calibration end on the first purchase day makes the value step raise InputError
    (its own check, no fake error; ``analyze`` refuses that date before the job, so its
    guard is bypassed here): the terminal shows the message with the CLI option, not the
    class name; summary.json and the API keep ``"InputError: ..."`` (the machine-readable
    form)."""
    monkeypatch.setattr(_analyze, "refuse_empty_calibration", lambda *a, **k: None)
    rows = ["customer_id,date,amount"] + [
        f"c{c},2024-{1 + (c + k) % 2:02d}-{1 + 3 * k + c % 3:02d},10.0"
        for c in range(30) for k in range(1 + c % 3)]
    src = tmp_path / "log.csv"
    src.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = cli_runner.invoke(app, ["analyze", str(src), "--calibration-end", "2024-01-01",
                                     "--clusters", "none", "--no-propensity", "--out",
                                     str(out)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())  # the terminal wraps long lines
    line = text[text.index("skipped value:"):text.index("skipped propensity:")]
    assert line.startswith("skipped value: --calibration-end 2024-01-01 must fall after the "
                           "first purchase"), line
    assert line.endswith("(run with --debug for the traceback) "), line
    assert "InputError" not in result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["skipped"]["value"].startswith("InputError: calibration_end 2024-01-01 "
                                                  "must fall after the first purchase")


def test_a_calibration_end_before_the_first_purchase_is_refused_up_front(cli_runner,
                                                                         tmp_path):
    """Breaker: --calibration-end before the log's first purchase ran on, wrote an empty
    calibration_holdout.parquet and summary.json's calibration said 0 customers with no
    reason. It is refused before any output, as a calibration end after the log's end is
    (lifetimes returns the empty table silently; refusing names the valid range)."""
    rows = ["customer_id,date,amount"] + [
        f"c{c},2024-{1 + (c + k) % 2:02d}-{1 + 3 * k + c % 3:02d},10.0"
        for c in range(30) for k in range(1 + c % 3)]
    src = tmp_path / "log.csv"
    src.write_text("\n".join(rows) + "\n", encoding="utf-8")
    days = pd.to_datetime([r.split(",")[1] for r in rows[1:]])
    first, last = days.min().date().isoformat(), days.max().date().isoformat()
    out = tmp_path / "out"
    result = cli_runner.invoke(app, ["analyze", str(src), "--calibration-end", "2023-12-31",
                                     "--clusters", "none", "--no-propensity", "--out",
                                     str(out)])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert (f"error: --calibration-end 2023-12-31 must fall after the first purchase ({first}) "
            f"and before the observation end ({last})") in text
    assert not out.exists()
