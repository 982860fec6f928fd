"""``valuemax experiment``: the CLI gives the API's numbers; bad input exits 2 with one line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from valuemax.cli import app
from valuemax.experiment import plan, readout


@pytest.fixture
def table(tmp_path, rng):
    n = 600
    arm = np.repeat(["control", "big", "small"], [250, 250, 100])
    pre = rng.gamma(2.0, 20.0, n)
    spend = np.maximum(0.0, 0.3 * pre + rng.normal(0, 8, n) + (arm == "big") * 4.0)
    df = pd.DataFrame({"customer_id": np.arange(n), "arm": arm,
                       "buy": (rng.random(n) < 0.2 + (arm == "big") * 0.1).astype(int),
                       "spend": spend, "pre": pre})
    path = tmp_path / "exp.csv"
    df.to_csv(path, index=False)
    return path, df


def _run(cli_runner, *args):
    return cli_runner.invoke(app, ["experiment", *[str(a) for a in args]])


def test_cli_json_equals_api(cli_runner, table, tmp_path):
    path, df = table
    out = tmp_path / "out"
    res = _run(cli_runner, path, "--arm", "arm", "--control", "control", "--metric", "buy",
               "--metric", "spend", "--covariate", "pre", "--correction", "bh",
               "--shares", "control=0.4", "--shares", "big=0.4", "--shares", "small=0.2",
               "--json", "--out", out)
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    api = readout(df, arm="arm", control="control", metrics=["buy", "spend"],
                  covariates=["pre"], correction="bh",
                  shares={"control": 0.4, "big": 0.4, "small": 0.2})
    assert got["correction"] == "bh" and got["srm"]["arms"] == ["big", "control", "small"]
    assert got["srm"]["shares"] == pytest.approx([0.4, 0.4, 0.2])
    cli_frame = pd.DataFrame(got["comparisons"])
    for col in ("absolute_lift", "absolute_ci_low", "p_value", "p_adjusted", "relative_ci_high"):
        assert cli_frame[col].to_numpy(float) == pytest.approx(api.to_frame()[col].to_numpy())
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"experiment_{n}.{e}" for n in ("comparisons", "arms", "quarantine")
         for e in ("csv", "parquet")] + ["experiment_summary.json"])
    written = pd.read_parquet(out / "experiment_arms.parquet")
    assert written["n"].sum() == 2 * 600


def test_cli_readout_table(cli_runner, table):
    path, _ = table
    res = _run(cli_runner, path, "--arm", "arm", "--control", "control", "--metric",
               "buy:mean")
    assert res.exit_code == 0, res.output
    assert "Welch t" in res.stdout and "no mismatch" not in res.stdout  # 250/250/100 vs equal
    assert "MISMATCH" in res.stdout


def test_cli_plan_equals_api(cli_runner):
    res = _run(cli_runner, "plan", "--kind", "rate", "--baseline", "0.106", "--effect", "0.1",
               "--relative", "--power", "0.8", "--json")
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    api = plan("proportion", baseline=0.106, effect=0.1, relative=True, power=0.8)
    assert got["n_control"] == api.n_control and got["solved_for"] == "n"


@pytest.mark.parametrize(("args", "fragment"), [
    (["--control", "ctrl", "--metric", "buy"], "its arms are ['big', 'control', 'small']"),
    (["--control", "control", "--metric", "buy:ratio"], "must be rate, mean or auto"),
    (["--control", "control", "--metric", "buy", "--shares", "control"],
     "not of the form ARM=SHARE"),
    (["--control", "control", "--metric", "buy", "--shares", "control=1"],
     "missing ['big', 'small']"),
    (["--control", "control", "--metric", "nope"], "nope (metric); available"),
])
def test_cli_bad_input_exits_2(cli_runner, table, args, fragment):
    path, _ = table
    res = _run(cli_runner, path, "--arm", "arm", *args)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    err = res.stderr.strip()
    assert fragment in " ".join(err.split()) and len(err.splitlines()) == 1


def test_cli_plan_bad_input(cli_runner):
    res = _run(cli_runner, "plan", "--kind", "mean", "--baseline", "1", "--effect", "0.1",
               "--power", "0.8")
    assert res.exit_code == 2 and "sd (the per-customer standard deviation" in res.stderr


def test_import_loads_no_scipy_or_statsmodels():
    import subprocess
    import sys

    code = ("import sys, valuemax, valuemax.experiment, valuemax.cli;"
            "print(','.join(m for m in ('scipy', 'statsmodels', 'sklearn', 'plotly') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""
