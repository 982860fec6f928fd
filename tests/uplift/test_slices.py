"""uplift@k and uplift by bin against direct computations (Wilson/Newcombe, scipy Welch)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from valuemax.exceptions import InputError
from valuemax.uplift import uplift_at_k, uplift_by_bin


def test_uplift_at_k_overall_and_by_group(rng):
    n = 101
    s = rng.permutation(n).astype(float)
    t = rng.integers(0, 2, n)
    y = rng.gamma(2.0, 5.0, n)
    m = math.ceil(0.3 * n)
    top = np.argsort(-s)[:m]
    expect = y[top][t[top] == 1].mean() - y[top][t[top] == 0].mean()
    assert uplift_at_k(s, t, y, k=0.3).uplift == pytest.approx(expect)
    tr, co = np.flatnonzero(t == 1), np.flatnonzero(t == 0)
    top_t = tr[np.argsort(-s[tr])[:math.ceil(0.3 * tr.size)]]
    top_c = co[np.argsort(-s[co])[:math.ceil(0.3 * co.size)]]
    r = uplift_at_k(s, t, y, k=0.3, strategy="by_group")
    assert (r.n_treated, r.n_control) == (top_t.size, top_c.size)
    assert r.uplift == pytest.approx(y[top_t].mean() - y[top_c].mean())


def test_uplift_at_k_without_control_is_stated_not_nan():
    r = uplift_at_k([0.9, 0.6, 0.3, 0.1], [1, 0, 1, 0], [1, 0, 0, 1], k=0.25)
    assert r.uplift is None and r.mean_control is None
    assert r.note == "no control customer among the top 25%"
    with pytest.raises(InputError, match=r"k=1.5 must be a share in \(0, 1\]"):
        uplift_at_k([0.9, 0.6], [1, 0], [1, 0], k=1.5)


def test_ties_at_the_cut_all_enter():
    r = uplift_at_k([1.0, 1.0, 1.0, 0.0], [1, 0, 1, 0], [1, 0, 0, 1], k=0.25)
    assert (r.n_treated, r.n_control) == (2, 1)


def _wilson(x, n, z):
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_bins_binary_use_newcombes_hybrid_score_interval(rng):
    n = 1000
    s = rng.random(n)
    t = rng.integers(0, 2, n)
    y = (rng.random(n) < 0.2 + 0.2 * s * t).astype(float)
    table = uplift_by_bin(s, t, y, n_bins=10)
    assert table["bin"].tolist() == list(range(10))
    assert table[["n_treated", "n_control"]].to_numpy().sum() == n
    z = stats.norm.ppf(0.975)
    order = np.argsort(-s)
    for b, row in table.iterrows():
        idx = order[b * 100:(b + 1) * 100]  # distinct scores: deciles of 100 customers
        yt, yc = y[idx][t[idx] == 1], y[idx][t[idx] == 0]
        p1, p2 = yt.mean(), yc.mean()
        l1, u1 = _wilson(yt.sum(), yt.size, z)
        l2, u2 = _wilson(yc.sum(), yc.size, z)
        # Newcombe (1998) method 10
        lo = p1 - p2 - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
        hi = p1 - p2 + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
        assert row.uplift == pytest.approx(p1 - p2)
        assert (row.ci_low, row.ci_high) == pytest.approx((lo, hi), abs=1e-9)


def test_bins_continuous_use_welch(rng):
    n = 600
    s = rng.random(n)
    t = rng.integers(0, 2, n)
    y = rng.gamma(2.0, 5.0, n) + 4 * s * t
    table = uplift_by_bin(s, t, y, n_bins=5, confidence=0.9)
    order = np.argsort(-s)
    for b, row in table.iterrows():
        idx = order[b * 120:(b + 1) * 120]
        res = stats.ttest_ind(y[idx][t[idx] == 1], y[idx][t[idx] == 0], equal_var=False)
        ci = res.confidence_interval(0.9)
        assert (row.ci_low, row.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-9)
        assert row.interval == "welch"


def test_a_bin_without_control_is_stated():
    s = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2]
    t = [1, 1, 0, 1, 0, 1, 0, 1]
    y = [1, 0, 0, 1, 1, 0, 0, 1]
    table = uplift_by_bin(s, t, y, n_bins=4)
    first = table.iloc[0]
    assert first.n_control == 0 and math.isnan(first.uplift) and math.isnan(first.ci_low)
    assert first.note == "no control customer in this bin: uplift undefined"
    assert table.iloc[1:]["note"].eq("").all()


def test_bins_ignore_row_order(rng):
    n = 300
    s = np.round(rng.random(n), 1)
    t = rng.integers(0, 2, n)
    y = rng.integers(0, 2, n).astype(float)
    perm = rng.permutation(n)
    a = uplift_by_bin(s, t, y)
    b = uplift_by_bin(s[perm], t[perm], y[perm])
    np.testing.assert_allclose(a[["uplift", "ci_low", "ci_high"]].to_numpy(dtype=float),
                               b[["uplift", "ci_low", "ci_high"]].to_numpy(dtype=float))
