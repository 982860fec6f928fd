"""The calibration end's messages on the command line: options the user passed, CLI words
(no Python types), an empty value quoted."""

from __future__ import annotations

import pytest

from valuemax.cli import app


@pytest.fixture
def small_log(tmp_path):
    """20 customers buying from 2024-01-10 to 2024-05-14 (the log's last day)."""
    lines = ["customer_id,date,amount"]
    lines += [f"C{c:03d},2024-0{1 + k}-1{k},{10 + k}.50" for c in range(20) for k in range(5)]
    path = tmp_path / "log.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _error(cli_runner, path, *args):
    result = cli_runner.invoke(app, ["analyze", str(path), "--out",
                                     str(path.parent / "out"), *args],
                               env={"COLUMNS": "400"})
    assert result.exit_code == 2, result.output
    return " ".join(result.output.split())


@pytest.mark.parametrize("day", ["2024-05-14", "2024-07-01"])
def test_a_calibration_end_at_or_after_the_end_names_the_logs_last_day(cli_runner, small_log,
                                                                        day):
    text = _error(cli_runner, small_log, "--calibration-end", day)
    assert f"--calibration-end {day} must be before the log's last day 2024-05-14" in text
    assert "--observation-end" not in text  # never passed
    # passed: then it is named
    text = _error(cli_runner, small_log, "--calibration-end", day,
                  "--observation-end", "2024-05-14")
    assert "must be before --observation-end 2024-05-14" in text


@pytest.mark.parametrize(("value", "shown"), [("30/06/2024", "'30/06/2024'"), ("", "''")])
def test_a_malformed_calibration_end_in_cli_words(cli_runner, small_log, value, shown):
    text = _error(cli_runner, small_log, "--calibration-end", value)
    assert f"--calibration-end {shown} is not a date YYYY-MM-DD" in text
    assert "datetime" not in text and "None" not in text
    assert "leave the option out for the last third of the span held out" in text
