"""Starting points: one when its optimum passes the checks, up to ``n_starts`` when not."""

from __future__ import annotations

import numpy as np
import pytest

import valuemax.clv._base as base
from valuemax.clv import BetaGeoModel
from valuemax.exceptions import ConvergenceWarning


@pytest.fixture
def count_starts(monkeypatch):
    """The starting points ``fit_mle`` hands to the optimiser, in order."""
    calls, minimize = [], base.minimize

    def counting(*args, **kwargs):
        calls.append(np.array(args[1], dtype=float))
        return minimize(*args, **kwargs)

    monkeypatch.setattr(base, "minimize", counting)
    return calls


def test_one_start_when_the_first_optimum_is_clean(count_starts):
    # a concave log-likelihood with its maximum at theta = (1, -2): found from the first start
    fitted = base.fit_mle("quadratic", lambda t: -np.sum((t - [1.0, -2.0]) ** 2), 1.0,
                          np.zeros(2), penalizer=0.0, n_starts=3, random_state=0,
                          grad=lambda t: -2 * (t - [1.0, -2.0]))
    assert len(count_starts) == 1
    np.testing.assert_allclose(fitted["theta"], [1.0, -2.0], atol=1e-6)
    # the observed information of -sum (t - m)^2 is 2 I: standard errors 1/sqrt(2)
    np.testing.assert_allclose(fitted["log_se"], np.sqrt(0.5), rtol=1e-4)


def test_more_starts_when_the_optimum_is_at_the_bound(count_starts):
    # increasing in theta_0: the optimum runs to the search bound, so the check fails and
    # every start allowed is tried; the random starts come from the seed
    def loglik(t):
        return t[0] - (t[1] - 0.5) ** 2

    with pytest.warns(ConvergenceWarning, match="search bound"):
        fitted = base.fit_mle("ridge", loglik, 1.0, np.zeros(2), penalizer=0.0, n_starts=3,
                              random_state=7)
    assert len(count_starts) == 3
    assert fitted["theta"][0] == pytest.approx(base._BOUND)
    assert fitted["theta"][1] == pytest.approx(0.5, abs=1e-5)
    rng = np.random.default_rng(7)
    np.testing.assert_allclose(count_starts[1], rng.normal(0.0, 1.0, 2))
    np.testing.assert_allclose(count_starts[2], rng.normal(0.0, 1.0, 2))


def test_n_starts_one_is_a_cap(count_starts):
    with pytest.warns(ConvergenceWarning, match="search bound"):
        base.fit_mle("ridge", lambda t: t[0] - t[1] ** 2, 1.0, np.zeros(2), penalizer=0.0,
                     n_starts=1, random_state=0)
    assert len(count_starts) == 1


def test_cdnow_bg_nbd_fits_from_one_start(cdnow_rfm, count_starts):
    # Fader, Hardie & Lee (2005) Table: r=0.243, alpha=4.414, a=0.793, b=2.426
    m = BetaGeoModel(time_unit="W", n_starts=3).fit(cdnow_rfm["frequency"],
                                                    cdnow_rfm["recency"], cdnow_rfm["T"])
    assert len(count_starts) == 1
    np.testing.assert_allclose([m.params_[k] for k in ("r", "alpha", "a", "b")],
                               [0.243, 4.414, 0.793, 2.426], atol=1e-3)


def test_hessian_from_gradient_matches_the_exact_hessian():
    # f(t) = t0^2 t1 + exp(t1): H = [[2 t1, 2 t0], [2 t0, exp(t1)]]
    theta = np.array([0.7, -0.3])
    hess = base.hessian_from_gradient(
        lambda t: np.array([2 * t[0] * t[1], t[0] ** 2 + np.exp(t[1])]), theta)
    exact = np.array([[2 * theta[1], 2 * theta[0]], [2 * theta[0], np.exp(theta[1])]])
    np.testing.assert_allclose(hess, exact, rtol=1e-8)
    assert base.hessian_from_gradient(lambda t: np.array([np.nan, 0.0]), theta) is None


