"""ols(): lstsq and hand SEs (classical, HC3), VIF by auxiliary regressions, reading, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from valuemax.exceptions import InputError
from valuemax.stats import ols


@pytest.fixture(scope="module")
def retail_design(retail_customers) -> pd.DataFrame:
    c = retail_customers
    return pd.DataFrame({
        "log_total_spend": np.log(c["total_spend"]),
        "recency_days": c["recency_days"].astype(float),
        "tenure_days": c["tenure_days"].astype(float),
        "log_n_orders": np.log(c["n_orders"]),
        "log_lines_per_order": np.log(c["n_lines"] / c["n_orders"]),
    })


def with_const(x):
    return np.column_stack([np.ones(len(x)), x])


def test_classical_fit_equals_lstsq_on_online_retail(retail_design):
    xs = ["recency_days", "tenure_days", "log_n_orders", "log_lines_per_order"]
    res = ols(retail_design, "log_total_spend", xs)
    X = with_const(retail_design[xs].to_numpy())
    y = retail_design["log_total_spend"].to_numpy()
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    np.testing.assert_allclose(res.coefficients["coef"], beta, rtol=1e-9, atol=1e-12)
    resid = y - X @ beta
    n, k = X.shape
    sigma2 = resid @ resid / (n - k)
    se = np.sqrt(np.diag(sigma2 * np.linalg.inv(X.T @ X)))
    np.testing.assert_allclose(res.coefficients["se"], se, rtol=1e-9)
    t = beta / se
    np.testing.assert_allclose(res.coefficients["t"], t, rtol=1e-9)
    np.testing.assert_allclose(res.coefficients["p_value"], 2 * stats.t.sf(np.abs(t), n - k),
                               rtol=1e-9, atol=1e-300)
    crit = stats.t.ppf(0.975, n - k)
    np.testing.assert_allclose(res.coefficients["ci_low"], beta - crit * se, rtol=1e-9)
    r2 = 1 - resid @ resid / ((y - y.mean()) @ (y - y.mean()))
    assert res.r_squared == pytest.approx(r2, abs=1e-9)
    assert res.adj_r_squared == pytest.approx(1 - (1 - r2) * (n - 1) / (n - k), abs=1e-9)
    assert res.n == 4_338
    np.testing.assert_allclose(res.residuals, resid, atol=1e-9)
    np.testing.assert_allclose(res.fitted + res.residuals, y, atol=1e-9)
    assert list(res.coefficients["term"]) == ["const", *xs]


def test_vif_equals_auxiliary_regressions(retail_design):
    xs = ["recency_days", "tenure_days", "log_n_orders", "log_lines_per_order"]
    res = ols(retail_design, "log_total_spend", xs, robust="HC3")
    assert list(res.vif["term"]) == xs
    for j, name in enumerate(xs):
        others = [c for c in xs if c != name]
        X = with_const(retail_design[others].to_numpy())
        y = retail_design[name].to_numpy()
        beta, *_ = np.linalg.lstsq(X, y, rcond=None)
        e = y - X @ beta
        r2 = 1 - e @ e / ((y - y.mean()) @ (y - y.mean()))
        assert res.vif["vif"].iloc[j] == pytest.approx(1 / (1 - r2), rel=1e-9)


def test_hc3_equals_a_hand_sandwich():
    rng = np.random.default_rng(3)
    x1 = rng.normal(size=25)
    x2 = rng.uniform(0, 3, size=25)
    y = 1 + 2 * x1 - x2 + rng.normal(size=25) * (0.2 + x2)  # heteroskedastic
    df = pd.DataFrame({"y": y, "x1": x1, "x2": x2})
    res = ols(df, "y", ["x1", "x2"], robust="HC3")
    X = with_const(df[["x1", "x2"]].to_numpy())
    bread = np.linalg.inv(X.T @ X)
    beta = bread @ X.T @ y
    e = y - X @ beta
    h = np.einsum("ij,jk,ik->i", X, bread, X)
    meat = X.T @ np.diag(e ** 2 / (1 - h) ** 2) @ X
    se = np.sqrt(np.diag(bread @ meat @ bread))
    np.testing.assert_allclose(res.coefficients["coef"], beta, rtol=1e-10)
    np.testing.assert_allclose(res.coefficients["se"], se, rtol=1e-10)
    z = stats.norm.ppf(0.975)
    np.testing.assert_allclose(res.coefficients["ci_high"], beta + z * se, rtol=1e-10)
    assert any("HC3" in n for n in res.notes)


def test_hc3_with_a_row_of_leverage_one_uses_hc1(recwarn):
    # the last row alone sets the dummy's coefficient (leverage 1): HC3 divides by zero
    # there, so HC1 is used and said; computed here by hand: n/(n-k) (X'X)^-1 X'diag(e^2)X
    # (X'X)^-1, with no warning and finite standard errors
    df = pd.DataFrame({"y": [1.0, 2.5, 2.0, 4.0, 10.0], "x1": [0.1, 0.5, 0.3, 0.9, 0.4],
                       "d": [0, 0, 0, 0, 1]})
    res = ols(df, "y", ["x1", "d"], robust="HC3")
    X = with_const(df[["x1", "d"]].to_numpy(dtype=float))
    y = df["y"].to_numpy()
    bread = np.linalg.inv(X.T @ X)
    e = y - X @ (bread @ X.T @ y)
    meat = X.T @ np.diag(e ** 2) @ X
    se = np.sqrt(np.diag(bread @ meat @ bread) * 5 / (5 - 3))
    np.testing.assert_allclose(res.coefficients["se"], se, rtol=1e-9)
    assert np.isfinite(res.coefficients["se"]).all()
    assert any("HC3 is undefined here: 1 row alone determines a coefficient" in n
               for n in res.notes)
    assert any("standard errors: HC1" in n for n in res.notes)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_reading_of_a_log_outcome():
    rng = np.random.default_rng(5)
    n = 300
    orders = rng.integers(1, 30, n).astype(float)
    days = rng.uniform(0, 365, n)
    df = pd.DataFrame({"log_total_spend": 3 + 0.02 * orders - 0.001 * days
                       + rng.normal(0, 0.3, n), "n_orders": orders, "recency_days": days})
    res = ols(df, "log_total_spend", ["n_orders", "recency_days"])
    assert res.log_outcome
    b = res.coefficients.set_index("term")["coef"]
    text = " ".join(res.reading)
    assert f"Each extra order is associated with total_spend multiplied by e^β = ×{np.exp(b['n_orders']):.6g}" in text
    assert "associations, not causes" in text
    assert "log scale" in text
    plain = ols(df.rename(columns={"log_total_spend": "score"}), "score", "n_orders")
    assert not plain.log_outcome and "multiplied" not in " ".join(plain.reading)


def test_missing_rows_dropped_and_counted():
    df = pd.DataFrame({"y": [1.0, 2.1, np.nan, 3.9, 5.2, 6.1, 6.8],
                       "x": [1.0, 2, 3, 4, np.nan, 6, 7]})
    res = ols(df, "y", "x")
    assert res.n == 5
    assert any("2 of 7 rows dropped" in n for n in res.notes)
    full = ols(df.dropna(), "y", "x")
    np.testing.assert_allclose(res.coefficients["coef"], full.coefficients["coef"])


def test_input_is_not_modified():
    df = pd.DataFrame({"y": [1.0, 2.1, np.nan, 3.9, 5.2], "x": [1, 2, 3, 4, 5]})
    before = df.copy()
    ols(df, "y", "x")
    pd.testing.assert_frame_equal(df, before)


@pytest.mark.parametrize(("df", "y", "x", "match"), [
    (pd.DataFrame({"y": list("abcdef"), "x": range(6)}), "y", "x", "y='y' must be numeric"),
    (pd.DataFrame({"y": range(6), "x": list("abcdef")}), "y", "x", "not numeric"),
    (pd.DataFrame({"y": [1.0, 2, 3], "a": [1.0, 0, 2], "b": [3.0, 1, 1]}), "y", ["a", "b"],
     "needs at least 4"),
    (pd.DataFrame({"y": [1.0, 2, 3, 5, 4, 6], "a": [1.0, 2, 3, 4, 5, 7],
                   "b": [2.0, 4, 6, 8, 10, 14]}), "y", ["a", "b"], "collinear: b"),
    (pd.DataFrame({"y": [1.0, 2, 3, 5, 4], "a": [1.0, 2, 3, 4, 5], "k": [2.0] * 5}), "y",
     ["a", "k"], "k constant"),
    (pd.DataFrame({"y": [1.0, 2, 3, 5], "a": [1.0, 2, 3, 4]}), "y", ["zz"], "not in the table"),
    (pd.DataFrame({"y": [1.0, 2, 3, 5], "a": [1.0, 2, np.inf, 4]}), "y", "a", "infinite"),
    (pd.DataFrame({"y": [1.0, 2, 3, 5], "a": [1.0, 2, 3, 4]}), "y", ["y"], "also listed"),
])
def test_bad_input(df, y, x, match):
    with pytest.raises(InputError, match=match):
        ols(df, y, x)


def test_identity_is_reported_as_collinear_not_fitted():
    # log spend = log orders + log AOV exactly: as predictors they are fine, as a triple with
    # the outcome they give R² = 1 (why value_drivers keeps AOV out)
    rng = np.random.default_rng(0)
    orders = rng.integers(1, 9, 50).astype(float)
    aov = rng.lognormal(3, 0.5, 50)
    df = pd.DataFrame({"log_total_spend": np.log(orders * aov), "log_n_orders": np.log(orders),
                       "log_avg_order_value": np.log(aov)})
    res = ols(df, "log_total_spend", ["log_n_orders", "log_avg_order_value"])
    assert res.r_squared == pytest.approx(1.0, abs=1e-12)


def test_a_negative_elasticity_reads_as_less():
    """New user: "about -0.04% more 12-month CLV". Spend falls 0.5% per 1% more orders here
    (log-log, simulated): the reading says "less" with the size from the fit."""
    rng = np.random.default_rng(11)
    n = 400
    orders = rng.uniform(1, 40, n)
    df = pd.DataFrame({"log_total_spend": 4 - 0.5 * np.log(orders) + rng.normal(0, 0.1, n),
                       "log_n_orders": np.log(orders)})
    res = ols(df, "log_total_spend", "log_n_orders")
    b = res.coefficients.set_index("term")["coef"]["log_n_orders"]
    assert b < 0
    text = " ".join(res.reading)
    # in words: "n orders" was the machine name with its "_" blanked (found by the new user)
    assert f"1% more orders goes with about {abs(b):.2f}% less total spend" in text
    assert "% more total spend" not in text and "n orders" not in text


def test_quantity_words():
    from valuemax.stats._ols import quantity_words

    assert quantity_words("log1p_avg_order_value") == "average order value"
    assert quantity_words("log_clv_6") == "6-month CLV"
    assert quantity_words("ln_basket_size") == "basket size"


def test_ols_and_logit_import_only_their_statsmodels_models():
    """ols() and logit() import the statsmodels model modules they use, not
    ``statsmodels.api`` (which imports every model and test: ~0.2 CPU s of each analyze
    run), and give statsmodels.api's estimates (OLS and Logit are the same classes)."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, pandas as pd\n"
        "from valuemax.stats import logit, ols\n"
        "rng = np.random.default_rng(0)\n"
        "x = rng.normal(size=200)\n"
        "df = pd.DataFrame({'x': x, 'y': 2 * x + rng.normal(size=200),\n"
        "                   'b': (x + rng.normal(size=200) > 0).astype(int)})\n"
        "o, g = ols(df, 'y', 'x'), logit(df, 'b', 'x')\n"
        "print('statsmodels.api' in sys.modules)\n"
        "import statsmodels.api as sm\n"
        "X = np.column_stack([np.ones(200), x])\n"
        "print(np.array_equal(o.coefficients['coef'], sm.OLS(df['y'].to_numpy(), X).fit().params))\n"
        "print(np.allclose(g.coefficients['coef'],\n"
        "                  sm.Logit(df['b'].to_numpy(), X).fit(disp=0).params, rtol=1e-8))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False", "True", "True"]
