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
     "--random-state -1 must be an integer seed in 0..4294967295 (e.g. 0)"),
    ("clv", "--seed", "4294967296", "--random-state 4294967296 must be an integer seed"),
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


@pytest.mark.parametrize(("command", "old", "new", "value"), [
    ("analyze", "--seed", "--random-state", "7"),
    ("clv", "--clv-horizon", "--horizon-months", "0"),
    ("propensity", "--horizon", "--horizon-days", "0"),
    ("uplift", "--seed", "--random-state", "7"),
    ("target", "--seed", "--random-state", "7"),
])
def test_an_old_flag_name_prints_one_note_naming_the_new_flag(cli_runner, tmp_path, command,
                                                              old, new, value):
    # value 0 is refused for the horizons, 7 passes: the note comes first either way, once
    res = cli_runner.invoke(app, [command, str(tmp_path / "absent.csv"), f"{old}={value}"])
    notes = [line for line in res.stderr.splitlines() if line.startswith("note:")]
    assert notes == [f"note: {old} is renamed {new} (same meaning and unit); {old} will be "
                     f"removed: pass {new}"]
    # the absent file, the horizon 0 or (uplift, target) a missing required option: exit 2
    assert res.exit_code == 2


def test_the_new_flag_name_prints_no_note(cli_runner, tmp_path):
    res = cli_runner.invoke(app, ["clv", str(tmp_path / "absent.csv"), "--random-state", "3",
                                  "--horizon-months", "6"])
    assert res.exit_code == 2 and "note:" not in res.stderr
    assert "absent.csv" in " ".join(res.stderr.split())


@pytest.mark.parametrize(("command", "args", "shown"), [
    ("analyze", ["--seed", "3", "--random-state", "4"], "--seed 3, --random-state 4"),
    ("clv", ["--horizon-months=6", "--clv-horizon", "12"], "--clv-horizon 12, --horizon-months 6"),
    ("propensity", ["--horizon-days", "30", "--horizon=60"], "--horizon 60, --horizon-days 30"),
])
def test_old_and_new_flag_with_different_values_exit_2_in_one_line(cli_runner, tmp_path,
                                                                   command, args, shown):
    res = cli_runner.invoke(app, [command, str(tmp_path / "absent.csv"), *args])
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    old, new = shown.split(", ")[0].split()[0], shown.split(", ")[1].split()[0]
    assert lines[0] == (f"error: {shown} set one option to different values: {old} is the old "
                        f"name of {new}; pass {new} once")
    assert "absent.csv" not in res.stderr  # refused before anything is read


def test_old_and_new_flag_with_the_same_value_run_with_a_note(cli_runner, datasets, tmp_path):
    out = tmp_path / "out"
    res = cli_runner.invoke(app, ["analyze", str(datasets("cdnow/CDNOW_sample.txt")),
                                  "--columns", CDNOW_COLS, "--no-clv", "--no-propensity",
                                  "--clusters", "none", "--seed", "5", "--random-state", "05",
                                  "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert res.stderr.count("note: --seed is renamed --random-state") == 1
    params = json.loads((out / "summary.json").read_text(encoding="utf-8"))["params"]
    assert params["random_state"] == 5


def test_one_old_name_repeated_takes_the_last_value_like_any_option(cli_runner, tmp_path):
    """``--seed 3 --seed 4`` is one name given twice (click keeps the last, as for
    ``--random-state 3 --random-state 4``); only an old and a new name disagreeing is refused,
    compared as numbers (``--seed 3 --random-state 3.0`` agree)."""
    for args in (["--seed", "3", "--seed", "4"], ["--seed", "3", "--seed", "4", "--random-state",
                                                  "4"]):
        res = cli_runner.invoke(app, ["clv", str(tmp_path / "absent.csv"), *args])
        assert "different values" not in res.stderr
        assert "note: --seed is renamed --random-state" in res.stderr
        assert "absent.csv" in " ".join(res.stderr.split())  # went on to read the file
    from valuemax.cli._options import _same

    assert _same(["60", "60.0"]) and not _same(["60", "61"]) and _same(["a", "a"])
