"""The renamed flags (``--random-state``, ``--horizon-months``, ``--horizon-days``) and their
old names, which stay accepted; each command builds its options objects once."""

from __future__ import annotations

import json

import pytest

from valuemax.cli import app

CDNOW_COLS = "customer_id,customer_index,date,number_of_cds,dollar_value"


@pytest.mark.parametrize("flag", ["--random-state", "--seed"])
def test_random_state_and_its_old_name_record_the_seed(cli_runner, datasets, tmp_path, flag):
    out = tmp_path / "out"
    res = cli_runner.invoke(app, ["analyze", str(datasets("cdnow/CDNOW_sample.txt")),
                                  "--columns", CDNOW_COLS, "--no-clv", "--no-propensity",
                                  "--clusters", "none", flag, "3", "--out", str(out)])
    assert res.exit_code == 0, res.output
    params = json.loads((out / "summary.json").read_text(encoding="utf-8"))["params"]
    assert params["random_state"] == 3 and "seed" not in params


@pytest.mark.parametrize(("command", "flag", "value", "message"), [
    ("analyze", "--horizon-days", "4000", "--horizon-days 4000 must be a whole number of days"),
    ("analyze", "--horizon", "0", "--horizon-days 0 must be a whole number of days"),
    ("propensity", "--horizon", "-5", "--horizon-days -5 must be a whole number of days"),
    ("analyze", "--horizon-months", "0", "--horizon-months 0 must be a whole number of months"),
    ("clv", "--clv-horizon", "700", "--horizon-months 700 must be a whole number of months"),
    ("analyze", "--random-state", "-1",
     "random_state=-1 must be an integer seed in 0..4294967295 (e.g. 0) (--random-state)"),
    ("clv", "--seed", "4294967296", "random_state=4294967296 must be an integer seed"),
])
def test_bad_values_under_either_name_exit_2_naming_the_new_flag(cli_runner, tmp_path,
                                                                 command, flag, value, message):
    # refused while the options are built, before the (absent) file is read
    res = cli_runner.invoke(app, [command, str(tmp_path / "absent.csv"), flag, value])
    assert res.exit_code == 2
    assert message in " ".join(res.output.split())


@pytest.mark.parametrize(("command", "flags"), [
    ("analyze", ["--random-state", "--horizon-months", "--horizon-days"]),
    ("clv", ["--random-state", "--horizon-months"]),
    ("propensity", ["--random-state", "--horizon-days"]),
    ("rules", ["--random-state"]),
])
def test_help_shows_the_new_names(cli_runner, command, flags):
    res = cli_runner.invoke(app, [command, "--help"], terminal_width=200)
    assert res.exit_code == 0
    for flag in flags:
        assert flag in res.output, flag
