"""The BG/NBD-family one-pass likelihood and the row compression the fits run on.

``bg_family_loglik_and_grad`` (value and gradient from one pass over rows prepared once per
fit) must give the numbers of ``bg_nbd_loglik``/``bg_nbd_loglik_grad`` (and MBG/NBD's) to
the last bit, so that the optimiser takes the same path; ``compress`` must give the unique
rows ``numpy.unique(axis=0)`` gives with the weights of each summed; and a fit on the
compressed rows must report the log-likelihood summed customer by customer.
"""

from __future__ import annotations

import numpy as np
import pytest

from valuemax.clv import BetaGeoModel, ModifiedBetaGeoModel
from valuemax.clv._likelihoods.bg_nbd import (
    bg_family_loglik_and_grad,
    bg_nbd_loglik,
    bg_nbd_loglik_and_grad,
    bg_nbd_loglik_grad,
    bg_rows,
    mbg_nbd_loglik,
    mbg_nbd_loglik_grad,
)
from valuemax.clv._validation import compress

#: (r, alpha, a, b): CDNOW's published BG/NBD estimates, the no-drop-out corner the
#: synthetic logs reach, and extremes of the search box.
PARAMS = [(0.243, 4.414, 0.793, 2.426), (44489.86, 3268483.2, 3.06e-7, 3269017.4),
          (2.0, 1e-6, 3e6, 0.5), (1.3, 0.02, 1.0, 1.0)]


def _rows(seed=0, n=2_000, whole_days=True):
    rng = np.random.default_rng(seed)
    T = rng.integers(0, 273, n) / 7.0 if whole_days else rng.uniform(0.0, 39.0, n)
    T[:5] = 0.0  # first seen at the observation end
    x = np.where(T > 0, rng.poisson(0.4 * T), 0).astype(float)
    t_x = np.where(x > 0, np.floor(T * rng.beta(np.maximum(x, 1), 1) * 7) / 7, 0.0)
    return x, t_x, T


@pytest.mark.parametrize("params", PARAMS)
@pytest.mark.parametrize("shift", [0, 1])
@pytest.mark.parametrize("data", ["days", "continuous", "no_count_table"])
def test_one_pass_equals_the_two_functions_bit_for_bit(params, shift, data):
    if data == "no_count_table":  # a count above the number of rows: x is its own table
        x, t_x, T = np.array([0.0, 7.0, 0.0]), np.array([0.0, 3.0, 0.0]), np.array([5.0, 6.0, 0.0])
    else:
        x, t_x, T = _rows(whole_days=data == "days")
    assert (T == 0).any() and (x == 0).any()  # the likelihood-1 rows and the x = 0 rows
    loglik, grad = ((bg_nbd_loglik, bg_nbd_loglik_grad) if shift == 0
                    else (mbg_nbd_loglik, mbg_nbd_loglik_grad))
    with np.errstate(all="ignore"):
        ll, g = bg_family_loglik_and_grad(*params, bg_rows(x, t_x, T), shift)
        expected_ll, expected_g = loglik(*params, x, t_x, T), grad(*params, x, t_x, T)
    assert np.array_equal(ll, expected_ll, equal_nan=True)
    assert np.array_equal(g, expected_g, equal_nan=True)
    assert np.all(ll[T == 0] == 0.0) and np.all(g[:, T == 0] == 0.0)


def test_one_pass_without_a_layout_builds_it():
    x, t_x, T = _rows(seed=4, n=50)
    ll, g = bg_nbd_loglik_and_grad(*PARAMS[0], x, t_x, T)
    assert np.array_equal(ll, bg_nbd_loglik(*PARAMS[0], x, t_x, T))
    assert np.array_equal(g, bg_nbd_loglik_grad(*PARAMS[0], x, t_x, T))


