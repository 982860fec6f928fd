"""Gamma-Gamma's weighted total and gradient from per-count terms and four sums, against the
per-row density summed and central differences; the fit without compression."""

from __future__ import annotations

import numpy as np
import pytest

from valuemax.clv import GammaGammaModel
from valuemax.clv import _gamma_gamma as _gg
from valuemax.clv._likelihoods.gamma_gamma import (
    gamma_gamma_loglik,
    gamma_gamma_loglik_grad,
    gamma_gamma_totals,
)


def _spend(seed=0, n=300):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 25, n).astype(float)
    x[:3] = [1, 1, 400]
    m = rng.gamma(2.0, 20.0, n)
    w = rng.integers(0, 4, n).astype(float)
    return x, m, w


@pytest.mark.parametrize("params", [(6.25, 3.74, 15.44), (1.0, 1.0, 1.0), (50.0, 0.5, 2e3),
                                    (0.2, 30.0, 0.1), (1e4, 2e3, 1e-3)])
def test_totals_equal_weighted_rows_and_central_differences(params):
    x, m, w = _spend()
    total, grad = gamma_gamma_totals(x, m, w)(*params)
    rows = gamma_gamma_loglik(*params, x, m)
    assert total == pytest.approx(float(w @ rows), rel=1e-12)
    np.testing.assert_allclose(grad * params, (gamma_gamma_loglik_grad(*params, x, m) @ w)
                               * params, rtol=1e-9, atol=1e-9 * abs(total))
    theta, h = np.log(params), 1e-5
    for i in range(3):
        up, down = theta.copy(), theta.copy()
        up[i] += h
        down[i] -= h
        fd = (gamma_gamma_totals(x, m, w)(*np.exp(up))[0]
              - gamma_gamma_totals(x, m, w)(*np.exp(down))[0]) / (2 * h)
        assert grad[i] * params[i] == pytest.approx(fd, rel=1e-6, abs=1e-6 * abs(total))


def test_repeated_tells_repeated_spend_from_continuous():
    rng = np.random.default_rng(1)
    continuous = rng.gamma(2.0, 20.0, 200_000)
    assert not _gg._repeated(continuous)
    assert _gg._repeated(np.round(continuous))  # whole currency units: ~300 values
    assert _gg._repeated(continuous[:1_000])  # small tables are always compressed


def test_fit_without_compression_reaches_the_same_optimum(cdnow_rfm, monkeypatch):
    repeat = cdnow_rfm[cdnow_rfm["frequency"] > 0]
    a = GammaGammaModel(random_state=0).fit(repeat["frequency"], repeat["monetary_value"])
    monkeypatch.setattr(_gg, "_SAMPLE", 8)  # 946 rows > 8: the sample decides
    assert not _gg._repeated(repeat["monetary_value"].to_numpy())
    b = GammaGammaModel(random_state=0).fit(repeat["frequency"], repeat["monetary_value"])
    assert b.loglik_ == pytest.approx(a.loglik_, rel=1e-9)
    for name in a.params_:
        assert b.params_[name] == pytest.approx(a.params_[name], rel=1e-4)


def _simulated(n=200_000, seed=0, p=6.25, q=3.74, gamma=15.44):
    rng = np.random.default_rng(seed)
    frequency = rng.integers(1, 15, n)
    truth = GammaGammaModel.from_params(p=p, q=q, gamma=gamma)
    sim = truth.simulate(frequency, random_state=seed)
    return sim["frequency"].to_numpy(float), sim["monetary_value"].to_numpy()


def test_moments_start_is_near_the_generating_parameters():
    # q > 4: m^2 has a variance, the moments are consistent (for q <= 4, as CDNOW's 3.74,
    # they are only a rough start)
    x, m = _simulated(2_000_000, p=4.0, q=12.0, gamma=40.0)
    p, q, gamma = _gg._moments_start(x, m, np.ones_like(x))
    assert p == pytest.approx(4.0, rel=0.05)
    assert q == pytest.approx(12.0, rel=0.05)
    assert gamma == pytest.approx(40.0, rel=0.05)


def test_moments_start_falls_back_when_invalid(cdnow_rfm):
    repeat = cdnow_rfm[cdnow_rfm["frequency"] > 0]
    x, m = repeat["frequency"].to_numpy(float), repeat["monetary_value"].to_numpy()
    # CDNOW's line of m^2 on 1/x has a negative intercept: no valid moments
    np.testing.assert_array_equal(_gg._moments_start(x, m, np.ones_like(x)), [1, 1, m.mean()])
    np.testing.assert_array_equal(_gg._moments_start(np.full(5, 3.0), m[:5], np.ones(5)),
                                  [1, 1, m[:5].mean()])  # one frequency: no line


def test_moments_start_reaches_the_same_optimum(monkeypatch):
    x, m = _simulated(20_000, seed=1)
    a = GammaGammaModel().fit(x, m)
    monkeypatch.setattr(_gg, "_moments_start",
                        lambda x, m, w: np.array([1.0, 1.0, float(np.average(m, weights=w))]))
    b = GammaGammaModel().fit(x, m)
    assert a.loglik_ == pytest.approx(b.loglik_, rel=1e-10)
    for name in a.params_:
        assert a.params_[name] == pytest.approx(b.params_[name], rel=1e-4)


@pytest.mark.parametrize("params", [(6.25, 3.74, 15.44), (1.0, 1.0, 1.0), (50.0, 0.5, 2e3),
                                    (0.2, 30.0, 0.1)])
def test_hessian_matches_central_differences_of_the_gradient(params):
    x, m, w = _spend(7)
    both = gamma_gamma_totals(x, m, w)
    _, _, hess = both(*params, hessian=True)
    fd = np.empty((3, 3))
    for j in range(3):
        h = 1e-6 * params[j]
        up, down = np.array(params, dtype=float), np.array(params, dtype=float)
        up[j] += h
        down[j] -= h
        fd[:, j] = (both(*up)[1] - both(*down)[1]) / (2 * h)
    scale = np.outer(params, params)  # compare on the log-parameter scale
    np.testing.assert_allclose(hess * scale, fd * scale, rtol=1e-6,
                               atol=1e-6 * np.abs(hess * scale).max())


def test_standard_errors_from_the_analytic_hessian(cdnow_rfm, monkeypatch):
    repeat = cdnow_rfm[cdnow_rfm["frequency"] > 0]
    for penalizer in (0.0, 0.01):
        a = GammaGammaModel(penalizer=penalizer).fit(repeat["frequency"],
                                                      repeat["monetary_value"])
        with monkeypatch.context() as patch:  # central differences of the gradient instead
            patch.setattr(GammaGammaModel, "_fit_loglik", _without_hessian)
            b = GammaGammaModel(penalizer=penalizer).fit(repeat["frequency"],
                                                          repeat["monetary_value"])
        for name in a.params_:
            assert a.std_errors_[name] == pytest.approx(b.std_errors_[name], rel=1e-5)


_fit_loglik = GammaGammaModel._fit_loglik


def _without_hessian(self, *args, hess=None, **kwargs):
    return _fit_loglik(self, *args, **kwargs)
