"""Invariants and round trips of the CLV estimators (STYLE.md e)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from valuemax.clv import (
    BetaGeoModel,
    FitSummary,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
)
from valuemax.exceptions import NotFittedError

PURCHASE_MODELS = {
    BetaGeoModel: {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
    ModifiedBetaGeoModel: {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614},
    ParetoNBDModel: {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669},
}
ALL = pytest.mark.parametrize("cls", list(PURCHASE_MODELS), ids=lambda c: c.__name__)


def _published(cls):
    return cls.from_params(**PURCHASE_MODELS[cls], time_unit="W")


@ALL
def test_p_alive_is_a_probability(cls, cdnow_rfm):
    p = _published(cls).p_alive(cdnow_rfm["frequency"], cdnow_rfm["recency"], cdnow_rfm["T"])
    assert isinstance(p, pd.Series) and p.index.equals(cdnow_rfm.index)
    assert ((p >= 0) & (p <= 1)).all()


def test_bg_nbd_p_alive_is_one_without_repeat_purchases(cdnow_rfm):
    zero = cdnow_rfm[cdnow_rfm["frequency"] == 0]
    p = _published(BetaGeoModel).p_alive(zero["frequency"], zero["recency"], zero["T"])
    np.testing.assert_array_equal(p.to_numpy(), 1.0)


@ALL
def test_expected_purchases_non_decreasing_in_horizon(cls):
    m = _published(cls)
    horizons = np.linspace(0, 200, 41)
    new = m.expected_purchases_new(horizons)
    assert new.shape == horizons.shape and new[0] == 0
    assert np.all(np.diff(new) > 0)
    cond = np.array([m.expected_purchases(t, [0, 2, 7], [0.0, 30.43, 12.0], [38.86] * 3)
                     for t in horizons])
    assert cond.shape == (41, 3)
    assert np.all(np.diff(cond, axis=0) >= 0) and np.all(cond[0] == 0)


@ALL
def test_weights_equal_duplicated_rows(cls, cdnow_rfm):
    sub = cdnow_rfm.iloc[::3]
    counts = np.arange(len(sub)) % 3 + 1
    dup = sub.loc[sub.index.repeat(counts)]
    a = cls(random_state=0).fit(sub["frequency"], sub["recency"], sub["T"], weights=counts)
    b = cls(random_state=0).fit(dup["frequency"], dup["recency"], dup["T"])
    for name in a.params_:
        assert a.params_[name] == pytest.approx(b.params_[name], rel=1e-6)
    assert a.loglik_ == pytest.approx(b.loglik_, rel=1e-9)
    assert a.n_customers_ == b.n_customers_ == len(dup)


@ALL
def test_days_to_weeks_scales_rates_and_keeps_predictions(cls, cdnow_rfm, cdnow_rfm_days):
    w = cls(time_unit="W", random_state=0).fit(
        cdnow_rfm["frequency"], cdnow_rfm["recency"], cdnow_rfm["T"])
    d = cls(time_unit="D", random_state=0).fit(
        cdnow_rfm_days["frequency"], cdnow_rfm_days["recency"], cdnow_rfm_days["T"])
    assert d.time_unit_ == "D" and w.time_unit_ == "W"
    for name in w.params_:
        scale = 1 / 7 if name in ("alpha", "beta") else 1.0
        assert d.params_[name] * scale == pytest.approx(w.params_[name], rel=1e-4), name
    pw = w.expected_purchases(39, cdnow_rfm["frequency"], cdnow_rfm["recency"], cdnow_rfm["T"])
    pd_ = d.expected_purchases(273, cdnow_rfm_days["frequency"], cdnow_rfm_days["recency"],
                               cdnow_rfm_days["T"])
    np.testing.assert_allclose(pd_.to_numpy(), pw.to_numpy(), rtol=1e-3)


@ALL
def test_from_params_round_trip_and_summary(cls, cdnow_rfm):
    m = cls(random_state=0).fit(cdnow_rfm["frequency"], cdnow_rfm["recency"], cdnow_rfm["T"])
    again = cls.from_params(**m.params_, time_unit=m.time_unit_)
    x, tx, T = cdnow_rfm["frequency"], cdnow_rfm["recency"], cdnow_rfm["T"]
    np.testing.assert_array_equal(again.p_alive(x, tx, T), m.p_alive(x, tx, T))
    s = m.summary()
    assert isinstance(s, FitSummary)
    frame = s.to_frame()
    assert list(frame.columns) == ["estimate", "std_error", "lower", "upper"]
    assert (frame["std_error"] > 0).all()
    wide, narrow = s.conf_int(0.01), s.conf_int(0.10)
    assert (wide["lower"] < narrow["lower"]).all() and (wide["upper"] > narrow["upper"]).all()
    assert s.bic == pytest.approx(4 * np.log(2357) - 2 * s.loglik)
    assert m.params_["r"] in frame["estimate"].to_numpy()
    assert "LL=" in s.to_text() and "<table" in s.to_html()
    with pytest.raises(AttributeError):
        s.loglik = 0.0  # frozen
    with pytest.raises(NotFittedError, match="from_params"):
        again.summary()


@ALL
def test_inputs_unchanged(cls, cdnow_rfm):
    before = cdnow_rfm.copy(deep=True)
    x = cdnow_rfm["frequency"].to_numpy().copy()
    cls(random_state=0).fit(cdnow_rfm["frequency"], cdnow_rfm["recency"], cdnow_rfm["T"])
    _published(cls).expected_purchases(10, cdnow_rfm["frequency"], cdnow_rfm["recency"],
                                       cdnow_rfm["T"])
    pd.testing.assert_frame_equal(cdnow_rfm, before)
    np.testing.assert_array_equal(cdnow_rfm["frequency"].to_numpy(), x)


@ALL
def test_not_fitted(cls):
    with pytest.raises(NotFittedError, match="not fitted"):
        cls().p_alive([1], [2.0], [3.0])
    assert cls().get_params() == {"time_unit": "D", "penalizer": 0.0, "n_starts": 3,
                                  "random_state": 0}


def test_penalizer_shrinks_parameters(cdnow_rfm):
    x, tx, T = cdnow_rfm["frequency"], cdnow_rfm["recency"], cdnow_rfm["T"]
    plain = BetaGeoModel(random_state=0).fit(x, tx, T)
    shrunk = BetaGeoModel(penalizer=0.01, random_state=0).fit(x, tx, T)
    assert shrunk.params_["alpha"] < plain.params_["alpha"]
    assert shrunk.loglik_ < plain.loglik_


def test_gamma_gamma_predictions(cdnow_rfm):
    m = GammaGammaModel.from_params(p=6.25, q=3.74, gamma=15.44)
    value = m.expected_average_value(cdnow_rfm["frequency"], cdnow_rfm["monetary_value"])
    assert value.index.equals(cdnow_rfm.index)
    zero = cdnow_rfm["frequency"] == 0
    np.testing.assert_allclose(value[zero], m.population_mean())
    assert m.population_mean() == pytest.approx(6.25 * 15.44 / 2.74)
    # shrinkage: between the customer's own average and the population mean
    rep = value[~zero].to_numpy()
    own = cdnow_rfm.loc[~zero, "monetary_value"].to_numpy()
    lo, hi = np.minimum(own, m.population_mean()), np.maximum(own, m.population_mean())
    assert np.all((rep >= lo - 1e-9) & (rep <= hi + 1e-9))
    again = GammaGammaModel.from_params(**m.params_)
    assert again.params_ == m.params_


def test_gamma_gamma_weights_equal_duplicated_rows(cdnow_rfm):
    rep = cdnow_rfm[cdnow_rfm["frequency"] > 0].iloc[::2]
    counts = np.arange(len(rep)) % 2 + 1
    dup = rep.loc[rep.index.repeat(counts)]
    a = GammaGammaModel(random_state=0).fit(rep["frequency"], rep["monetary_value"], counts)
    b = GammaGammaModel(random_state=0).fit(dup["frequency"], dup["monetary_value"])
    for name in a.params_:
        assert a.params_[name] == pytest.approx(b.params_[name], rel=1e-6)


def test_bg_nbd_simulate_then_fit_recovers_parameters():
    truth = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    sim_rng = np.random.default_rng(7)
    T = sim_rng.uniform(30.0, 39.0, 20_000)  # cohort-like ages
    sim = BetaGeoModel.from_params(**truth).simulate(20_000, T, random_state=11)
    assert sim.shape == (20_000, 3) and sim["frequency"].dtype == np.int64
    assert ((sim["recency"] <= sim["T"]) & ((sim["frequency"] > 0) | (sim["recency"] == 0))).all()
    fit = BetaGeoModel(random_state=0).fit(sim["frequency"], sim["recency"], sim["T"])
    ci = fit.summary().conf_int(alpha=0.01)
    for name, value in truth.items():
        assert ci.loc[name, "lower"] < value < ci.loc[name, "upper"], (name, ci.loc[name])
    again = BetaGeoModel.from_params(**truth).simulate(20_000, T, random_state=11)
    pd.testing.assert_frame_equal(sim, again)  # seeded: the same draw


def test_conf_int_of_an_unidentified_parameter_is_zero_to_infinity():
    """A log standard error of 1,000 (a parameter the data do not identify) makes the
    interval factor exp(1.96 * 1000) exceed the float range: the interval is (0, +inf), with
    no overflow warning (pytest turns warnings into errors), and the identified parameter's
    interval is estimate * exp(-+1.96 * 0.1); a NaN standard error gives a NaN interval."""
    from scipy.stats import norm

    from valuemax.clv._results import FitSummary

    s = FitSummary(model="BG/NBD", param_names=("r", "alpha", "a"),
                   estimates=np.array([0.25, 4.0, 0.8]), std_errors=np.array([0.025, 4e3, np.nan]),
                   log_std_errors=np.array([0.1, 1000.0, np.nan]), loglik=-100.0, n_obs=50.0,
                   aic=206.0, bic=210.0, n_iter=10, converged=True, time_unit="W")
    ci = s.conf_int()
    z = norm.ppf(0.975)
    assert ci.loc["r"].tolist() == pytest.approx([0.25 * np.exp(-0.1 * z),
                                                 0.25 * np.exp(0.1 * z)], rel=1e-12)
    assert ci.loc["alpha", "lower"] == 0.0 and ci.loc["alpha", "upper"] == np.inf
    assert ci.loc["a"].isna().all()
    assert s.to_frame().loc["alpha", "upper"] == np.inf
