"""Estimator contracts without traps (issue 9, points 3 and 4): customers first seen at the
observation end, the time unit carried by the data, scikit-learn's clone, named limits and
models the data cannot tell apart."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.base import clone

from valuemax.clv import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    ShiftedBetaGeoModel,
    compare_models,
    customer_lifetime_value,
    loglik_ties,
)
from valuemax.exceptions import ConvergenceWarning, InputError

PURCHASE = [BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel]
ALL = [*PURCHASE, GammaGammaModel, BetaGeoBetaBinomModel, ShiftedBetaGeoModel]
PUBLISHED = {BetaGeoModel: dict(r=0.243, alpha=4.414, a=0.793, b=2.426),
             ModifiedBetaGeoModel: dict(r=0.525, alpha=6.183, a=0.891, b=1.614),
             ParetoNBDModel: dict(r=0.553, alpha=10.578, s=0.606, beta=11.669)}


@pytest.mark.parametrize("cls", PURCHASE)
def test_a_customer_first_seen_at_the_end_has_likelihood_one_and_prior_scores(cls):
    m = cls.from_params(**PUBLISHED[cls], time_unit="W")
    assert m.loglik_rows([0], [0.0], [0.0])[0] == 0.0  # nothing observed: L = 1 exactly
    t = np.array([4.0, 39.0])
    np.testing.assert_allclose(m.expected_purchases(t, [0, 0], [0.0, 0.0], [0.0, 0.0]),
                               m.expected_purchases_new(t), rtol=1e-12)
    p = m.params_
    prior = p["b"] / (p["a"] + p["b"]) if cls is ModifiedBetaGeoModel else 1.0
    assert m.p_alive([0], [0.0], [0.0])[0] == pytest.approx(prior, rel=1e-12)


@pytest.mark.parametrize("cls", PURCHASE)
def test_t_zero_rows_change_nothing_in_the_fit(cls, cdnow_rfm):
    x, tx, T = cdnow_rfm["frequency"], cdnow_rfm["recency"], cdnow_rfm["T"]
    base = cls(time_unit="W").fit(x, tx, T)
    more = cls(time_unit="W").fit(np.r_[x, [0, 0]], np.r_[tx, [0.0, 0.0]], np.r_[T, [0.0, 0.0]])
    assert more.loglik_ == pytest.approx(base.loglik_, abs=1e-4)
    for key, value in base.params_.items():
        assert more.params_[key] == pytest.approx(value, rel=1e-5)
    assert more.n_customers_ == base.n_customers_ + 2


def test_t_zero_with_repeat_purchases_is_refused_with_ids():
    ids = pd.Index(["a", "b", "c"], name="customer_id")
    with pytest.raises(InputError, match=r"frequency is above 0 where T == 0 for 1 of 3 "
                                         r"customers \(customer_id b\)"):
        BetaGeoModel().fit(pd.Series([0, 1, 2], index=ids), pd.Series([0.0, 0.0, 1.0], index=ids),
                           pd.Series([3.0, 0.0, 3.0], index=ids))


@pytest.mark.parametrize("cls", ALL)
def test_sklearn_clone_round_trips_the_hyper_parameters(cls):
    names = sorted(p for p in inspect.signature(cls.__init__).parameters if p != "self")
    model = cls(penalizer=0.25, n_starts=5, random_state=7)
    assert sorted(model.get_params(deep=True)) == names == sorted(model.get_params(deep=False))
    twin = clone(model)
    assert twin is not model and twin.get_params() == model.get_params()
    assert twin.set_params(n_starts=2) is twin and twin.n_starts == 2 and model.n_starts == 5
    with pytest.raises(ValueError, match="unknown parameter"):
        twin.set_params(n_start=2)


def test_clone_drops_the_fitted_state(cdnow_rfm):
    m = BetaGeoModel(time_unit="W").fit(cdnow_rfm["frequency"], cdnow_rfm["recency"],
                                        cdnow_rfm["T"])
    twin = clone(m)
    assert twin.time_unit == "W" and not hasattr(twin, "params_")


def test_one_time_unit_default_and_the_unit_travels_with_the_table(cdnow_rfm_days):
    from valuemax.features import customer_table

    default = inspect.signature(customer_table).parameters["time_unit"].default
    assert all(cls().time_unit == default == "D" for cls in PURCHASE)
    days = cdnow_rfm_days.copy()
    days.attrs["time_unit"] = "D"
    # pandas hands the table's attrs to the selected columns
    assert days["T"].attrs == {"time_unit": "D"}
    fitted = BetaGeoModel().fit(days["frequency"], days["recency"], days["T"])
    assert fitted.time_unit_ == "D"
    with pytest.raises(InputError, match=r"frequency is in time_unit='D' \(days.*model's "
                                         r"time_unit is 'W' \(weeks\).*Pass time_unit='D'"):
        BetaGeoModel(time_unit="W").fit(days["frequency"], days["recency"], days["T"])
    weekly = BetaGeoModel.from_params(**PUBLISHED[BetaGeoModel], time_unit="W")
    with pytest.raises(InputError, match="time_unit='D'"):
        weekly.p_alive(days["frequency"], days["recency"], days["T"])
    gg = GammaGammaModel.from_params(p=6.25, q=3.74, gamma=15.44)
    with pytest.raises(InputError, match="time_unit='D'"):
        customer_lifetime_value(weekly, gg, days["frequency"], days["recency"], days["T"],
                                days["monetary_value"])


def test_boundary_names_the_limiting_model():
    assert BetaGeoModel.from_params(**PUBLISHED[BetaGeoModel]).boundary_ == ()
    m = BetaGeoModel.from_params(r=2e5, alpha=2e6, a=1e-6, b=3.0)
    assert m.boundary_ == ("no purchase-rate heterogeneity", "no drop-out")
    m = ModifiedBetaGeoModel.from_params(r=0.5, alpha=5.0, a=40.0, b=120.0)
    assert m.boundary_ == ("no drop-out heterogeneity",)
    m = ParetoNBDModel.from_params(r=0.5, alpha=5.0, s=200.0, beta=1e4)
    assert m.boundary_ == ("no drop-out-rate heterogeneity",)
    assert GammaGammaModel.from_params(p=6.0, q=500.0, gamma=1e4).boundary_ == (
        "no spend heterogeneity across customers",)
    # a parameter at the search bound with no named limit is named as such
    assert BetaGeoModel.from_params(r=0.5, alpha=2e6, a=1.0, b=2.0).boundary_ == (
        "alpha at the search bound",)


def test_a_fit_without_heterogeneity_reaches_the_poisson_limit():
    # everyone buys at one rate (Poisson, 0.5 a week) and nobody drops out: the gamma of
    # rates collapses, and the fitted model predicts the Poisson-NBD-free expectation
    rng = np.random.default_rng(5)
    T = rng.uniform(20.0, 40.0, 400)
    x = rng.poisson(0.5 * T)
    tx = np.where(x > 0, T * rng.beta(np.maximum(x, 1), 1.0), 0.0)
    with pytest.warns(ConvergenceWarning, match="search bound"):
        m = BetaGeoModel(time_unit="W").fit(x, tx, T)
    assert m.boundary_[:2] == ("no purchase-rate heterogeneity", "no drop-out")
    lam = x.sum() / T.sum()  # the Poisson maximum-likelihood rate
    assert m.params_["r"] / m.params_["alpha"] == pytest.approx(lam, rel=0.02)
    # Poisson log-likelihood of the repeat purchases given the rate, the nested limit (as
    # the BTYD likelihood of (x, t_x, T) under one rate and no drop-out is λ^x e^(-λT))
    ll = np.sum(x * np.log(lam) - lam * T)
    assert m.loglik_ >= ll - 1e-3


def test_loglik_ties_and_compare_models_say_when_models_cannot_be_told_apart():
    assert loglik_ties({"A": -10.0, "B": -10.005, "C": -10.012, "D": -11.0}) == (
        ("A", "B", "C"),)
    assert loglik_ties({"A": -10.0, "B": -10.5}) == ()
    rng = np.random.default_rng(5)
    T = rng.uniform(20.0, 40.0, 300)
    x = rng.poisson(0.5 * T)
    tx = np.where(x > 0, T * rng.beta(np.maximum(x, 1), 1.0), 0.0)
    hold = rng.poisson(0.5 * 10.0, 300)
    with pytest.warns(ConvergenceWarning, match="search bound"):
        cmp = compare_models(x, tx, T, hold, 10.0, time_unit="W",
                             models=("BG/NBD", "Pareto/NBD"))
    # no drop-out, one rate: both collapse to the Poisson model and fit identically
    assert all(cmp.boundary[name] for name in cmp.models)
    assert len(cmp.indistinguishable) == 1
    assert set(cmp.indistinguishable[0]) == set(cmp.models)
    assert any("cannot tell them apart" in m for m in cmp.messages)
    d = cmp.to_dict()
    assert d["indistinguishable"] and d["boundary"]["BG/NBD"]


def test_gamma_gamma_limit_is_the_pooled_mean():
    # q, gamma -> infinity with gamma/q fixed: nu collapses to q/gamma, so every customer's
    # expected spend is the population mean p gamma/(q - 1) -> p gamma/q
    m = GammaGammaModel.from_params(p=4.0, q=1e9, gamma=2.5e10)
    got = m.expected_average_value([1, 5, 0], [10.0, 80.0, 0.0])
    np.testing.assert_allclose(got, 4.0 * 25.0, rtol=1e-5)
    # and the NBD limit of BG/NBD's count distribution (a -> 0) is scipy's nbinom
    bg = BetaGeoModel.from_params(r=0.5, alpha=5.0, a=1e-12, b=2.4)
    n = np.arange(5)
    np.testing.assert_allclose(bg.probability_of_n_purchases(10.0, n),
                               stats.nbinom.pmf(n, 0.5, 5.0 / 15.0), rtol=1e-9)
