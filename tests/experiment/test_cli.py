"""``valuemax experiment``: the CLI gives the API's numbers; bad input exits 2 with one line."""

from __future__ import annotations

import json
import re

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
         for e in ("csv", "parquet")]
        + ["experiment_summary.json", "report.html", "summary.json", ".valuemax-manifest.json"])
    assert json.loads((out / "summary.json").read_text(encoding="utf-8")) == {"experiment": got}
    written = pd.read_parquet(out / "experiment_arms.parquet")
    assert written["n"].sum() == 2 * 600
    # the report lists the options the command ran with (not "No parameters were recorded")
    report = " ".join((out / "report.html").read_text(encoding="utf-8").split())
    assert "The 15 options this command ran with" in report
    assert "No parameters were recorded" not in report
    assert re.search(r"<td[^>]*>correction</td>\s*<td[^>]*>bh</td>", report)


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


def test_cli_assignments_and_log(cli_runner, tmp_path, rng):
    n = 1_500
    ids = np.array([f"u{i}" for i in range(n)])
    arm = rng.choice(["holdout", "offer"], n)
    start = pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 10, n), unit="D")
    pd.DataFrame({"customer_id": ids, "arm": arm, "assigned_at": start}).to_csv(
        tmp_path / "assign.csv", index=False)
    k = rng.poisson(np.where(arm == "offer", 0.6, 0.4))
    who = np.repeat(np.arange(n), k)
    ts = start[who] + pd.to_timedelta(rng.uniform(0, 14, who.size), unit="D")
    price = np.round(rng.gamma(2.0, 15.0, who.size), 2)
    log = pd.DataFrame({"InvoiceNo": [f"o{i}" for i in range(who.size)],
                        "CustomerID": ids[who], "InvoiceDate": ts.strftime("%Y-%m-%d %H:%M:%S"),
                        "Quantity": 1, "UnitPrice": price, "StockCode": "A"})
    # a later line (outside every window) makes the log cover every window whatever the draw
    log.loc[len(log)] = ["o-late", "u0", "2024-04-30 10:00:00", 1, 5.0, "A"]
    log.to_csv(tmp_path / "log.csv", index=False)
    res = _run(cli_runner, tmp_path / "assign.csv", "--log", tmp_path / "log.csv",
               "--window-days", "14", "--control", "holdout", "--json")
    assert res.exit_code == 0, res.output
    got = pd.DataFrame(json.loads(res.stdout)["comparisons"]).set_index("metric")
    # the same outcomes counted with pandas: every line falls inside its customer's window
    table = pd.DataFrame({"arm": arm, "orders": k,
                          "revenue": np.bincount(who, weights=price, minlength=n)})
    table["converted"] = (table.orders > 0).astype(int)
    api = readout(table, arm="arm", control="holdout",
                  metrics=["converted", "orders", "revenue"]).to_frame().set_index("metric")
    for col in ("absolute_lift", "absolute_ci_low", "p_value"):
        assert got[col].to_numpy(float) == pytest.approx(api[col].to_numpy(), rel=1e-9)
    res = _run(cli_runner, tmp_path / "assign.csv", "--log", tmp_path / "log.csv",
               "--control", "holdout")
    assert res.exit_code == 2 and "--log needs --window-days" in res.stderr
    # --observation-end: the late line (April 30) after it is quarantined by clean, the
    # outcomes are the same (every window ends by March 24), and the end is reported
    res = _run(cli_runner, tmp_path / "assign.csv", "--log", tmp_path / "log.csv",
               "--window-days", "14", "--control", "holdout", "--observation-end",
               "2024-03-31", "--json")
    assert res.exit_code == 0, res.output
    cut = json.loads(res.stdout)
    assert pd.DataFrame(cut["comparisons"]).set_index("metric")["p_value"].to_numpy(
        float) == pytest.approx(api["p_value"].to_numpy(), rel=1e-9)
    assert any("log observed to 2024-03-31" in n for n in cut["notes"])


def test_cli_hillstrom_reference(cli_runner, hillstrom_path):
    res = _run(cli_runner, hillstrom_path, "--arm", "segment", "--control", "No E-Mail",
               "--metric", "visit", "--metric", "spend", "--json")
    assert res.exit_code == 0, res.output
    arms = pd.DataFrame(json.loads(res.stdout)["arm_table"]).set_index(["metric", "arm"])
    assert arms.loc[("visit", "Womens E-Mail"), "n"] == 21_387
    assert arms.loc[("spend", "Mens E-Mail"), "mean"] == pytest.approx(1.422617, abs=5e-7)


def test_cli_csv_outputs_are_formula_safe(cli_runner, tmp_path, rng):
    """An arm label that a spreadsheet would run (``=1+2``) is written escaped (``'=1+2``)
    in the experiment CSVs (the one safe writer), and kept as is in Parquet."""
    n = 400
    frame = pd.DataFrame({"arm": np.where(np.arange(n) % 2 == 0, "control", "=1+2"),
                          "buy": rng.integers(0, 2, n)})
    path = tmp_path / "exp.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "out"
    res = _run(cli_runner, path, "--arm", "arm", "--control", "control", "--metric", "buy",
               "--out", out)
    assert res.exit_code == 0, res.output
    arms = pd.read_csv(out / "experiment_arms.csv", encoding="utf-8-sig")["arm"]
    assert set(arms) == {"control", "'=1+2"}
    assert set(pd.read_parquet(out / "experiment_arms.parquet")["arm"]) == {"control", "=1+2"}
