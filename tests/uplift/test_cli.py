"""``valuemax uplift``: output equals the API's; bad input exits 2 with one line."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest

from valuemax.cli import app
from valuemax.uplift import uplift_study


@pytest.fixture
def table(tmp_path, rng):
    n = 1200
    x = rng.random(n)
    arm = rng.choice(["promo", "holdout", "other"], n)
    treated = arm == "promo"
    frame = pd.DataFrame({"customer": [f"c{i}" for i in range(n)], "arm": arm, "x": x,
                          "region": rng.choice(["north", "south"], n),
                          "bought": (rng.random(n) < 0.1 + 0.3 * x * treated).astype(int)})
    path = tmp_path / "exp.csv"
    frame.to_csv(path, index=False)
    return path


def _args(path, *extra):
    return ["uplift", str(path), "--treatment", "arm", "--treated", "promo", "--control",
            "holdout", "--outcome", "bought", "--feature", "x", "--feature", "region", *extra]


def test_cli_json_and_files_equal_the_api(cli_runner, table, tmp_path):
    out = tmp_path / "out"
    res = cli_runner.invoke(app, _args(table, "--model", "t", "--model", "ct", "--bootstrap",
                                       "20", "--random-state", "3", "--id", "customer", "--json",
                                       "--out", str(out), "--db", str(tmp_path / "s.duckdb")))
    assert res.exit_code == 0, res.output
    got = json.loads(res.output)
    api = uplift_study(table, treatment="arm", treated="promo", control="holdout",
                       outcome="bought", features=["x", "region"], models=("t", "ct"),
                       id_column="customer", n_bootstrap=20, random_state=3)
    assert [m["qini"] for m in got["evaluation"]["models"]] == pytest.approx(
        api.evaluation.table["qini"].tolist())
    assert got["features"] == ["x", "region=north", "region=south"]
    scores = pd.read_csv(out / "uplift_scores.csv", encoding="utf-8-sig")
    frame = pd.read_csv(table)
    assert len(scores) == int(frame.arm.isin(["promo", "holdout"]).sum())
    np.testing.assert_allclose(scores["uplift_t"], api.scores["uplift_t"])
    assert scores["customer"].tolist() == api.scores["customer"].tolist()
    assert {"uplift_bins.csv", "uplift_models.csv", "uplift_summary.json", "report.html",
            "summary.json", "uplift_scores.parquet"} <= {p.name for p in out.iterdir()}
    assert json.loads((out / "summary.json").read_text(encoding="utf-8")) == {"uplift": got}
    assert "Whom to contact" in (out / "report.html").read_text(encoding="utf-8")
    with duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True) as con:
        stored = con.sql("SELECT * FROM uplift_scores ORDER BY row").df()
        runs = con.sql("SELECT run_id, parameters FROM runs").df()
    np.testing.assert_allclose(stored["uplift_ct"], api.scores["uplift_ct"])
    assert stored["customer"].tolist() == api.scores["customer"].tolist()
    assert set(stored["outcome"]) == {"bought"} and set(stored["run_id"]) == set(runs["run_id"])
    assert json.loads(runs["parameters"].iloc[0])["models"] == ["t", "ct"]


@pytest.mark.parametrize(("extra", "message"), [
    (["--treated", "promo2"], "treated arm 'promo2' is not among the arm labels"),
    (["--model", "x"], "models ['x']: unknown ['x']"),
    (["--outcome", "spend"], "outcome column 'spend' is not in the table"),
    (["--random-state", "-1"], "--random-state -1 must be a whole number >= 0 and below 2**32"),
    (["--random-state", "4294967296"], "--random-state 4294967296 must be a whole number >= 0"),
])
def test_bad_input_exits_2_with_one_line(cli_runner, table, extra, message):
    res = cli_runner.invoke(app, [*_args(table), *extra])
    assert res.exit_code == 2
    assert message in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_features_are_required(cli_runner, table):
    res = cli_runner.invoke(app, ["uplift", str(table), "--treatment", "arm", "--treated",
                                  "promo", "--control", "holdout", "--outcome", "bought"])
    assert res.exit_code == 2
    assert "name the pre-treatment features with --feature" in res.output


def test_observational_study_reports_the_overlap_check(table):
    study = uplift_study(table, treatment="arm", treated="promo", control="holdout",
                         outcome="bought", features=["x", "region"], models=("dr",),
                         n_bootstrap=0, observational=True)
    # randomised arms: every cross-fitted propensity is near the design share
    assert study.overlap is not None and study.overlap.n_outside == 0
    assert study.to_dict()["overlap"]["message"].endswith("overlap holds.")


def test_the_cli_does_not_load_scikit_learn_until_the_command_runs():
    import subprocess
    import sys

    code = ("import sys, valuemax.cli; "
            "print(any(m == 'sklearn' or m.startswith('sklearn.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_an_id_on_two_rows_is_refused_with_the_ids(cli_runner, table, tmp_path):
    """One customer on two rows would count twice in the fit and the Qini curve (the
    breaker's up_dup.csv scored both): refused, the ids named."""
    frame = pd.read_csv(table)
    frame.loc[5, "customer"] = frame.loc[4, "customer"] = "c7"
    path = tmp_path / "dup.csv"
    frame.to_csv(path, index=False)
    res = cli_runner.invoke(app, [*_args(path), "--id", "customer"])
    assert res.exit_code == 2, res.output
    assert ("1 ids of 'customer' are on more than one row (3 rows; e.g. 'c7'); the table "
            "needs one row per customer") in " ".join(res.output.split())


@pytest.mark.parametrize(("content", "message"), [
    (b"", "table 'bad.csv' is empty (no header, no row)"),
    # GBK is detected (tests/io/test_customer_tables.py); Windows-1252 is not guessed
    ("组别,x,y\n甲,1,0\n".encode("gbk") + "Zoë,1,0\n".encode("cp1252"),
     "cannot tell the text encoding of table 'bad.csv'"),
])
def test_an_empty_or_undetectable_file_is_one_line(cli_runner, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    res = cli_runner.invoke(app, ["uplift", str(path), "--treatment", "组别", "--treated", "甲",
                                  "--control", "乙", "--outcome", "y", "--feature", "x"])
    assert res.exit_code == 2, res.output
    assert message in res.output and len(res.output.strip().splitlines()) == 1


@pytest.mark.parametrize(("column", "value", "message"), [
    ("x", np.inf, "feature 'x' is infinite for 1 of"),
    ("x", np.nan, "feature 'x' is missing for 1 of"),
    ("bought", 1e300, "outcome 'bought' has 1 values of magnitude >= 1e+150"),
])
def test_a_bad_value_names_its_column_and_table_row(cli_runner, table, tmp_path, column, value,
                                                   message):
    """The row named is the table's (0-based, as uplift_scores.csv's ``row``), not a position
    among the two arms' rows; one 1e300 outcome made every score 1e298 (exit 0) before."""
    frame = pd.read_csv(table).astype({"bought": float})
    row = int(np.flatnonzero(frame["arm"].isin(["promo", "holdout"]))[3])
    frame.loc[row, column] = value
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    res = cli_runner.invoke(app, _args(path))
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert message in text and f"(rows {row})" in text
