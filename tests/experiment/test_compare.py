"""Two-arm tests from sufficient statistics: published reference values and scipy/statsmodels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from valuemax.exceptions import InputError
from valuemax.experiment import compare_means, compare_proportions
from valuemax.experiment._compare import wilson_interval

# GrowthBook stats engine test suite (gbstats tests/frequentist/test_tests.py): arm A is the
# control, B the treatment; figures as published there, rounded to 5 decimals.
A = (3407, 1396.87, 52377.9767)
B = (3461, 2422.7, 134698.29)


def test_growthbook_means_reference():
    c = compare_means(*A, *B)
    assert c.absolute_lift == pytest.approx(0.29, abs=5e-6)
    assert c.absolute_ci == pytest.approx((0.04538, 0.53462), abs=5e-6)
    assert c.p_value == pytest.approx(0.02016, abs=5e-6)
    assert c.relative_lift == pytest.approx(0.70732, abs=5e-6)
    assert c.relative_ci == pytest.approx((-0.03526, 1.44989), abs=5e-6)
    assert c.relative_p_value == pytest.approx(0.06191, abs=5e-6)


def test_growthbook_proportions_reference():
    c = compare_proportions(14, 28, 16, 30)
    assert c.relative_lift == pytest.approx(16 / 30 / 0.5 - 1)
    assert c.relative_ci == pytest.approx((-0.47767, 0.61101), abs=5e-6)
    assert c.relative_p_value == pytest.approx(0.80707, abs=5e-6)


@pytest.mark.parametrize("equal_var", [False, True])
def test_t_matches_scipy_on_rows(rng, equal_var):
    y0 = rng.gamma(0.5, 20.0, size=400)
    y1 = rng.gamma(0.6, 20.0, size=350)
    c = compare_means(y0.size, y0.sum(), (y0 ** 2).sum(), y1.size, y1.sum(), (y1 ** 2).sum(),
                      equal_var=equal_var, confidence=0.9)
    ref = stats.ttest_ind(y1, y0, equal_var=equal_var)
    assert c.statistic == pytest.approx(ref.statistic, rel=1e-9)
    assert c.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert c.df == pytest.approx(ref.df, rel=1e-9)
    lo, hi = ref.confidence_interval(0.9)
    assert c.absolute_ci == pytest.approx((lo, hi), rel=1e-9)


def test_relative_delta_method_by_hand(rng):
    # Var(m1/m0) ≈ Var(m1)/m0² + m1² Var(m0)/m0⁴, written out from the arrays
    y0, y1 = rng.normal(10, 3, 500), rng.normal(11, 4, 600)
    c = compare_means(500, y0.sum(), (y0 ** 2).sum(), 600, y1.sum(), (y1 ** 2).sum())
    m0, m1 = y0.mean(), y1.mean()
    se = math.sqrt(y1.var(ddof=1) / 600 / m0 ** 2 + m1 ** 2 * y0.var(ddof=1) / 500 / m0 ** 4)
    crit = stats.t.ppf(0.975, c.df)
    assert c.relative_ci == pytest.approx((m1 / m0 - 1 - crit * se, m1 / m0 - 1 + crit * se))


@pytest.mark.parametrize(("x0", "n0", "x1", "n1"), [(14, 28, 16, 30), (0, 500, 7, 480),
                                                    (3, 40, 40, 40), (0, 25, 0, 30),
                                                    (120, 1000, 95, 1010)])
def test_newcombe_matches_statsmodels(x0, n0, x1, n1):
    c = compare_proportions(x0, n0, x1, n1)
    lo, hi = confint_proportions_2indep(x1, n1, x0, n0, method="newcomb", compare="diff")
    assert c.absolute_ci == pytest.approx((lo, hi), abs=1e-12)
    assert -1.0 <= c.absolute_ci[0] <= c.absolute_lift <= c.absolute_ci[1] <= 1.0


@pytest.mark.parametrize(("x", "n"), [(0, 20), (20, 20), (7, 31)])
def test_wilson_matches_statsmodels(x, n):
    assert wilson_interval(x, n, 0.95) == pytest.approx(
        proportion_confint(x, n, alpha=0.05, method="wilson"), abs=1e-12)


def test_pooled_z_is_pearson_chi2():
    c = compare_proportions(120, 1000, 95, 1010)
    table = np.array([[120, 880], [95, 915]])
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    assert c.statistic ** 2 == pytest.approx(chi2)
    assert c.p_value == pytest.approx(p)


def test_zero_conversions_everywhere_is_defined():
    c = compare_proportions(0, 400, 0, 410)
    assert c.absolute_lift == 0.0 and c.p_value == 1.0
    assert all(math.isfinite(v) for v in c.absolute_ci) and c.absolute_ci[0] < 0 < c.absolute_ci[1]
    assert math.isnan(c.relative_lift) and "control mean is 0" in c.note


def test_zero_conversions_in_treatment():
    c = compare_proportions(12, 400, 0, 410)
    assert c.relative_lift == -1.0 and math.isfinite(c.relative_ci[0])
    assert c.absolute_ci[1] < 0 and c.p_value < 0.001


def test_bad_arguments():
    with pytest.raises(InputError, match="n_control=1 customers is too few"):
        compare_means(1, 2.0, 4.0, 10, 5.0, 7.0)
    with pytest.raises(InputError, match="both arms are constant"):
        compare_means(5, 10.0, 20.0, 6, 12.0, 24.0)
    with pytest.raises(InputError, match="x_treatment=31 must be a whole number"):
        compare_proportions(3, 30, 31, 30)
    with pytest.raises(InputError, match=r"confidence=1\.5"):
        compare_proportions(3, 30, 4, 30, confidence=1.5)
