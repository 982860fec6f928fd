"""The main job's analysis parts on Online Retail (default options): customer value, what
goes with value, what sells together — in the result, exports, store, summary and report."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest

from valuemax.clv._select import MODELS


@pytest.fixture
def retail(retail_analysis):
    """The session's ``analyze`` of Online Retail, default options, seed 0 (tests/conftest.py)."""
    return retail_analysis


def test_value_columns_cover_every_customer(retail):
    cust = retail.customers
    cols = ["p_alive", "expected_purchases_12", "expected_avg_value", "clv_12"]
    assert cust[cols].notna().all().all()
    assert ((cust["p_alive"] >= 0) & (cust["p_alive"] <= 1)).all()
    assert (cust["clv_12"] >= 0).all()
    # a customer's expected spend per purchase is positive and CLV = margin x spend x
    # discounted purchases <= spend x undiscounted purchases (margin 1)
    assert (cust["expected_avg_value"] > 0).all()
    assert (cust["clv_12"] <= cust["expected_avg_value"] * cust["expected_purchases_12"]
            * (1 + 1e-9)).all()
    v = retail.value
    assert v.model_name in MODELS and v.comparison.chosen in v.comparison.models
    assert v.calibration_end.isoformat() == "2011-08-07"  # last third of the span held out
    # MAE recomputed from the per-customer holdout table
    c = v.validation.customers
    assert v.validation.mae == pytest.approx((c["predicted"] - c["actual"]).abs().mean())
    assert v.validation.naive_mae == pytest.approx((c["naive"] - c["actual"]).abs().mean())
    # Online Retail's holdout (Aug-Dec 2011) holds the Christmas peak: stationary BTYD rates
    # under-predict it, and the report says so when the naive rate does as well
    assert v.validation.predicted_total < v.validation.actual_total
    # ... and the models find almost no drop-out here: P(alive) ~ 1 for everyone, flagged
    assert not v.p_alive_informative
    assert np.quantile(cust["p_alive"], 0.05) > 0.95
    assert v.p_alive_warning.startswith("P(alive) cannot rank customers in this log: ")


def test_summary_store_and_exports_carry_the_parts(retail):
    out = retail.out
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    clv = summary["clv"]
    assert clv["model"] == retail.value.model_name
    assert set(clv["params"]) == set(clv["se"]) == set(retail.value.model.params_)
    assert clv["holdout"]["mae"] == pytest.approx(retail.value.validation.mae)
    assert clv["total_clv"] == pytest.approx(retail.customers["clv_12"].sum())
    # one customer bought only free (zero-priced) goods: no log order value, dropped with a note
    assert summary["stats"]["target"] == "log(clv_12)"
    assert summary["stats"]["n"] == int((retail.customers["avg_order_value"] > 0).sum())
    basket = summary["basket"]
    assert basket["n_rules"] == len(retail.basket.rule_set.rules) > 0
    assert basket["hit_rate_at_n"] > basket["baseline_hit_rate_at_n"]
    with duckdb.connect(str(out / "valuemax.duckdb"), read_only=True) as con:
        tables = {r[0] for r in con.sql("show tables").fetchall()}
        assert {"clv", "clv_params", "clv_models", "clv_tracking",
                "clv_holdout_by_frequency", "rules", "recommendations"} <= tables
        n_clv = con.sql("select count(*), count(distinct customer_id) from clv").fetchone()
        assert n_clv == (len(retail.customers),) * 2
        n_rules = con.sql("select count(*) from rules").fetchone()[0]
    assert n_rules == basket["n_rules"]
    rules = pd.read_csv(out / "rules.csv", dtype=str)
    assert len(rules) == n_rules and rules["antecedents"].str.len().gt(0).all()
    prop = summary["propensity"]
    assert prop["horizon_days"] == 90 and prop["cutoff"] == "2011-09-10"
    assert prop["auc"] > prop["baseline_auc"]["recency"]
    # the scores beat every baseline, so the export is flagged as usable for targeting
    assert prop["auc"] > max(prop["baseline_auc"].values()) and prop["auc"] > 0.55
    assert prop["informative"] is True and prop["not_informative_because"] is None
    with duckdb.connect(str(out / "valuemax.duckdb"), read_only=True) as con:
        n_scores = con.sql("select count(*) from propensity_scores").fetchone()[0]
    assert n_scores == len(retail.customers)
    p = retail.customers["p_buy_90d"]
    assert p.notna().all() and ((p >= 0) & (p <= 1)).all()
    risk = retail.customers["churn_risk"]
    assert ((risk == "High") == (p < 0.2)).all() and ((risk == "Low") == (p >= 0.5)).all()
    recs = pd.read_parquet(out / "recommendations.parquet")
    assert set(recs.columns) >= {"customer_id", "rank", "item", "score", "source"}
    parquet = pd.read_parquet(out / "customers.parquet")
    np.testing.assert_allclose(parquet["clv_12"], retail.customers["clv_12"])


def test_report_shows_every_part(retail, check_report_in_browser):
    seen = check_report_in_browser(retail.out / "report.html")
    text = seen["text"]
    for title in ("5. Customer value", "6. What goes with value", "7. Who buys next",
                  "8. What sells together",
                  "High value at risk", "Holdout validation"):
        assert title in text, title
    v = retail.value.validation
    assert ("naive baseline predicts the holdout as well" in text) == (v.mae >= v.naive_mae)
    # P(alive) flagged; "at risk" read from the RFM segments instead
    assert "P(alive) cannot rank customers in this log" in text
    assert "RFM segment Can't Lose Them or At Risk (P(alive) cannot rank customers here)" in text
