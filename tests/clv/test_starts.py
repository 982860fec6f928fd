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
