"""logit(): statsmodels on real data, odds ratios, hand AME and pseudo R², separation, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from valuemax.exceptions import ConvergenceWarning, InputError
from valuemax.stats import logit


@pytest.fixture(scope="module")
def active(retail_customers) -> pd.DataFrame:
    """Bought in the last 90 days (0/1) against log spend and tenure, 4,338 customers."""
    c = retail_customers
    return pd.DataFrame({"active": (c["recency_days"] <= 90).astype(int),
                         "log_total_spend": np.log(c["total_spend"]),
                         "n_orders": c["n_orders"].astype(float),
                         "tenure_days": c["tenure_days"].astype(float)})


def test_equals_statsmodels_and_hand_formulas_on_online_retail(active):
    import statsmodels.api as sm

    xs = ["log_total_spend", "tenure_days"]
    res = logit(active, "active", xs)
    X = sm.add_constant(active[xs].to_numpy())
    y = active["active"].to_numpy(float)
    ref = sm.Logit(y, X).fit(disp=0)
    np.testing.assert_allclose(res.coefficients["coef"], ref.params, rtol=1e-9)
    np.testing.assert_allclose(res.coefficients["se"], ref.bse, rtol=1e-9)
    np.testing.assert_allclose(res.coefficients["p_value"], ref.pvalues, rtol=1e-9,
                               atol=1e-300)
    coef = res.coefficients
    np.testing.assert_allclose(coef["odds_ratio"], np.exp(coef["coef"]), rtol=1e-12)
    np.testing.assert_allclose(coef["or_ci_low"], np.exp(coef["ci_low"]), rtol=1e-12)
    np.testing.assert_allclose(coef["or_ci_high"], np.exp(coef["ci_high"]), rtol=1e-12)
    assert (coef["or_ci_low"] < coef["odds_ratio"]).all()
    # average marginal effect of a continuous x: mean over customers of p(1-p) * beta
    p = 1 / (1 + np.exp(-(X @ coef["coef"].to_numpy())))
    ame = np.mean(p * (1 - p)) * coef["coef"].to_numpy()[1:]
    np.testing.assert_allclose(res.marginal_effects["dy_dx"], ame, rtol=1e-9)
    # McFadden: 1 - llf / llnull, both by hand
    llf = np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))
    p0 = y.mean()
    llnull = len(y) * (p0 * np.log(p0) + (1 - p0) * np.log(1 - p0))
    assert res.pseudo_r_squared == pytest.approx(1 - llf / llnull, rel=1e-9)
    assert res.n == 4_338 and not res.penalized


def test_reading_says_odds_and_associations(active):
    res = logit(active, "active", ["n_orders"])
    b = float(res.coefficients["coef"].iloc[1])
    text = " ".join(res.reading)
    assert f"Each extra order multiplies the odds of active = 1 by e^β = {np.exp(b):.4g}" in text
    assert "associations, not causes" in text
    assert "percentage points" in text


def test_perfect_separation_warns_and_gives_a_penalised_fit():
    from sklearn.linear_model import LogisticRegression

    df = pd.DataFrame({"x": np.arange(12, dtype=float), "y": [0] * 6 + [1] * 6})
    with pytest.warns(ConvergenceWarning, match="separated"):
        res = logit(df, "y", "x")
    assert res.penalized
    ref = LogisticRegression(C=1.0).fit(df[["x"]], df["y"])
    np.testing.assert_allclose(res.coefficients["coef"], [ref.intercept_[0], ref.coef_[0, 0]],
                               rtol=1e-4)
    assert np.isfinite(res.coefficients["coef"]).all()
    assert res.coefficients["se"].isna().all() and res.coefficients["p_value"].isna().all()
    np.testing.assert_allclose(res.coefficients["odds_ratio"], np.exp(res.coefficients["coef"]))
    assert any("penalised" in n for n in res.notes)
    assert "ridge-penalised" in " ".join(res.reading)
    assert 0 < res.pseudo_r_squared < 1


def test_missing_rows_are_dropped_and_counted():
    df = pd.DataFrame({"x": [1.0, 2, np.nan, 4, 5, 6, 7, 8, 9, 10],
                       "y": [0, 0, 1, 1, 0, 1, 0, 1, 1, 1]})
    res = logit(df, "y", "x")
    assert res.n == 9
    assert any("1 of 10 rows dropped" in n for n in res.notes)


@pytest.mark.parametrize(("y", "match"), [
    ([0, 1, 2, 0, 1, 0, 1, 1], "must be 0/1"),
    ([0.0, 1, 0.5, 0, 1, 0, 1, 1], "must be 0/1"),
    ([1, 1, 1, 1, 1, 1, 1, 1], "single class"),
    ([0, 0, 0, 0, 0, 0, 0, 0], "single class"),
])
def test_non_binary_or_one_class_y(y, match):
    df = pd.DataFrame({"x": [1.0, 2, 3, 4, 5, 6, 7, 8], "y": y})
    with pytest.raises(InputError, match=match):
        logit(df, "y", "x")


def test_text_outcome_is_refused():
    df = pd.DataFrame({"x": [1.0, 2, 3, 4], "y": ["yes", "no", "yes", "no"]})
    with pytest.raises(InputError, match="must be numeric"):
        logit(df, "y", "x")
