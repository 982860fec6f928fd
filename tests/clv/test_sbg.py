"""sBG (Fader & Hardie 2007, J. Interactive Marketing 21(1)) on the retention survivors data.

Published values: fitting years 0-7 gives alpha 0.704, beta 1.182 ("regular") and alpha 0.668,
beta 3.806 ("high end"); years 8-12 are the holdout the paper projects. Survival is recomputed
here independently by the recursion ``S(0) = 1, S(t) = S(t-1) (beta+t-1)/(alpha+beta+t-1)``
(``r_t`` of the paper; 1-based period labels give the ``t-2`` form of the same recursion). DERL
(Fader & Hardie 2010, Marketing Science 29(1)) is checked against the plain discounted sum.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

from valuemax.clv import ShiftedBetaGeoModel
from valuemax.clv._likelihoods.discrete import sbg_loglik
from valuemax.exceptions import InputError, NotFittedError

PUBLISHED = {"regular": (0.704, 1.182), "high_end": (0.668, 3.806)}
CALIBRATION = 8  # years 0..7


@pytest.fixture(scope="module")
def survivors(datasets) -> pd.DataFrame:
    frame = pd.read_csv(datasets("retention/sbg_survivors.csv"))
    assert list(frame.columns) == ["year", "regular", "high_end"]
    assert frame["year"].tolist() == list(range(13))
    return frame


def _survival_by_recursion(alpha: float, beta: float, horizon: int) -> np.ndarray:
    s = [1.0]
    for t in range(1, horizon + 1):
        s.append(s[-1] * (beta + t - 1) / (alpha + beta + t - 1))
    return np.array(s)


@pytest.mark.parametrize("segment", list(PUBLISHED))
def test_reproduces_published_estimates(survivors, segment):
    m = ShiftedBetaGeoModel().fit(survivors[segment][:CALIBRATION])
    alpha, beta = PUBLISHED[segment]
    assert m.params_["alpha"] == pytest.approx(alpha, abs=5e-4)  # published to 3 decimals
    assert m.params_["beta"] == pytest.approx(beta, abs=5e-4)
    assert m.converged_ and m.n_customers_ == 1000 and m.n_periods_ == 7
    # the log-likelihood, recomputed from the recursion's survival
    s = survivors[segment].to_numpy(float)[:CALIBRATION]
    surv = _survival_by_recursion(m.params_["alpha"], m.params_["beta"], 7)
    ll = np.dot(s[:-1] - s[1:], np.log(surv[:-1] - surv[1:])) + s[-1] * np.log(surv[-1])
    assert m.loglik_ == pytest.approx(ll, rel=1e-10)
    summary = m.summary()
    assert summary.model == "sBG" and np.all(summary.std_errors > 0)
    assert summary.bic == pytest.approx(2 * np.log(1000) - 2 * m.loglik_)


@pytest.mark.parametrize(("segment", "max_error", "max_in_sample"),
                         [("regular", 0.02, 7.0), ("high_end", 0.045, 20.0)])
def test_projection_of_holdout_years(survivors, segment, max_error, max_in_sample):
    m = ShiftedBetaGeoModel().fit(survivors[segment][:CALIBRATION])
    years = np.arange(13)
    surv = _survival_by_recursion(m.params_["alpha"], m.params_["beta"], 12)
    np.testing.assert_allclose(m.survival(years), surv, rtol=1e-12)
    projected = m.expected_alive(years[CALIBRATION:], cohort_size=1000)
    actual = survivors[segment].to_numpy(float)[CALIBRATION:]
    error = projected / actual - 1
    # measured: regular -1.3% .. -1.7%, high end -1.6% .. -4.1% (slight under-projection,
    # growing with the horizon, as in F&H 2007's figures)
    assert np.all(np.abs(error) < max_error)
    assert np.all(error < 0)
    # in-sample (measured): within 6.1 (regular) and 18.3 (high end) customers of 1,000
    fit_error = m.expected_alive(years[:CALIBRATION], 1000) - survivors[segment][:CALIBRATION]
    assert np.max(np.abs(fit_error)) < max_in_sample


def test_published_projection_values():
    regular = ShiftedBetaGeoModel.from_params(alpha=0.704, beta=1.182)
    high_end = ShiftedBetaGeoModel.from_params(alpha=0.668, beta=3.806)
    np.testing.assert_allclose(regular.expected_alive([8, 12], 1000), [220.1, 170.0], atol=0.1)
    np.testing.assert_allclose(high_end.expected_alive([8, 12], 1000), [460.4, 378.0], atol=0.2)


def test_churn_retention_and_survival_agree():
    m = ShiftedBetaGeoModel.from_params(alpha=0.704, beta=1.182)
    t = np.arange(1, 40)
    surv = m.survival(np.arange(0, 40))
    np.testing.assert_allclose(m.churn_probability(t), surv[:-1] - surv[1:], rtol=1e-10)
    np.testing.assert_allclose(m.retention_rate(t), surv[1:] / surv[:-1], rtol=1e-12)
    assert np.all(np.diff(m.retention_rate(t)) > 0)  # retention rises with tenure
    assert m.churn_probability(t).sum() + surv[-1] == pytest.approx(1.0, rel=1e-12)
    assert float(m.churn_probability(1)) == pytest.approx(0.704 / (0.704 + 1.182))


def _derl_by_sum(alpha, beta, d, n_renewals, terms=200_000):
    # sum_{k>=0} P(T > n+k | T > n-1) / (1+d)^k with n - 1 = n_renewals renewals made
    t = np.arange(n_renewals + 1, n_renewals + 1 + terms)
    cond = np.cumprod((beta + t - 1) / (alpha + beta + t - 1))
    return float(np.sum(cond * np.exp(-np.arange(terms) * np.log1p(d))))


@pytest.mark.parametrize(("alpha", "beta"), [(0.704, 1.182), (0.668, 3.806), (2.5, 0.5),
                                             (0.2, 8.0), (50.0, 100.0)])
@pytest.mark.parametrize("d", [0.01, 0.1, 0.5])
@pytest.mark.parametrize("n_renewals", [0, 1, 5, 20, 300])
def test_derl_equals_the_discounted_sum(alpha, beta, d, n_renewals):
    # includes beta + n in the hundreds, where scipy's hyp2f1 returns NaN
    m = ShiftedBetaGeoModel.from_params(alpha=alpha, beta=beta)
    value = float(m.discounted_expected_residual_lifetime(d, n_renewals))
    assert value == pytest.approx(_derl_by_sum(alpha, beta, d, n_renewals), rel=1e-10)


def test_derl_equals_the_closed_form_where_hyp2f1_is_reliable():
    m = ShiftedBetaGeoModel.from_params(alpha=0.668, beta=3.806)
    k = np.arange(0, 8)
    closed = (3.806 + k) / (0.668 + 3.806 + k) * hyp2f1(1, 3.806 + k + 1, 0.668 + 3.806 + k + 1,
                                                        1 / 1.1)
    np.testing.assert_allclose(m.discounted_expected_residual_lifetime(0.1, k), closed,
                               rtol=1e-12)
    grid = m.discounted_expected_residual_lifetime(np.array([[0.05], [0.1]]), [0, 3, 3])
    assert grid.shape == (2, 3) and grid[0, 1] == grid[0, 2] and grid[0, 0] > grid[1, 0]


def test_derl_and_discounted_expected_lifetime_agree():
    # DEL = sum_t S(t) / (1+d)^t (payments at the start of periods 0, 1, ...) = 1 + DERL/(1+d):
    # the just-acquired customer pays now, and DERL counts from the first renewal, undiscounted
    m = ShiftedBetaGeoModel.from_params(alpha=0.704, beta=1.182)
    t = np.arange(0, 5000)
    del_sum = float(np.sum(m.survival(t) * np.exp(-t * np.log(1.1))))
    derl = float(m.discounted_expected_residual_lifetime(0.1))
    assert 1 + derl / 1.1 == pytest.approx(del_sum, rel=1e-10)
    derl = m.discounted_expected_residual_lifetime(0.1, np.arange(0, 10))
    assert np.all(np.diff(derl) > 0)  # survivors are the better customers


def test_simulate_then_refit_recovers_parameters():
    truth = ShiftedBetaGeoModel.from_params(alpha=0.7, beta=1.2)
    s = truth.simulate(200_000, 12, random_state=3)
    assert s.dtype == np.int64 and s[0] == 200_000 and np.all(np.diff(s) <= 0)
    np.testing.assert_allclose(s / s[0], truth.survival(np.arange(13)), atol=0.005)
    m = ShiftedBetaGeoModel(random_state=0).fit(s)
    summary = m.summary()
    for name, se in zip(summary.param_names, summary.std_errors, strict=True):
        assert abs(m.params_[name] - truth.params_[name]) < 4 * se, name
    np.testing.assert_array_equal(s, truth.simulate(200_000, 12, random_state=3))


def test_loglik_with_everyone_churned_has_no_censored_term():
    ll = sbg_loglik(0.7, 1.2, np.array([10.0, 4.0, 0.0]))
    m = ShiftedBetaGeoModel.from_params(alpha=0.7, beta=1.2)
    expected = 6 * np.log(m.churn_probability(1)) + 4 * np.log(m.churn_probability(2))
    assert ll == pytest.approx(float(expected), rel=1e-12)


def test_input_is_not_mutated(survivors):
    s = survivors["regular"][:CALIBRATION].copy()
    ShiftedBetaGeoModel().fit(s)
    pd.testing.assert_series_equal(s, survivors["regular"][:CALIBRATION])


@pytest.mark.parametrize(("survivors", "match"), [
    ([1000, 631, 650, 400], r"survivors increase at 1 period\(s\) \(\[2\], e.g. 631 -> 650\)"),
    ([1000, -5, -10], "survivor values are negative"),
    ([1000], "at least 2 values"),
    ([0, 0, 0], "cohort size .* is 0"),
    ([1.0, 0.63, 0.47], "not whole numbers"),
    ([1000, np.nan, 400], "NaN or infinite"),
    ([[1000, 600], [1000, 500]], "1-D numeric"),
    (["1000", "600"], "1-D numeric"),
])
def test_bad_survivors_are_rejected(survivors, match):
    with pytest.raises(InputError, match=match):
        ShiftedBetaGeoModel().fit(survivors)


def test_bad_prediction_input_and_state():
    m = ShiftedBetaGeoModel.from_params(alpha=0.704, beta=1.182)
    with pytest.raises(InputError, match="whole numbers of periods >= 0"):
        m.survival([-1, 2])
    with pytest.raises(InputError, match="whole numbers of periods >= 1"):
        m.churn_probability(0)
    with pytest.raises(InputError, match="whole numbers of periods >= 1"):
        m.retention_rate(1.5)
    with pytest.raises(InputError, match="cohort_size must be a finite number > 0"):
        m.expected_alive(3, cohort_size=0)
    with pytest.raises(InputError, match="discount_rate must be finite and >= 1e-5"):
        m.discounted_expected_residual_lifetime(0.0)
    with pytest.raises(InputError, match="n_renewals must be whole numbers"):
        m.discounted_expected_residual_lifetime(0.1, 0.5)
    with pytest.raises(ValueError, match="n_periods must be an integer >= 1"):
        m.simulate(100, 0)
    with pytest.raises(NotFittedError, match="not fitted"):
        ShiftedBetaGeoModel().survival(3)
    with pytest.raises(NotFittedError, match="from_params"):
        m.summary()
    with pytest.raises(ValueError, match="finite and > 0"):
        ShiftedBetaGeoModel.from_params(alpha=0.0, beta=1.0)
