"""Pareto/NBD likelihood summed once per distinct (x, t) pair, against independent
computations: scipy's adaptive quadrature of the died integral, central differences, and
the two ways of summing the pairs (a table of every (t, x), or per x)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from valuemax.clv._likelihoods import pareto_nbd as _pareto
from valuemax.clv._likelihoods.pareto_nbd import (
    pareto_nbd_log_odds_died,
    pareto_nbd_loglik,
    pareto_nbd_loglik_and_grad,
    row_pairs,
)


def _day_rows(seed=0, n=400):
    """Rows as a customer table in weeks has them: T and t_x in whole days (few distinct)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 12, n).astype(float)
    x[:4] = [0, 60, 1, 2]
    T = rng.integers(1, 274, n) / 7.0
    t_x = np.where(x > 0, np.floor(T * 7 * rng.uniform(0, 1, n)) / 7.0, 0.0)
    t_x[4] = T[4]
    return x, t_x, T


def _continuous_rows(seed=1, n=400):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 40, n).astype(float)
    T = rng.uniform(0.5, 60, n)
    t_x = np.where(x > 0, T * rng.uniform(0, 1, n), 0.0)
    return x, t_x, T


def _is_tabled(pairs):
    cells = pairs.ut.size * pairs.ux.size
    return cells <= _pareto._TABLE_PER_PAIR * pairs.pair_x.size + _pareto._TABLE_MIN


def _quad_log_odds(r, alpha, s, beta, x, t_x, T):
    """``ln s + ln ∫_{t_x}^T (α+τ)^-(r+x) (β+τ)^-(s+1) dτ + (r+x) ln(α+T) + s ln(β+T)``
    by scipy's adaptive quadrature, the integrand scaled by its value at T."""
    out = []
    for xi, ti, Ti in zip(x, t_x, T, strict=True):
        def f(tau, xi=xi, Ti=Ti):
            return np.exp(-(r + xi) * np.log1p((tau - Ti) / (alpha + Ti))
                          - (s + 1) * np.log1p((tau - Ti) / (beta + Ti)))
        value, _ = quad(f, ti, Ti, epsabs=0.0, epsrel=1e-13, limit=400)
        out.append(np.log(s) + np.log(value) - np.log(beta + Ti))
    return np.array(out)


#: CDNOW's optimum, both orders of alpha and beta, and trial points far from any optimum
#: where z = |α-β|/(max(α,β)+t) is near 1 (hundreds of terms: the table's long series)
POINTS = [
    (0.553, 10.578, 0.606, 11.669), (0.5, 12.0, 0.6, 8.0), (2.0, 3.0, 0.3, 50.0),
    (0.67, 11.4, 0.28, 1.86), (0.43, 9.06, 1.17, 64.5), (0.5, 10.0, 300.0, 500.0),
    (0.0044, 0.0229, 0.705, 0.4298), (1.0, 1.0, 1.0, 1.0),
]


@pytest.mark.parametrize("rows,tabled", [(_day_rows, True), (_continuous_rows, False)])
@pytest.mark.parametrize("params", POINTS)
def test_log_odds_match_scipy_quadrature(params, rows, tabled):
    x, t_x, T = rows()
    assert _is_tabled(row_pairs(x, t_x, T)) is tabled  # both ways of summing are tested
    died = t_x < T
    pick = np.flatnonzero(died)[:25]
    odds = pareto_nbd_log_odds_died(*params, x, t_x, T)
    assert np.all(odds[~died] == -np.inf)
    np.testing.assert_allclose(odds[pick], _quad_log_odds(*params, x[pick], t_x[pick],
                                                          T[pick]), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("params", POINTS)
def test_table_gradient_matches_central_differences(params):
    x, t_x, T = _day_rows(2)
    ll, grad = pareto_nbd_loglik_and_grad(*params, x, t_x, T)
    np.testing.assert_allclose(ll, pareto_nbd_loglik(*params, x, t_x, T), rtol=1e-13)
    theta, h = np.log(params), 1e-5
    for i in range(4):
        up, down = theta.copy(), theta.copy()
        up[i] += h
        down[i] -= h
        fd = (pareto_nbd_loglik(*np.exp(up), x, t_x, T)
              - pareto_nbd_loglik(*np.exp(down), x, t_x, T)) / (2 * h)
        np.testing.assert_allclose(grad[i] * params[i], fd, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("params", POINTS)
def test_table_and_per_x_sums_agree(params, monkeypatch):
    x, t_x, T = _day_rows(3)
    assert _is_tabled(row_pairs(x, t_x, T))
    ll_table, g_table = pareto_nbd_loglik_and_grad(*params, x, t_x, T)
    monkeypatch.setattr(_pareto, "_TABLE_PER_PAIR", 0)
    monkeypatch.setattr(_pareto, "_TABLE_MIN", 0)
    monkeypatch.setattr(_pareto, "_PAIR_TERMS", _pareto._TABLE_TERMS)  # the same terms
    ll_pairs, g_pairs = pareto_nbd_loglik_and_grad(*params, x, t_x, T)
    np.testing.assert_allclose(ll_table, ll_pairs, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g_table, g_pairs, rtol=1e-10, atol=1e-10)


def test_row_pairs_round_trip():
    x, t_x, T = _day_rows(4)
    p = row_pairs(x, t_x, T)
    assert np.array_equal(p.ux[p.pair_x[p.row_tx]], x)
    assert np.array_equal(p.ut[p.pair_t[p.row_tx]], t_x)
    assert np.array_equal(p.ut[p.pair_t[p.row_T]], T)
    assert np.array_equal(p.ut[p.row_tT], T) and np.array_equal(p.ux[p.row_x], x)
    keys = p.pair_x * p.ut.size + p.pair_t
    assert np.all(np.diff(keys) > 0)  # distinct pairs, sorted by x then t
    assert np.array_equal(p.x_start, np.searchsorted(p.pair_x, np.arange(p.ux.size + 1)))
    n_distinct = len(set(zip(x, t_x, strict=True)) | set(zip(x, T, strict=True)))
    assert p.pair_x.size == n_distinct


def test_passing_pairs_changes_nothing():
    x, t_x, T = _continuous_rows(5)
    params = (0.553, 10.578, 0.606, 11.669)
    a = pareto_nbd_loglik_and_grad(*params, x, t_x, T)
    b = pareto_nbd_loglik_and_grad(*params, x, t_x, T, pairs=row_pairs(x, t_x, T))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


@pytest.mark.parametrize("params", POINTS)
def test_table_too_large_for_memory_goes_per_x(params, monkeypatch):
    # the powers of q for every distinct t are bounded (_TABLE_POWERS): beyond it, the
    # series are summed per x (pairs needing more than _PAIR_TERMS terms by quadrature)
    x, t_x, T = _day_rows(6)
    ll_table, g_table = pareto_nbd_loglik_and_grad(*params, x, t_x, T)
    monkeypatch.setattr(_pareto, "_TABLE_POWERS", 0)
    ll_pairs, g_pairs = pareto_nbd_loglik_and_grad(*params, x, t_x, T)
    np.testing.assert_allclose(ll_table, ll_pairs, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(g_table, g_pairs, rtol=1e-7, atol=1e-7)
