"""``valuemax target``: the files equal the API's output; bad input exits 2 with one line."""

from __future__ import annotations

import json
import re

import duckdb
import numpy as np
import pandas as pd
import pytest

from valuemax.cli import app
from valuemax.decide import choose_targets, holdout_assignments


@pytest.fixture
def scores_csv(tmp_path):
    rng = np.random.default_rng(4)
    n = 60
    frame = pd.DataFrame({"cid": [f"{i:04d}" for i in range(n)],
                          "uplift": rng.uniform(-0.02, 0.2, n).round(4),
                          "clv": rng.uniform(5, 80, n).round(2),
                          "cost": rng.uniform(0.1, 2.0, n).round(2)})
    frame.loc[0, "cid"] = "=1+1"  # a formula-looking id: escaped in targets.csv only
    frame.loc[0, "uplift"] = 0.3
    path = tmp_path / "scores.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_cli_writes_what_the_api_computes(cli_runner, scores_csv, tmp_path):
    path, frame = scores_csv
    out = tmp_path / "campaign"
    res = cli_runner.invoke(app, ["target", str(path), "--id", "cid", "--value", "clv",
                                  "--margin", "0.4", "--cost-per-contact", "cost",
                                  "--cost-per-redemption", "1.5", "--budget", "20",
                                  "--holdout", "0.2", "--random-state", "3", "--start", "2026-05-04",
                                  "--out", str(out), "--json", "--db", str(tmp_path / "s.db")])
    assert res.exit_code == 0, res.output
    api = choose_targets(frame, customer_id="cid", value="clv", margin=0.4,
                         cost_per_contact="cost", cost_per_redemption=1.5, budget=20.0)
    targets = pd.read_csv(out / "targets.csv", dtype={"customer_id": str},
                          encoding="utf-8-sig")
    assert list(targets.columns) == ["customer_id", "arm", "expected_incremental_profit",
                                     "rank"]
    assigned = pd.read_csv(out / "assignments.csv", dtype={"customer_id": str},
                           parse_dates=["assigned_at"])
    again = holdout_assignments(api.targets, assigned_at="2026-05-04", share=0.2,
                                random_state=3)
    pd.testing.assert_frame_equal(assigned, again, check_dtype=False)
    # the CRM file holds the customers to contact: the targets less the hold-out control
    held = set(again.loc[again["arm"] == "holdout", "customer_id"])
    assert 0 < len(held) < len(api.targets)
    contact = api.targets[~api.targets["customer_id"].isin(held)]
    expected_ids = ["'=1+1" if c == "=1+1" else c for c in contact["customer_id"]]
    assert targets["customer_id"].tolist() == expected_ids
    assert targets["expected_incremental_profit"].to_numpy() == pytest.approx(
        contact["expected_incremental_profit"].to_numpy())
    assert "=1+1" in set(assigned["customer_id"])  # raw id: the readout joins on it
    summary = json.loads(res.output)
    assert summary["value"] == pytest.approx(api.value)
    assert summary["bound"] >= summary["value"]
    assert summary == json.loads((out / "target_summary.json").read_text(encoding="utf-8"))
    curve = pd.read_csv(out / "profit_curve.csv")
    assert curve["expected_profit"].iloc[summary["n_targets"]] == pytest.approx(api.value)
    assert json.loads((out / "summary.json").read_text(encoding="utf-8")) == {
        "targets": summary}
    assert "Whom to contact" in (out / "report.html").read_text(encoding="utf-8")
    with duckdb.connect(str(tmp_path / "s.db"), read_only=True) as con:
        stored = con.sql("SELECT * FROM targets ORDER BY rank").df()
    assert stored["customer_id"].tolist() == api.targets["customer_id"].tolist()  # raw ids
    assert stored["expected_incremental_profit"].to_numpy() == pytest.approx(
        api.targets["expected_incremental_profit"].to_numpy())
    by_id = again.set_index("customer_id")
    assert stored["assigned_arm"].tolist() == by_id.loc[stored["customer_id"], "arm"].tolist()
    assert (stored["assigned_arm"] == "holdout").sum() == (again["arm"] == "holdout").sum()


