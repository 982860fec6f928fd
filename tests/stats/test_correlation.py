"""correlation(): scipy's values on real data, independent CIs, ties, NaN pairs, bad input."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest
from scipy import stats

from valuemax.exceptions import InputError
from valuemax.stats import correlation

PAIRS = [("n_orders", "total_spend"), ("recency_days", "total_spend"),
         ("tenure_days", "avg_order_value"), ("n_lines", "monetary_value")]


def average_ranks(values):
    """1-based ranks, tied values sharing the mean of their positions (brute force)."""
    values = list(values)
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return np.array(ranks)


def pearson_plain(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    da, db = a - a.mean(), b - b.mean()
    return float((da * db).sum() / math.sqrt((da * da).sum() * (db * db).sum()))


def fisher(r, se, conf=0.95):
    z = NormalDist().inv_cdf(0.5 + conf / 2)
    return math.tanh(math.atanh(r) - z * se), math.tanh(math.atanh(r) + z * se)


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_equals_scipy_on_online_retail(retail_customers, a, b):
    x, y = retail_customers[a].to_numpy(float), retail_customers[b].to_numpy(float)
    n = len(x)
    pr = stats.pearsonr(x, y)
    res = correlation(x, y, method="pearson")
    assert res.n == n == 4_338
    assert res.r == pytest.approx(pr.statistic, abs=1e-9)
    assert res.p_value == pytest.approx(pr.pvalue, rel=1e-9, abs=1e-300)
    ci = pr.confidence_interval(0.95)  # scipy's Fisher z interval
    assert (res.ci_low, res.ci_high) == pytest.approx((ci.low, ci.high), abs=1e-9)
    sr = stats.spearmanr(x, y)
    res = correlation(x, y, method="spearman")
    assert res.r == pytest.approx(sr.statistic, abs=1e-9)
    assert res.p_value == pytest.approx(sr.pvalue, rel=1e-9, abs=1e-300)
    kt = stats.kendalltau(x, y, variant="b")
    res = correlation(x, y, method="kendall")
    assert res.r == pytest.approx(kt.statistic, abs=1e-9)
    assert res.p_value == pytest.approx(kt.pvalue, rel=1e-9, abs=1e-300)


def test_spearman_with_ties_is_pearson_of_average_ranks(retail_customers):
    # n_orders is heavily tied (1,493 customers with one order)
    x = retail_customers["n_orders"].to_numpy(float)
    y = retail_customers["recency_days"].to_numpy(float)
    assert len(np.unique(x)) < len(x) / 10
    expected = pearson_plain(average_ranks(x), average_ranks(y))
    assert correlation(x, y, method="spearman").r == pytest.approx(expected, abs=1e-9)


def test_spearman_small_ties_and_the_wrong_formula():
    x = [1, 2, 2, 3, 3, 3, 4, 5]
    y = [2, 1, 3, 3, 5, 4, 6, 6]
    rx, ry = average_ranks(x), average_ranks(y)
    np.testing.assert_allclose(rx, [1, 2.5, 2.5, 5, 5, 5, 7, 8])
    expected = pearson_plain(rx, ry)
    res = correlation(x, y, method="spearman")
    assert res.r == pytest.approx(expected, abs=1e-12)
    n = len(x)
    shortcut = 1 - 6 * float(((rx - ry) ** 2).sum()) / (n * (n * n - 1))
    assert abs(shortcut - expected) > 1e-3  # the no-ties formula is wrong here (DESIGN §7)


@pytest.mark.parametrize("conf", [0.9, 0.95, 0.99])
def test_interval_formulas_computed_independently(conf):
    rng = np.random.default_rng(1)
    x = rng.normal(size=40)
    y = 0.5 * x + rng.normal(size=40)
    n = 40
    p = correlation(x, y, method="pearson", confidence=conf)
    assert (p.ci_low, p.ci_high) == pytest.approx(fisher(p.r, 1 / math.sqrt(n - 3), conf),
                                                  abs=1e-12)
    s = correlation(x, y, method="spearman", confidence=conf)
    se = math.sqrt((1 + s.r ** 2 / 2) / (n - 3))
    assert (s.ci_low, s.ci_high) == pytest.approx(fisher(s.r, se, conf), abs=1e-12)
    assert "Bonett" in s.ci_method
    k = correlation(x, y, method="kendall", confidence=conf)
    assert (k.ci_low, k.ci_high) == pytest.approx(fisher(k.r, math.sqrt(0.437 / (n - 4)), conf),
                                                  abs=1e-12)
    assert "Fieller" in k.ci_method
    for res in (p, s, k):
        assert -1 < res.ci_low < res.r < res.ci_high < 1


def test_missing_pairs_are_dropped_and_counted():
    x = np.array([1.0, 2, np.nan, 4, 5, 6, 7])
    y = np.array([2.0, 1, 3, np.nan, 6, 5, 8])
    res = correlation(x, y, method="pearson")
    assert (res.n, res.n_dropped) == (5, 2)
    ref = stats.pearsonr([1, 2, 5, 6, 7], [2, 1, 6, 5, 8])
    assert res.r == pytest.approx(ref.statistic, abs=1e-12)


def test_perfect_correlation_gives_a_degenerate_interval():
    res = correlation([1, 2, 3, 4, 5], [2, 4, 6, 8, 10], method="spearman")
    assert (res.r, res.ci_low, res.ci_high) == pytest.approx((1.0, 1.0, 1.0), abs=1e-12)
    assert res.ci_low <= res.r <= res.ci_high <= 1.0


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"x": [1, 1, 1, 1, 1], "y": [1, 2, 3, 4, 5]}, "constant"),
    ({"x": [1, 2, 3, 4, 5], "y": [7, 7, 7, 7, 7], "method": "spearman"}, "constant"),
    ({"x": [1, 2, 3], "y": [1, 3, 2]}, "at least 4 complete pairs"),
    ({"x": [1, 2, 3, 4], "y": [1, 3, 2, 4], "method": "kendall"}, "at least 5"),
    ({"x": [1, 2, np.nan, 4, 5], "y": [1, np.nan, 2, 4, 3]}, "after dropping 2"),
    ({"x": [np.nan] * 5, "y": [1, 2, 3, 4, 5]}, "got 0"),
    ({"x": [1, 2, 3, 4, 5], "y": [1, 2, 3, 4]}, "same length"),
    ({"x": ["a", "b", "c", "d"], "y": [1, 2, 3, 4]}, "numeric"),
    ({"x": [1, 2, np.inf, 4, 5], "y": [1, 2, 3, 4, 5]}, "infinite"),
    ({"x": [1, 2, 3, 4, 5], "y": [1, 2, 3, 5, 4], "method": "pearsonr"}, "choose one of"),
    ({"x": [1, 2, 3, 4, 5], "y": [1, 2, 3, 5, 4], "confidence": 95}, "between 0 and 1"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(InputError, match=match):
        correlation(**kwargs)
