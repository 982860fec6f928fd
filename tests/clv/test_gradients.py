"""Analytic log-likelihood gradients against central differences of the log-likelihood."""

from __future__ import annotations

import numpy as np
import pytest

from valuemax.clv._likelihoods import (
    bg_nbd_loglik,
    bg_nbd_loglik_grad,
    gamma_gamma_loglik,
    gamma_gamma_loglik_grad,
    mbg_nbd_loglik,
    mbg_nbd_loglik_grad,
)
from valuemax.clv._likelihoods import pareto_nbd as _pareto_likelihood
from valuemax.clv._likelihoods.pareto_nbd import (
    _log_tail,
    _wide,
    log_died_integral,
    pareto_nbd_log_odds_died,
    pareto_nbd_loglik,
    pareto_nbd_loglik_grad,
)


def _rows(seed=0, n=150):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 40, n).astype(float)
    x[:10] = [0, 0, 1, 1, 2, 150, 400, 3, 0, 1]
    T = rng.uniform(0.1, 60, n)
    T[:3] = [0.0, 1e-3, 39.0]
    t_x = np.where(x > 0, T * rng.uniform(0, 1, n), 0.0)
    t_x[3:6] = T[3:6]  # last purchase at the observation end: the died term is 0
    return x, t_x, T


def _fd_grad(fn, params, *data, h=1e-5):
    """Central differences in the log-parameters, turned back into d/dparam."""
    theta = np.log(params)
    out = []
    for i in range(theta.size):
        up, down = theta.copy(), theta.copy()
        up[i] += h
        down[i] -= h
        out.append((fn(*np.exp(up), *data) - fn(*np.exp(down), *data)) / (2 * h) / params[i])
    return np.array(out)


def _check(grad, fd, params, tol):
    # compare d/dlog(param) (the scale the optimiser sees), relative to its size
    scale = np.asarray(params)[:, None]
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad * scale, fd * scale, rtol=tol, atol=tol)


PARETO_POINTS = [
    (0.553, 10.578, 0.606, 11.669),  # CDNOW (weeks)
    (1.0, 1.0, 1.0, 1.0), (2.0, 3.0, 0.3, 50.0), (0.3, 50.0, 2.0, 3.0),
    (0.5, 10.0, 1e-6, 11.0), (0.5, 10.0, 1e-6, 3.0),  # no drop-out, both branches
    (0.83, 69.0, 3e-7, 1.6e6), (0.83, 69.0, 3e-7, 3e3),  # Online Retail's no-drop-out fit
    (0.24, 4.4, 1e-5, 1e5), (1e3, 500.0, 0.5, 2.0), (0.5, 2.0, 1e3, 200.0),
    (200.0, 100.0, 0.5, 0.01), (0.5, 1e5, 0.5, 10.0), (0.05, 0.5, 30.0, 0.2),
]


@pytest.mark.parametrize("params", PARETO_POINTS)
def test_pareto_gradient_matches_central_differences(params):
    x, t_x, T = _rows()
    grad = pareto_nbd_loglik_grad(*params, x, t_x, T)
    fd = _fd_grad(pareto_nbd_loglik, np.array(params), x, t_x, T)
    _check(grad, fd, params, 1e-6)
    assert np.all(grad[:, T == 0] == 0.0)


@pytest.mark.parametrize("params", [*PARETO_POINTS[:6], (0.83, 69.0, 3e-7, 300.0)])
def test_pareto_tail_series_matches_quadrature(params, monkeypatch):
    # the series J(t_x) - J(T) of the gradient is the integral log_died_integral computes
    # by Gauss-Legendre panels (long series allowed here, to test it where z is large)
    monkeypatch.setattr(_pareto_likelihood, "_SERIES_MAX", 5_000)
    x, t_x, T = _rows(1)
    keep = t_x < T
    x, t_x, T = x[keep], t_x[keep], T[keep]
    log_jx = _log_tail(*params, x, t_x)[0]
    log_jT = _log_tail(*params, x, T)[0]
    ok = np.isfinite(log_jx) & np.isfinite(log_jT)
    assert ok.mean() > 0.9
    series = log_jx[ok] + np.log(-np.expm1(log_jT[ok] - log_jx[ok]))
    quad = log_died_integral(*params, x[ok], t_x[ok], T[ok])
    np.testing.assert_allclose(series, quad, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("fn,grad_fn", [(bg_nbd_loglik, bg_nbd_loglik_grad),
                                        (mbg_nbd_loglik, mbg_nbd_loglik_grad)])
@pytest.mark.parametrize("params", [(0.243, 4.414, 0.793, 2.426), (0.525, 6.183, 0.891, 1.614),
                                    (1.0, 1.0, 1.0, 1.0), (0.8, 69.0, 3e-3, 6.7),
                                    (5e3, 2e4, 0.5, 2.0), (0.3, 2.0, 50.0, 400.0)])
def test_bg_family_gradient_matches_central_differences(fn, grad_fn, params):
    x, t_x, T = _rows(2)
    _check(grad_fn(*params, x, t_x, T), _fd_grad(fn, np.array(params), x, t_x, T), params, 1e-6)


@pytest.mark.parametrize("params", [(6.25, 3.74, 15.44), (1.0, 1.0, 1.0), (50.0, 0.5, 2e3),
                                    (0.2, 30.0, 0.1)])
def test_gamma_gamma_gradient_matches_central_differences(params):
    rng = np.random.default_rng(3)
    x = rng.integers(1, 30, 100).astype(float)
    m = rng.gamma(2.0, 20.0, 100)
    _check(gamma_gamma_loglik_grad(*params, x, m),
           _fd_grad(gamma_gamma_loglik, np.array(params), x, m), params, 1e-6)


@pytest.mark.parametrize("params", [(0.83, 69.0, 3e-7, 1.6e6), (0.83, 69.0, 1e-3, 1e4),
                                    (0.24, 4.4, 1e-5, 1e5), (5.0, 2.0, 0.5, 1e5),
                                    (0.83, 69.0, 0.1, 3e4), (300.0, 2.0, 1e-6, 1e7)])
def test_pareto_no_dropout_side_matches_quadrature(params):
    # beta far above alpha + T (s -> 0, Online Retail's fit): the short binomial series
    # gives the log odds that the Gauss-Legendre panels of log_died_integral give
    rng = np.random.default_rng(4)
    x = rng.integers(0, 40, 200).astype(float)
    x[:3] = [0, 400, 1]
    T = rng.uniform(0.1, 373, 200)
    t_x = np.where(x > 0, T * rng.uniform(0, 1, 200), 0.0)
    t_x[5] = T[5]
    assert _wide(params[1], params[3], params[2], T).all()
    odds = pareto_nbd_log_odds_died(*params, x, t_x, T)
    quad = log_died_integral(*params, x, t_x, T, relative=True)
    assert odds[5] == -np.inf and quad[5] == -np.inf
    keep = np.arange(x.size) != 5
    np.testing.assert_allclose(odds[keep], quad[keep], rtol=1e-12, atol=1e-12)
    grad = pareto_nbd_loglik_grad(*params, x, t_x, T)
    _check(grad, _fd_grad(pareto_nbd_loglik, np.array(params), x, t_x, T), params, 1e-6)
