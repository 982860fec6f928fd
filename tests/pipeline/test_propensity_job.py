"""``valuemax propensity`` and the propensity step of the main job: outputs, skips, options."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

import valuemax
from valuemax.cli import app

CDNOW_COLUMNS = "customer_id,customer_index,date,quantity,amount"


def test_cli_writes_scores_metrics_and_a_one_section_report(cli_runner, datasets, tmp_path):
    out = tmp_path / "prop"
    res = cli_runner.invoke(app, [
        "propensity", str(datasets("cdnow/CDNOW_sample.txt")), "--columns", CDNOW_COLUMNS,
        "--horizon", "90", "--cutoff", "1998-03-01", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["horizon_days"] == 90 and d["cutoff"] == "1998-03-01"
    assert d["auc"] > d["baseline_auc"]["recency"]
    assert sum(d["churn_counts"].values()) == 2_357
    scores = pd.read_parquet(out / "propensity_scores.parquet")
    assert len(scores) == 2_357 and scores["p_buy_90d"].between(0, 1).all()
    metrics = pd.read_csv(out / "propensity_metrics.csv")
    assert {"recency", d["chosen_model"]} <= set(metrics["model"])
    html = (out / "propensity.html").read_text(encoding="utf-8")
    assert "1. Who buys next" in html and 'id="value"' not in html
    assert json.loads((out / "propensity_summary.json").read_text(encoding="utf-8")) == d


def test_short_log_skips_propensity_with_the_reason(tmp_path):
    rows = [(f"c{i % 40}", (dt.date(2024, 1, 1) + dt.timedelta(days=i % 120)).isoformat(),
             10.0 + i % 7) for i in range(400)]
    path = tmp_path / "short.csv"
    pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).to_csv(path, index=False)
    res = valuemax.analyze(str(path), clv=False, clusters="none")
    assert res.propensity is None and "p_buy_90d" not in res.customers
    assert "two" in res.skipped["propensity"] or "2" in res.skipped["propensity"]
    res = valuemax.analyze(str(path), clv=False, clusters="none", horizon_days=30)
    assert res.propensity is not None and "p_buy_30d" in res.customers


@pytest.mark.parametrize("horizon", ["0", "-5", "4000"])
def test_bad_horizon_exits_2(cli_runner, datasets, horizon):
    res = cli_runner.invoke(app, ["analyze", str(datasets("cdnow/CDNOW_sample.txt")),
                                  "--columns", CDNOW_COLUMNS, "--horizon", horizon])
    assert res.exit_code == 2
    assert "whole number of days" in res.output
