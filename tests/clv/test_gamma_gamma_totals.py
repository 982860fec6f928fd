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