@pytest.mark.parametrize("extra, match", [
    (["--cost-per-contact", "-1"], "--cost-per-contact -1.0 must be a finite number"),
    (["--cost-per-contact", "1", "--budget", "0.5"], "--budget 0.5 is smaller than one contact"),
    (["--cost-per-contact", "1", "--uplift", "lift"], "--uplift lift: column not found"),
    (["--cost-per-contact", "1", "--cost-per-redemption", "-2"], "--cost-per-redemption -2.0"),
    (["--cost-per-contact", "1", "--holdout", "1.5"], "--holdout 1.5 must lie strictly between"),
    (["--cost-per-contact", "1", "--holdout", "0"], "--holdout 0 must lie strictly between 0 "
                                                     "and 1: the held-out targets are the control"),
    (["--cost-per-contact", "1", "--start", "02/03/2024"],
     "--start '02/03/2024' is not an ISO date or time: give YYYY-MM-DD[ HH:MM:SS], so that"),
    (["--cost-per-contact", "1", "--revenue", "clv"],
     "give either --revenue (incremental revenue per customer) or --value (revenue per "),
    (["--cost-per-contact", "1", "--random-state", "-1"], "--random-state -1 must be a whole number >= 0"),
])
def test_cli_bad_input_exits_2_with_one_line(cli_runner, scores_csv, tmp_path, extra, match):
    path, _ = scores_csv
    res = cli_runner.invoke(app, ["target", str(path), "--id", "cid", "--value", "clv",
                                  "--margin", "0.4", "--out", str(tmp_path / "o"), *extra])
    assert res.exit_code == 2
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and match in lines[0]
    # the CLI names its options, never the Python keywords behind them
    assert not re.search(r"\b(uplift|revenue|value|assigned_at|share)=", lines[0]), lines[0]