def _no_dropout_log(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gamma(1, 10)-mixed Poisson purchases over 20-400 days and nobody leaves (the NBD):
    the drop-out parameters of the three models run to the search bound."""
    rng = np.random.default_rng(seed)
    T = rng.uniform(20, 400, n)
    x = rng.poisson(rng.gamma(1.0, 1 / 10, n) * T)
    # given x purchases on (0, T], the last one is the largest of x uniforms
    t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), 1), 0.0)
    return x, t_x, T


def _nbd_statsmodels(x: np.ndarray, T: np.ndarray) -> tuple[float, float, float]:
    """The NBD's maximum ``(log-likelihood on the BTYD scale, r / alpha, r)`` by statsmodels'
    NB2 regression (constant only, exposure T): the same gamma-Poisson law (mean
    ``e^const T``, variance ``mu + mu^2 / r``), whose pmf carries the factor ``T^x / x!``
    that the BTYD likelihoods leave out."""
    from scipy.special import gammaln
    from statsmodels.discrete.discrete_model import NegativeBinomial

    fit = NegativeBinomial(x, np.ones((x.size, 1)), exposure=T).fit(
        method="newton", maxiter=200, tol=1e-12, disp=0)
    const, inv_r = fit.params
    return (float(fit.llf) - float(np.sum(x * np.log(T) - gammaln(x + 1.0))),
            float(np.exp(const)), 1.0 / float(inv_r))


@pytest.mark.parametrize("name", ["BetaGeoModel", "ModifiedBetaGeoModel", "ParetoNBDModel"])
def test_no_dropout_boundary_ends_after_one_start(name, count_starts):
    # the first optimum has a or s at the search bound; it is the NBD's own maximum (computed
    # independently by statsmodels), so no random start follows: each further call of the
    # optimiser, if any, resumes from the previous optimum
    import valuemax.clv as clv

    x, t_x, T = _no_dropout_log(3000, seed=5)
    with pytest.warns(ConvergenceWarning, match="search bound"):
        m = getattr(clv, name)(time_unit="D", n_starts=3, random_state=0).fit(x, t_x, T)
    assert "no drop-out" in m.boundary_
    assert len(count_starts) <= 2  # the first start, and perhaps its resumption
    rng = np.random.default_rng(0)
    random_start = np.log(m._start) + rng.normal(0.0, 1.0, 4)
    assert not any(np.allclose(s, random_start) for s in count_starts)
    loglik, rate, r = _nbd_statsmodels(x, T)
    assert m.loglik_ == pytest.approx(loglik, rel=1e-9)
    # the purchase part is the NBD's: mean rate r / alpha and gamma shape r
    assert m.params_["r"] / m.params_["alpha"] == pytest.approx(rate, rel=1e-4)
    assert m.params_["r"] == pytest.approx(r, rel=1e-3)


def test_nbd_best_matches_statsmodels():
    # the profile maximum of the limit equals statsmodels' NB2 maximum (to its tolerance)
    from valuemax.clv._limit import nbd_best

    x, _, T = _no_dropout_log(2000, seed=9)
    fun, log_r, log_alpha = nbd_best(x, T, np.ones(x.size), base._BOUND)
    loglik, rate, r = _nbd_statsmodels(x, T)
    assert -fun * x.size == pytest.approx(loglik, rel=1e-10)
    assert np.exp(log_r) == pytest.approx(r, rel=1e-4)
    assert np.exp(log_r - log_alpha) == pytest.approx(rate, rel=1e-6)
    # and the law drawn: gamma shape 1, scale 10 days
    assert np.exp(log_r) == pytest.approx(1.0, rel=0.15)
    assert np.exp(log_alpha) == pytest.approx(10.0, rel=0.15)
