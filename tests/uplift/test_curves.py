"""Qini / uplift curves and their areas against direct, loop-based computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import trapezoid

from valuemax.exceptions import InputError
from valuemax.uplift import auuc, qini_coefficient, qini_curve, uplift_curve


def _direct(scores, t, y):
    """Per-cutoff Qini and uplift values by explicit loops (distinct scores only)."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    q, u = [0.0], [0.0]
    for m in range(1, len(order) + 1):
        top = order[:m]
        nt = sum(t[i] for i in top)
        nc = m - nt
        rt = sum(y[i] for i in top if t[i] == 1)
        rc = sum(y[i] for i in top if t[i] == 0)
        q.append(rt - (rc * nt / nc if nc else 0.0))
        u.append(((rt / nt if nt else 0.0) - (rc / nc if nc else 0.0)) * m)
    n = len(scores)
    x = np.arange(n + 1) / n
    q, u = np.array(q) / n, np.array(u) / n
    return x, q, u, trapezoid(q - x * q[-1], x), trapezoid(u - x * u[-1], x)


@pytest.mark.parametrize("outcome", ["binary", "continuous"])
def test_curves_and_areas_match_a_direct_computation(rng, outcome):
    n = 60
    scores = rng.permutation(n) / n  # distinct scores
    t = rng.integers(0, 2, n)
    y = rng.integers(0, 2, n).astype(float) if outcome == "binary" else rng.gamma(2.0, 10.0, n)
    x, q, u, q_area, u_area = _direct(scores.tolist(), t.tolist(), y.tolist())
    qc, uc = qini_curve(scores, t, y), uplift_curve(scores, t, y)
    np.testing.assert_allclose(qc.share_targeted, x)
    np.testing.assert_allclose(qc.value, q, atol=1e-12)
    np.testing.assert_allclose(uc.value, u, atol=1e-12)
    assert qini_coefficient(scores, t, y) == pytest.approx(q_area, abs=1e-12)
    assert auuc(scores, t, y) == pytest.approx(u_area, abs=1e-12)


def test_hand_example_worked_in_the_docstring():
    # Q after 1..4 customers: 1, 1, 1, 0 (over N = 4); area by hand = 0.25 * 0.75.
    args = ([0.9, 0.6, 0.3, 0.1], [1, 0, 1, 0], [1, 0, 0, 1])
    assert qini_coefficient(*args) == pytest.approx(0.25 * (0.125 + 0.25 + 0.25 + 0.125))
    assert auuc(*args) == pytest.approx(0.25 * (0.125 + 0.375 + 0.4375 + 0.1875))
    assert qini_curve(*args).n_one_arm_points == 1  # the first customer has no control


def test_perfect_ranking_scores_one_and_reversed_is_negative(rng):
    n = 400
    t = rng.integers(0, 2, n)
    y = rng.integers(0, 2, n).astype(float)
    perfect = np.where(t == 1, y, -y)
    assert qini_coefficient(perfect, t, y, normalize="perfect") == pytest.approx(1.0)
    assert auuc(perfect, t, y, normalize="perfect") == pytest.approx(1.0)
    assert qini_coefficient(-perfect, t, y) < 0
    # the perfect ordering has the largest area of any ordering tried
    best = qini_coefficient(perfect, t, y)
    assert all(qini_coefficient(rng.random(n), t, y) < best for _ in range(20))


def test_constant_scores_are_exactly_random(rng):
    n = 200
    t = rng.integers(0, 2, n)
    y = rng.integers(0, 2, n).astype(float)
    c = qini_curve(np.zeros(n), t, y)
    assert c.share_targeted.tolist() == [0.0, 1.0]  # all tied: one step
    assert qini_coefficient(np.zeros(n), t, y) == 0.0
    assert auuc(np.zeros(n), t, y) == 0.0


def test_random_scores_average_near_zero_on_data_without_effect(rng):
    n = 2000
    t = rng.integers(0, 2, n)
    y = (rng.random(n) < 0.3).astype(float)  # no effect
    areas = [qini_coefficient(rng.random(n), t, y) for _ in range(30)]
    # per-customer areas: SD of one draw is about 0.006 here; the mean of 30 is within 0.005
    assert abs(np.mean(areas)) < 0.005


def test_shuffling_rows_leaves_the_curve_unchanged(rng):
    n = 300
    scores = np.round(rng.random(n), 1)  # many ties
    t = rng.integers(0, 2, n)
    y = rng.gamma(2.0, 5.0, n)
    perm = rng.permutation(n)
    for fn in (qini_curve, uplift_curve):
        a, b = fn(scores, t, y), fn(scores[perm], t[perm], y[perm])
        np.testing.assert_allclose(a.share_targeted, b.share_targeted)
        np.testing.assert_allclose(a.value, b.value, rtol=1e-12, atol=1e-12)
    assert len(qini_curve(scores, t, y).value) == np.unique(scores).size + 1


def test_ends_at_the_average_effect_times_share(rng):
    n = 500
    t = rng.integers(0, 2, n)
    y = rng.gamma(2.0, 5.0, n) + 3 * t
    ate = y[t == 1].mean() - y[t == 0].mean()
    assert uplift_curve(rng.random(n), t, y).value[-1] == pytest.approx(ate)
    assert qini_curve(rng.random(n), t, y).value[-1] == pytest.approx(ate * t.sum() / n)


def test_one_arm_only_is_an_error():
    with pytest.raises(InputError, match="all 3 customers are control"):
        qini_curve([0.1, 0.2, 0.3], [0, 0, 0], [1, 0, 1])
    with pytest.raises(InputError, match="all 3 customers are treated"):
        auuc([0.1, 0.2, 0.3], [1, 1, 1], [1, 0, 1])
    with pytest.raises(InputError, match="1 of 3 rows are not"):
        qini_curve([0.1, 0.2, 0.3], [1, 2, 0], [1, 0, 1])
    with pytest.raises(InputError, match="missing or infinite scores"):
        qini_curve([0.1, np.nan, 0.3], [1, 0, 0], [1, 0, 1])
    with pytest.raises(InputError, match="choose 'none' or 'perfect'"):
        qini_coefficient([0.1, 0.2, 0.3], [1, 0, 0], [1, 0, 1], normalize="max")