def test_cli_without_a_value_names_both_options_once(cli_runner, scores_csv, tmp_path):
    path, _ = scores_csv
    res = cli_runner.invoke(app, ["target", str(path), "--id", "cid", "--margin", "0.4",
                                  "--cost-per-contact", "1", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert res.stderr.strip() == (
        "error: the incremental revenue is unknown: pass --revenue (a column of incremental "
        "revenue per customer) or --value (revenue per incremental purchase, a number or a "
        "column such as CLV).")


def test_cli_loop_target_then_experiment_recovers_the_uplift(cli_runner, tmp_path):
    rng = np.random.default_rng(12)
    n = 4000
    uplift = rng.uniform(0.0, 0.16, n)
    ids = [f"u{i:05d}" for i in range(n)]
    pd.DataFrame({"customer_id": ids, "uplift": uplift}).to_csv(tmp_path / "s.csv",
                                                                 index=False)
    out = tmp_path / "camp"
    res = cli_runner.invoke(app, ["target", str(tmp_path / "s.csv"), "--value", "40",
                                  "--margin", "0.5", "--cost-per-contact", "0.5",
                                  "--max-contacts", "3000", "--holdout", "0.3", "--random-state", "2",
                                  "--start", "2026-02-01", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["designed_shares"] == {"holdout": 0.3, "treatment": 0.7}
    a = pd.read_csv(out / "assignments.csv", parse_dates=["assigned_at"])
    u = pd.Series(uplift, index=ids).loc[a["customer_id"]].to_numpy()
    treated = (a["arm"] != "holdout").to_numpy()
    buy = rng.random(len(a)) < 0.05 + np.where(treated, u, 0.0)
    ts = a["assigned_at"] + pd.to_timedelta(rng.integers(0, 14, len(a)), unit="D") \
        + pd.Timedelta(hours=9)
    log = pd.DataFrame({"customer_id": a["customer_id"][buy],
                        "order_id": [f"o{i}" for i in range(int(buy.sum()))],
                        "order_ts": ts[buy].dt.strftime("%Y-%m-%d %H:%M:%S"), "amount": 40.0})
    log.loc[len(log)] = ["other", "o-last", "2026-02-28 10:00:00", 1.0]  # log covers the window
    log.to_csv(tmp_path / "log.csv", index=False)
    shares = [x for k, v in summary["designed_shares"].items() for x in ("--shares", f"{k}={v}")]
    res = cli_runner.invoke(app, ["experiment", str(out / "assignments.csv"), "--log",
                                  str(tmp_path / "log.csv"), "--window-days", "14",
                                  "--control", "holdout", "--metric", "converted", *shares,
                                  "--json"])
    assert res.exit_code == 0, res.output
    readout = json.loads(res.output)
    (comp,) = readout["comparisons"]
    truth = float(u.mean())
    assert comp["absolute_ci_low"] < truth < comp["absolute_ci_high"]
    assert readout["srm"]["alert"] is False


def test_terminal_says_the_hold_out_is_not_contacted_and_what_it_forgoes(cli_runner, scores_csv,
                                                                         tmp_path):
    """The profit and spend printed are those of all targets; the hold-out is left out of
    the CRM file: the line says so, with the hold-out's expected profit (summed here from
    the API's targets and the seeded assignments)."""
    path, frame = scores_csv
    res = cli_runner.invoke(app, ["target", str(path), "--id", "cid", "--value", "clv",
                                  "--margin", "0.4", "--cost-per-contact", "cost",
                                  "--budget", "20", "--holdout", "0.2", "--random-state", "3",
                                  "--start", "2026-05-04", "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    api = choose_targets(frame, customer_id="cid", value="clv", margin=0.4,
                         cost_per_contact="cost", budget=20.0)
    a = holdout_assignments(api.targets, assigned_at="2026-05-04", share=0.2, random_state=3)
    held = set(a.loc[a["arm"] == "holdout", "customer_id"])
    forgone = api.targets.loc[api.targets["customer_id"].isin(held),
                              "expected_incremental_profit"].sum()
    text = " ".join(res.output.split())
    assert (f"hold-out: {len(held):,} customers (arm 'holdout', random state 3), assigned_at "
            f"2026-05-04; not contacted (left out of targets.csv): the profit and spend above "
            f"count them, their expected incremental profit {forgone:,.2f} is the price of "
            "measuring the campaign") in text
    # the first line's count splits into the CRM file's rows and the hold-out
    contacted = pd.read_csv(tmp_path / "o" / "targets.csv", encoding="utf-8-sig")
    assert len(contacted) + len(held) == len(api.targets)
    assert (f"targets: {len(api.targets):,} chosen of {len(frame):,} customers "
            f"({len(contacted):,} to contact in targets.csv, {len(held):,} held out)") in text


def test_every_target_csv_is_guarded_but_the_one_the_readme_names(cli_runner, scores_csv,
                                                                   tmp_path):
    """The README's formula-injection promise is exact: of the CSVs ``target`` writes, the
    only one with a cell starting ``= + - @`` is assignments.csv, which the README names as
    the exception (raw ids, read back by ``experiment --log``)."""
    import re
    from pathlib import Path

    path, _ = scores_csv
    out = tmp_path / "campaign"
    res = cli_runner.invoke(app, ["target", str(path), "--id", "cid", "--value", "clv",
                                  "--margin", "0.4", "--cost-per-contact", "cost",
                                  "--holdout", "0.2", "--start", "2026-05-04",
                                  "--out", str(out)])
    assert res.exit_code == 0, res.output
    raw = {}
    for csv in sorted(out.glob("*.csv")):
        frame = pd.read_csv(csv, dtype=str, encoding="utf-8-sig", keep_default_na=False)
        cells = frame.to_numpy().ravel().tolist() + list(frame.columns)
        raw[csv.name] = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")
                         and not re.fullmatch(r"-?\d+(\.\d+)?(e-?\d+)?", c)]
    assert {name for name, cells in raw.items() if cells} == {"assignments.csv"}
    assert raw["assignments.csv"] == ["=1+1"]
    readme = Path(__file__).resolve().parents[2].joinpath("README.md").read_text(
        encoding="utf-8")
    said = " ".join(readme.split())
    assert ("One CSV is the exception: `assignments.csv` of `valuemax target` keeps the raw "
            "customer ids, because `valuemax experiment assignments.csv --log ...` reads them "
            "back") in said
