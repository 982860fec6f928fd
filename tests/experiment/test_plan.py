"""Power, minimum detectable effect and sample size, checked against statsmodels.stats.power."""

from __future__ import annotations

import math

import pytest
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import power_proportions_2indep

from valuemax.exceptions import InputError
from valuemax.experiment import plan


@pytest.mark.parametrize(("n0", "ratio", "alternative"), [(500, 1.0, "two-sided"),
                                                          (2_000, 0.25, "two-sided"),
                                                          (800, 3.0, "larger")])
def test_mean_power_is_normal_ind_power(n0, ratio, alternative):
    p = plan("mean", baseline=5.0, sd=12.0, effect=1.5, n_control=n0, ratio=ratio,
             alternative=alternative)
    ref = NormalIndPower().power(effect_size=1.5 / 12.0, nobs1=n0, alpha=0.05, ratio=ratio,
                                 alternative=alternative)
    assert p.solved_for == "power" and p.power == pytest.approx(ref, rel=1e-10)


def test_mean_sample_size_and_mde_invert_statsmodels():
    p = plan("mean", baseline=1.0, sd=15.0, effect=0.05, relative=True, power=0.8)
    ref = NormalIndPower().solve_power(effect_size=0.05 / 15.0, alpha=0.05, power=0.8)
    assert p.n_control_exact == pytest.approx(ref, rel=1e-6)
    assert p.n_control == math.ceil(ref) and p.n_treatment == p.n_control
    # Kohavi's rule of thumb 16σ²/δ² for 80% power, α = 0.05 (exact factor 15.70)
    assert p.n_control_exact == pytest.approx(16 * 15.0 ** 2 / 0.05 ** 2, rel=0.02)
    # the t-based size (Welch's readout) is a customer or two larger
    t_n = TTestIndPower().solve_power(effect_size=0.05 / 15.0, alpha=0.05, power=0.8)
    assert 0 < t_n - p.n_control_exact < 3
    mde = plan("mean", baseline=1.0, sd=15.0, n_control=p.n_control_exact, power=0.8)
    assert mde.effect == pytest.approx(0.05, rel=1e-8) and mde.solved_for == "effect"


@pytest.mark.parametrize(("p0", "p1", "n0", "ratio"), [(0.10, 0.12, 3_000, 1.5),
                                                       (0.0057, 0.0125, 21_306, 1.0),
                                                       (0.5, 0.45, 400, 0.5)])
def test_proportion_power_matches_statsmodels(p0, p1, n0, ratio):
    p = plan("proportion", baseline=p0, effect=abs(p1 - p0), n_control=n0, ratio=ratio)
    # statsmodels' arm 1 is our treatment: nobs1 = ratio * n0, its ratio = n0 / nobs1
    ref = power_proportions_2indep(abs(p1 - p0), p0, ratio * n0, ratio=1 / ratio,
                                   alpha=0.05).power
    assert p.power == pytest.approx(float(ref), rel=1e-10)


def test_proportion_round_trip():
    n = plan("proportion", baseline=0.106, effect=0.01, power=0.9)
    assert n.power == pytest.approx(0.9, abs=1e-9)
    back = plan("proportion", baseline=0.106, n_control=n.n_control_exact, power=0.9)
    assert back.effect == pytest.approx(0.01, rel=1e-7)
    more = plan("proportion", baseline=0.106, effect=0.01, n_control=n.n_control)
    assert more.power >= 0.9


def test_power_grows_with_n_and_effect():
    small = plan("mean", baseline=1.0, sd=10.0, effect=0.2, n_control=1_000).power
    assert small < plan("mean", baseline=1.0, sd=10.0, effect=0.2, n_control=4_000).power
    assert small < plan("mean", baseline=1.0, sd=10.0, effect=0.4, n_control=1_000).power
    zero_ish = plan("mean", baseline=1.0, sd=10.0, effect=1e-9, n_control=1_000).power
    assert zero_ish == pytest.approx(0.05, abs=1e-6)   # no effect: power = alpha


def test_bad_plans():
    with pytest.raises(InputError, match="give exactly two of effect, n_control and power"):
        plan("mean", baseline=1.0, sd=2.0, effect=0.1)
    with pytest.raises(InputError, match=r"sd .* is required for kind='mean'"):
        plan("mean", baseline=1.0, effect=0.1, power=0.8)
    with pytest.raises(InputError, match="reaches a rate of 1 or more"):
        plan("proportion", baseline=0.95, effect=0.06, power=0.8)
    with pytest.raises(InputError, match=r"power=1\.2 must be a number above 0 and below 1"):
        plan("proportion", baseline=0.1, effect=0.01, power=1.2)
    with pytest.raises(InputError, match="kind='ratio' is not supported"):
        plan("ratio", baseline=0.1, effect=0.01, power=0.8)