@pytest.mark.parametrize("whole_days", [True, False])
def test_compress_equals_numpy_unique_rows_with_summed_weights(whole_days):
    x, t_x, T = _rows(seed=1, n=20_000, whole_days=whole_days)
    w = np.random.default_rng(2).uniform(0.5, 2.0, x.size)
    w[:100] = 0.0  # weight 0: dropped
    columns = np.column_stack([x, t_x, T])
    rows, counts = compress(columns, w)
    keep = w > 0
    expected, inverse = np.unique(columns[keep], axis=0, return_inverse=True)
    assert np.array_equal(rows, expected)
    np.testing.assert_allclose(counts, np.bincount(inverse.ravel(), weights=w[keep]),
                               rtol=1e-13)
    seq_rows, seq_counts = compress((x, t_x, T), w)  # the columns without stacking
    assert np.array_equal(seq_rows, rows) and np.array_equal(seq_counts, counts)
    ones_rows, ones = compress(columns, np.ones(x.size))  # customer counts: exact
    full, n_each = np.unique(columns, axis=0, return_counts=True)
    assert np.array_equal(ones_rows, full) and np.array_equal(ones, n_each.astype(float))


def test_compress_of_spend_with_a_count_above_the_rows():
    # frequency 50 among 3 rows: not coded by value; continuous spend: every row distinct
    columns = np.array([[50.0, 12.5], [1.0, 3.25], [50.0, 12.5]])
    rows, counts = compress(columns, np.ones(3))
    assert rows.tolist() == [[1.0, 3.25], [50.0, 12.5]] and counts.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("cls, loglik", [(BetaGeoModel, bg_nbd_loglik),
                                          (ModifiedBetaGeoModel, mbg_nbd_loglik)])
def test_fit_on_compressed_rows_reports_the_per_customer_sum(cls, loglik):
    truth = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    sim = truth.simulate(3_000, np.random.default_rng(5).integers(1, 273, 3_000) / 7.0,
                         random_state=5)
    x, T = sim["frequency"].to_numpy(float), sim["T"].to_numpy()
    t_x = np.floor(sim["recency"].to_numpy() * 7) / 7  # whole days: rows repeat
    m = cls(time_unit="W").fit(x, t_x, T)
    assert m.n_unique_ < x.size / 2
    p = m.params_
    per_customer = loglik(p["r"], p["alpha"], p["a"], p["b"], x, t_x, T).sum()
    assert m.loglik_ == pytest.approx(per_customer, rel=1e-12)


@pytest.mark.parametrize("counts", ["small", "one_large"])
def test_gamma_gamma_totals_equal_the_weighted_per_customer_sums(counts):
    from valuemax.clv._likelihoods.gamma_gamma import (
        _weight_per_count,
        gamma_gamma_loglik,
        gamma_gamma_loglik_grad,
        gamma_gamma_totals,
    )

    rng = np.random.default_rng(6)
    x = rng.integers(1, 30, 5_000).astype(float)
    if counts == "one_large":  # a count above 4 per row: the distinct counts by sorting
        x[0] = 1e6
    m = rng.gamma(6.25, 15.44 / 3.74, x.size)
    w = rng.uniform(0.5, 3.0, x.size)
    k, w_k = _weight_per_count(x, w)
    expected_k, inverse = np.unique(x, return_inverse=True)
    assert np.array_equal(k, expected_k)
    assert np.array_equal(w_k, np.bincount(inverse, weights=w))  # same order: same bits
    both = gamma_gamma_totals(x, m, w)
    for params in [(6.25, 3.74, 15.44), (0.5, 12.0, 300.0)]:
        total, grad = both(*params)
        assert total == pytest.approx(w @ gamma_gamma_loglik(*params, x, m), rel=1e-10)
        np.testing.assert_allclose(grad, gamma_gamma_loglik_grad(*params, x, m) @ w,
                                   rtol=1e-10)
        again = both(*params)  # the buffers reused between evaluations change nothing
        assert again[0] == total and np.array_equal(again[1], grad)
