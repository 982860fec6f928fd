"""The report and the terminal say what the value figures rest on (new-user and breaker
findings): the same expected spend for everyone, high spenders valued at the prior, a
purchase model no better than the naive rate. Real runs on a small generated log; each
claim is checked against figures computed here from the exports."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import valuemax
from valuemax.cli._render import value_caveats
from valuemax.report import render_report

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipeline"))
from _small_logs import START, make_log
from tests.report.test_report_text import _visible


@pytest.fixture(scope="module")
def flat_spend(tmp_path_factory):
    """300 customers over a year whose order values are drawn alike (no spend spread
    between customers: Gamma-Gamma at its limit), plus 6 customers with one large order
    each (several lines, one day: frequency 0, top spenders)."""
    log = make_log(300, 365, seed=3)
    big = [{"customer_id": f"BIG{i}", "order_id": f"OBIG{i}",
            "order_ts": (START + pd.Timedelta(days=40 * i + 3, hours=10)).strftime(
                "%Y-%m-%d %H:%M:%S"), "product_id": "P5", "product_name": "item 5",
            "quantity": 200, "unit_price": 20.0} for i in range(6)]
    src = tmp_path_factory.mktemp("flat") / "flat.csv"
    pd.concat([log, pd.DataFrame(big)], ignore_index=True).to_csv(src, index=False)
    res = valuemax.analyze(str(src), random_state=0, propensity=False, clusters="none")
    return res, _visible(render_report(res))


def test_same_expected_spend_is_said_beside_clv(flat_spend):
    """User's log: Gamma-Gamma at its bound gave everyone the same expected spend, so CLV
    ranked by expected purchases alone (correlation with recency -1), unsaid."""
    res, text = flat_spend
    cust = res.customers
    assert "no spend heterogeneity across customers" in res.value.spend_model.boundary_
    spend = cust["expected_avg_value"]
    lo, mid, hi = spend.quantile([0.01, 0.5, 0.99])
    assert hi - lo < 0.01 * mid  # the same for everyone, computed here
    # hence CLV orders customers as the expected purchases do
    rho = cust["clv_12"].rank().corr(cust["expected_purchases_12"].rank())
    assert rho > 0.999
    assert "CLV ranks by expected purchases alone" in text
    shown = re.search(r"expected spend per purchase is about the same \(([\d,.]+) to "
                      r"([\d,.]+)\)", text)
    assert shown is not None
    got = [float(g.replace(",", "")) for g in shown.groups()]
    assert got == pytest.approx([lo, hi], abs=0.06)  # shown to 1 decimal
    caveats = value_caveats(res.value, customers=cust)
    assert any("CLV ranks customers by expected purchases alone" in c for c in caveats)


def test_one_day_high_spenders_are_said_to_be_valued_at_the_prior(flat_spend):
    """Breaker: customers with every order on one day (frequency 0) but a high spend get
    the population's mean spend per purchase (Gamma-Gamma's prior), without a hint."""
    res, text = flat_spend
    cust = res.customers
    top = cust["total_spend"] >= cust["total_spend"].quantile(0.8)
    one_day = top & (cust["frequency"] == 0)
    assert set(cust.loc[one_day, "customer_id"]) >= {f"BIG{i}" for i in range(6)}
    prior = res.value.spend_model.params_
    mean = prior["p"] * prior["gamma"] / (prior["q"] - 1)  # E[M] of Gamma-Gamma
    assert np.allclose(cust.loc[one_day, "expected_avg_value"], mean, rtol=1e-6)
    n = int(one_day.sum())
    assert re.search(rf"{n} high spenders \(top 20% by total spend[^)]*\) bought on one day "
                     r"only", text)
    assert f"population's mean spend per purchase ({mean:,.1f})" in text or \
        f"population's mean spend per purchase ({mean:,.0f})" in text


def test_a_model_no_better_than_the_naive_rate_is_said_beside_the_total(flat_spend):
    res, text = flat_spend
    v = res.value.validation
    assert v is not None
    loses = not v.mae < v.naive_mae
    beside = text[text.index("12-month CLV"):text.index("total CLV")]
    assert ("does not predict the holdout better than each customer's past purchase rate"
            in beside) is loses
    caveats = value_caveats(res.value, customers=res.customers)
    assert any("does not predict the holdout better" in c for c in caveats) is loses
