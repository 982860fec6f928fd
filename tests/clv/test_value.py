"""customer_lifetime_value, clv_table and spend_independence (STYLE.md e).

The formula is checked against an independent re-implementation (BG/NBD eq. 10 of Fader,
Hardie & Lee 2005 in its original hypergeometric form, Gamma-Gamma eq. 5 of FHL 2005 JMR, a
plain loop over months); invariants: zero discount, monotone in the horizon, linear in the
margin, D and W fits agree; the spend check against scipy on CDNOW (published r = 0.11).
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import hyp2f1

from valuemax.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    clv_table,
    customer_lifetime_value,
    spend_independence,
)
from valuemax.exceptions import InputError, NotFittedError

BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}
X = np.array([0, 1, 2, 5, 14])
TX = np.array([0.0, 10.0, 30.43, 20.0, 38.0])
T = np.array([38.86, 30.0, 38.86, 38.0, 38.5])
M = np.array([0.0, 20.0, 20.0, 55.5, 12.0])


def _bg_conditional(t, x, t_x, T, r, alpha, a, b):
    """BG/NBD E[Y(t) | x, t_x, T], eq. (10) of FHL (2005), with the original 2F1 form."""
    z = t / (alpha + T + t)
    head = (a + b + x - 1) / (a - 1)
    body = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
    alive = 1 / (1 + (x > 0) * a / (b + x - 1 + (x == 0)) * ((alpha + T) / (alpha + t_x)) ** (r + x))
    return head * body * alive


def _gg_value(x, m, p, q, gamma):
    """E[M | x, m], eq. (5) of FHL (2005, JMR), written out; population mean when x == 0."""
    pop = p * gamma / (q - 1)
    w = p * x / (p * x + q - 1)
    return (1 - w) * pop + w * m


def _brute_clv(x, t_x, T, m, months, d, margin, weeks_per_month=30.4375 / 7):
    out = np.zeros(len(x))
    for i in range(len(x)):
        total = 0.0
        for month in range(1, months + 1):
            now = _bg_conditional(month * weeks_per_month, x[i], t_x[i], T[i], **BG)
            before = _bg_conditional((month - 1) * weeks_per_month, x[i], t_x[i], T[i], **BG)
            total += (now - before) / (1 + d) ** month
        out[i] = margin * _gg_value(x[i], m[i], **GG) * total
    return out


@pytest.fixture
def models():
    return BetaGeoModel.from_params(**BG, time_unit="W"), GammaGammaModel.from_params(**GG)


@pytest.mark.parametrize(("months", "d", "margin"), [(12, 0.01, 1.0), (3, 0.05, 0.3),
                                                     (24, 0.0, 0.7)])
def test_clv_matches_brute_force(models, months, d, margin):
    bg, gg = models
    got = customer_lifetime_value(bg, gg, X, TX, T, M, horizon_months=months, discount_rate=d,
                                  margin=margin)
    assert got.shape == (5,)
    np.testing.assert_allclose(got, _brute_clv(X, TX, T, M, months, d, margin), rtol=1e-9)


def test_zero_discount_is_margin_times_value_times_expected_purchases(models):
    bg, gg = models
    got = customer_lifetime_value(bg, gg, X, TX, T, M, horizon_months=12, discount_rate=0.0,
                                  margin=0.4)
    horizon = 12 * 30.4375 / 7  # weeks
    expected = 0.4 * gg.expected_average_value(X, M) * bg.expected_purchases(horizon, X, TX, T)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_clv_monotone_in_horizon_decreasing_in_discount_linear_in_margin(models):
    bg, gg = models
    by_h = [customer_lifetime_value(bg, gg, X, TX, T, M, horizon_months=h) for h in
            (1, 6, 12, 60)]
    assert all((b >= a).all() for a, b in pairwise(by_h))
    assert (by_h[0] > 0).all()
    low = customer_lifetime_value(bg, gg, X, TX, T, M, discount_rate=0.0)
    high = customer_lifetime_value(bg, gg, X, TX, T, M, discount_rate=0.05)
    assert (high < low).all()
    half = customer_lifetime_value(bg, gg, X, TX, T, M, margin=0.5)
    np.testing.assert_allclose(half, 0.5 * by_h[2], rtol=1e-12)


def test_freq_multiplier_default_is_weeks_per_month(models):
    bg, gg = models
    default = customer_lifetime_value(bg, gg, X, TX, T, M)
    explicit = customer_lifetime_value(bg, gg, X, TX, T, M, freq_multiplier=30.4375 / 7)
    np.testing.assert_allclose(default, explicit, rtol=1e-12)
    thirty_days = customer_lifetime_value(bg, gg, X, TX, T, M, freq_multiplier=30 / 7)
    assert (thirty_days < default).all()


def test_same_clv_from_day_and_week_fits(cdnow_rfm, cdnow_rfm_days):
    gg = GammaGammaModel.from_params(**GG)
    week = BetaGeoModel(time_unit="W", random_state=0).fit(cdnow_rfm["frequency"], cdnow_rfm["recency"],
                                            cdnow_rfm["T"])
    day = BetaGeoModel(time_unit="D", random_state=0).fit(
        cdnow_rfm_days["frequency"], cdnow_rfm_days["recency"], cdnow_rfm_days["T"])
    assert day.params_["alpha"] == pytest.approx(7 * week.params_["alpha"], rel=1e-4)
    cw = customer_lifetime_value(week, gg, cdnow_rfm["frequency"], cdnow_rfm["recency"],
                                 cdnow_rfm["T"], cdnow_rfm["monetary_value"])
    cd = customer_lifetime_value(day, gg, cdnow_rfm_days["frequency"], cdnow_rfm_days["recency"],
                                 cdnow_rfm_days["T"], cdnow_rfm_days["monetary_value"])
    np.testing.assert_allclose(cw.to_numpy(), cd.to_numpy(), rtol=1e-4)
    # measured: 71,579 dollars of 12-month revenue for the 2,357 CDNOW sample customers
    assert cw.sum() == pytest.approx(71579.1, rel=1e-4)


def test_cdnow_clv_with_published_models_matches_brute_force(cdnow_rfm):
    bg, gg = BetaGeoModel.from_params(**BG, time_unit="W"), GammaGammaModel.from_params(**GG)
    rfm = cdnow_rfm.iloc[:40]
    got = customer_lifetime_value(bg, gg, rfm["frequency"], rfm["recency"], rfm["T"],
                                  rfm["monetary_value"])
    brute = _brute_clv(rfm["frequency"].to_numpy(), rfm["recency"].to_numpy(),
                       rfm["T"].to_numpy(), rfm["monetary_value"].to_numpy(), 12, 0.01, 1.0)
    assert isinstance(got, pd.Series) and got.index.equals(rfm.index)
    np.testing.assert_allclose(got.to_numpy(), brute, rtol=1e-9)


def test_works_with_pareto_nbd_and_days():
    pnbd = ParetoNBDModel.from_params(r=0.553, alpha=10.578 * 7, s=0.606, beta=11.669 * 7,
                                      time_unit="D")
    pnbd_w = ParetoNBDModel.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669,
                                        time_unit="W")
    gg = GammaGammaModel.from_params(**GG)
    day = customer_lifetime_value(pnbd, gg, X, TX * 7, T * 7, M)
    week = customer_lifetime_value(pnbd_w, gg, X, TX, T, M)
    np.testing.assert_allclose(day, week, rtol=1e-10)


def test_clv_table_columns_index_notes(models):
    bg, gg = models
    idx = pd.Index(["a", "b", "c", "d", "e"], name="customer_id")
    m = M.copy()
    m[3] = 0.0  # a repeat buyer whose purchases were all refunded
    frame = pd.DataFrame({"x": X, "t_x": TX, "T": T, "m": m}, index=idx)
    before = frame.copy()
    table = clv_table(bg, gg, frame["x"], frame["t_x"], frame["T"], frame["m"],
                      horizon_months=6, discount_rate=0.0)
    pd.testing.assert_frame_equal(frame, before)  # inputs unchanged
    assert list(table.columns) == ["p_alive", "expected_purchases_6", "expected_avg_value",
                                   "clv_6"]
    assert table.index.equals(idx)
    pop = gg.population_mean()
    assert table.loc["a", "expected_avg_value"] == pytest.approx(pop)
    assert table.loc["d", "expected_avg_value"] == pytest.approx(pop)
    assert table.attrs["notes"] == [
        "1 of 5 customers have no repeat purchase; they are valued at the population mean "
        "spend 35.22.",
        "1 of 4 repeat buyers have monetary_value <= 0 (returns, free orders); they are valued "
        "at the population mean spend 35.22."]
    np.testing.assert_allclose(table["p_alive"], bg.p_alive(X, TX, T))
    np.testing.assert_allclose(table["expected_purchases_6"],
                               bg.expected_purchases(6 * 30.4375 / 7, X, TX, T))
    np.testing.assert_allclose(table["clv_6"],
                               table["expected_purchases_6"] * table["expected_avg_value"])
    plain = clv_table(bg, gg, X, TX, T, M)
    assert isinstance(plain.index, pd.RangeIndex) and plain.attrs["notes"][0].startswith("1 of")
    np.testing.assert_allclose(plain["clv_12"], customer_lifetime_value(bg, gg, X, TX, T, M))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"horizon_months": 0}, "horizon_months must be an integer >= 1"),
    ({"horizon_months": 12.0}, "horizon_months must be an integer >= 1"),
    ({"discount_rate": 1.0}, r"MONTHLY rate in \[0, 1\)"),
    ({"discount_rate": -0.01}, r"MONTHLY rate in \[0, 1\)"),
    ({"margin": 0.0}, r"margin must be in \(0, 1\]"),
    ({"margin": 1.5}, r"margin must be in \(0, 1\]"),
    ({"freq_multiplier": -1.0}, "freq_multiplier must be a finite number > 0"),
])
def test_bad_options_raise_with_the_fix(models, kwargs, match):
    bg, gg = models
    with pytest.raises(InputError, match=match):
        customer_lifetime_value(bg, gg, X, TX, T, M, **kwargs)


def test_bad_inputs_raise(models):
    bg, gg = models
    with pytest.raises(InputError, match="monetary_value has 4 values but frequency has 5"):
        customer_lifetime_value(bg, gg, X, TX, T, M[:4])
    with pytest.raises(InputError, match="different indexes"):
        customer_lifetime_value(bg, gg, pd.Series(X), pd.Series(TX), pd.Series(T),
                                pd.Series(M, index=[5, 6, 7, 8, 9]))
    with pytest.raises(InputError, match="recency exceeds T"):
        customer_lifetime_value(bg, gg, X, TX + 100, T, M)
    with pytest.raises(InputError, match="monetary_value is NaN"):
        customer_lifetime_value(bg, gg, X, TX, T, np.where(X == 1, np.nan, M))
    with pytest.raises(NotFittedError):
        customer_lifetime_value(BetaGeoModel(), gg, X, TX, T, M)
    with pytest.raises(NotFittedError):
        customer_lifetime_value(bg, GammaGammaModel(), X, TX, T, M)
    with pytest.raises(InputError, match="population mean is inf"):
        customer_lifetime_value(bg, GammaGammaModel.from_params(p=6.25, q=0.9, gamma=15.44),
                                X, TX, T, M)


def test_spend_independence_on_cdnow_against_scipy(cdnow_rfm):
    out = spend_independence(cdnow_rfm["frequency"], cdnow_rfm["monetary_value"])
    repeat = cdnow_rfm[cdnow_rfm["frequency"] > 0]
    x, m = repeat["frequency"].to_numpy(float), repeat["monetary_value"].to_numpy()
    assert out["n"] == 946
    # Pearson's r from its definition; Spearman as the Pearson r of average ranks
    r = np.sum((x - x.mean()) * (m - m.mean())) / np.sqrt(np.sum((x - x.mean()) ** 2)
                                                          * np.sum((m - m.mean()) ** 2))
    assert out["pearson_r"] == pytest.approx(r, rel=1e-10)
    assert out["pearson_r"] == pytest.approx(0.11, abs=0.005)  # FHL (2005 JMR); 0.1139 here
    assert out["pearson_p"] == pytest.approx(stats.pearsonr(x, m).pvalue, rel=1e-10)
    assert out["pearson_p"] == pytest.approx(4.49e-4, rel=1e-2)
    rho = np.corrcoef(stats.rankdata(x), stats.rankdata(m))[0, 1]
    assert out["spearman_rho"] == pytest.approx(rho, rel=1e-10)
    assert out["spearman_rho"] == pytest.approx(0.2063, abs=1e-4)
    assert out["material"] is False
    assert "weakly correlated" in out["message"] and "946" in out["message"]


def test_spend_independence_material_and_degenerate():
    rng = np.random.default_rng(0)
    x = rng.integers(1, 10, 200)
    m = 10 * x + rng.normal(0, 5, 200)
    out = spend_independence(x, m)
    assert out["material"] is True and out["pearson_r"] > 0.9
    assert "doubtful" in out["message"] and "biased" in out["message"]
    assert spend_independence(x, m, threshold=1.0)["material"] is False
    flat = spend_independence([1, 1, 1, 0], [5.0, 6.0, 7.0, 0.0])
    assert flat["pearson_r"] is None and flat["material"] is False
    assert "could not be checked" in flat["message"] and "frequency constant" in flat["message"]
    few = spend_independence([1, 2, 0], [5.0, 6.0, 0.0])
    assert few["n"] == 2 and few["spearman_rho"] is None
    with pytest.raises(InputError, match=r"threshold must be in \(0, 1\]"):
        spend_independence(x, m, threshold=0.0)
    with pytest.raises(InputError, match="frequency must be integers >= 0"):
        spend_independence([1.5, 2.0, 3.0], [1.0, 2.0, 3.0])
