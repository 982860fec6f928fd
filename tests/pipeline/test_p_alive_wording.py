"""The P(alive) warning's wording when P(alive) does not vary at all (QA: "P(alive) is
between 1.00 and 1.00 for 90% of customers")."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from valuemax.clv import BetaGeoModel
from valuemax.pipeline._value import dropout_ratio_note, p_alive_warning


@pytest.fixture(scope="module")
def model():
    """BG/NBD fitted to its own process (Fader, Hardie & Lee 2005): gamma(0.5, 10) daily
    purchase rates, beta(1, 3) drop-out after each purchase, 2,000 customers; well
    identified, so only the P(alive) spread can trigger the warning."""
    rng = np.random.default_rng(0)
    n = 2000
    lam, drop, T = rng.gamma(0.5, 1 / 10, n), rng.beta(1.0, 3.0, n), rng.uniform(100, 300, n)
    frequency, recency = np.zeros(n, int), np.zeros(n)
    for i in range(n):
        t = rng.exponential(1 / lam[i])
        while t <= T[i]:
            frequency[i] += 1
            recency[i] = t
            if rng.random() < drop[i]:
                break
            t += rng.exponential(1 / lam[i])
    fitted = BetaGeoModel(time_unit="D", random_state=0).fit(frequency, recency, T)
    assert not fitted.boundary_
    assert fitted.params_["r"] == pytest.approx(0.5, rel=0.2)
    return fitted


def test_no_spread_says_p_alive_does_not_vary(model):
    p = pd.Series(np.full(2000, 0.998))
    text = p_alive_warning(model, p)
    assert ("P(alive) does not vary (it reads 1.00 for 100.0% of customers), so it cannot "
            "rank customers") in text
    assert "between" not in text
    # P(alive) near 1 for everyone (Online Retail): the model does see little drop-out
    assert "The model sees little drop-out in this log" in text


def test_the_share_quoted_is_the_one_that_rounds_as_printed(model):
    """Review: "1.00 for 90% of customers" when 98.5% of them read 1.00 (the 5th to 95th
    percentile band is not the share that rounds to the printed value)."""
    p = pd.Series(np.r_[np.full(985, 0.998), np.full(15, 0.97)])
    assert (p.round(2) == 1.0).mean() == pytest.approx(0.985)  # computed here
    text = p_alive_warning(model, p)
    assert "it reads 1.00 for 98.5% of customers" in text and "90%" not in text


def test_wide_intervals_give_the_widest_factor():
    """Review: "95% intervals over a factor of 2,500" when an interval spans a factor of
    3.8 million: the actual widest factor is printed."""
    from types import SimpleNamespace

    lse = [0.1, 0.2, 3.88, 2.5]
    summary = SimpleNamespace(param_names=["r", "alpha", "a", "b"], log_std_errors=lse)
    fake = SimpleNamespace(summary=lambda: summary, boundary_=())
    text = p_alive_warning(fake, pd.Series(np.linspace(0.1, 0.9, 100)))
    factor = np.exp(2 * 1.96 * 3.88)  # the 95% interval's upper / lower end on a log scale
    assert 4.0e6 < factor < 4.1e6
    # the parameters said in words (review: "a, b" named with no meaning)
    assert ("the data do not pin down a and b (the drop-out parameters: the chance to drop "
            "out after each purchase follows Beta(a, b) across customers) (95% intervals "
            f"spanning a factor of up to {factor / 1e6:.1f} million)") in text
    assert "2,500" not in text


def test_an_interval_beyond_floating_point_is_said_as_a_power_of_ten():
    """CI: a log SE of 400 made e^(2 x 1.96 x 400) overflow (a RuntimeWarning, an error
    under the test settings, failed the value step): the factor is said as 10^N."""
    from types import SimpleNamespace

    summary = SimpleNamespace(param_names=["r", "alpha", "a", "b"],
                              log_std_errors=[0.1, 0.2, 400.0, 2.5])
    fake = SimpleNamespace(summary=lambda: summary, boundary_=())
    text = p_alive_warning(fake, pd.Series(np.linspace(0.1, 0.9, 100)))
    decades = 2 * 1.96 * 400.0 / np.log(10)  # 680.9: past float64's 10^308
    assert f"spanning a factor of up to about 10^{decades:.0f})" in text
    assert "10^681" in text and not re.search(r"\binf\b", text)


def test_narrow_spread_keeps_the_range(model):
    p = pd.Series(np.linspace(0.90, 0.93, 2000))
    lo, hi = np.quantile(p, [0.05, 0.95])  # 0.9015 and 0.9285
    text = p_alive_warning(model, p)
    assert f"P(alive) is between {lo:.2f} and {hi:.2f} for 90% of customers" in text
    assert (lo, hi) == pytest.approx((0.90 + 0.03 * 0.05, 0.90 + 0.03 * 0.95))


def test_no_drop_out_limit_says_p_alive_is_one_by_construction():
    """Every customer buys at a gamma-distributed rate for the whole period and none leaves:
    the BG/NBD's drop-out probability goes to 0 (the "no drop-out" limit), where P(alive)
    is close to 1 by the model's structure, whatever the data say."""
    rng = np.random.default_rng(1)
    n = 1500
    lam, T = rng.gamma(2.0, 1 / 40, n), rng.uniform(200, 400, n)
    frequency, recency = np.zeros(n, int), np.zeros(n)
    for i in range(n):
        times = np.cumsum(rng.exponential(1 / lam[i], 200))
        inside = times[times <= T[i]]
        frequency[i], recency[i] = len(inside), (inside[-1] if len(inside) else 0.0)
    fitted = BetaGeoModel(time_unit="D", random_state=0).fit(frequency, recency, T)
    assert "no drop-out" in fitted.boundary_
    p = pd.Series(fitted.p_alive(frequency, recency, T))
    assert p.median() > 0.999
    text = p_alive_warning(fitted, p)
    assert text.startswith("P(alive) cannot rank customers in this log: the chosen purchase "
                           "model sits at its no-drop-out limit")
    assert "P(alive) is close to 1 by the model's construction, not by evidence" in text
    assert "(no drop-out" not in text  # said once, in words


def test_a_and_b_both_near_zero_is_not_called_no_drop_out():
    """New user (a 40-customer Chinese shop): BG/NBD ended with a at the lower search bound
    and b = 3e-6, and the warning said "P(alive) is close to 1 by the model's construction"
    while P(alive) ran from 0.24 to 1. Simulated here: 30% of customers leave right after
    their first repeat purchase, the others never leave (each drop-out probability 1 or 0):
    the fit runs a and b both to the search bound, which is not the no-drop-out limit."""
    from valuemax.exceptions import ConvergenceWarning

    rng = np.random.default_rng(1)
    n = 1500
    lam, T = rng.gamma(2.0, 1 / 40, n), rng.uniform(200, 400, n)
    leaver = rng.random(n) < 0.3
    frequency, recency = np.zeros(n, int), np.zeros(n)
    for i in range(n):
        times = np.cumsum(rng.exponential(1 / lam[i], 200))
        inside = times[times <= T[i]][:1 if leaver[i] else None]
        frequency[i], recency[i] = len(inside), (inside[-1] if len(inside) else 0.0)
    with pytest.warns(ConvergenceWarning) as caught:
        fitted = BetaGeoModel(time_unit="D", random_state=0).fit(frequency, recency, T)
    assert any("ran to the search bound" in str(w.message) for w in caught)
    assert fitted.boundary_ == ("a at the search bound", "b at the search bound")
    p = pd.Series(fitted.p_alive(frequency, recency, T))
    assert p.quantile(0.05) < 0.05  # the one-repeat leavers, long silent
    text = p_alive_warning(fitted, p)
    assert "close to 1 by the model's construction" not in text
    assert ("its drop-out parameters sit at a limit (a at the search bound, b at the search "
            "bound)") in text


def test_equal_drop_out_limit_is_no_reason_to_call_p_alive_useless(model):
    """At the "no drop-out heterogeneity" limit every customer has the same drop-out chance,
    which may be large (the new user's Chinese log: P(alive) from 0.59 down to 0.00005).
    Review: the limit alone made the warning call P(alive) not informative, though P(alive)
    still follows each customer's frequency and recency there (only a and b are not
    identified one by one, their ratio is): no warning, a note on what its level rests on."""
    import copy

    at_limit = copy.copy(model)
    at_limit.boundary_ = ("no drop-out heterogeneity",)
    p = pd.Series(np.linspace(0.00005, 0.59, 2000))
    assert p_alive_warning(at_limit, p) is None
    note = dropout_ratio_note(at_limit, "BG/NBD")
    a, b = model.params_["a"], model.params_["b"]
    assert f"a/(a+b) = {a / (a + b):.3g}, which every customer shares" in note
    assert "P(alive) still ranks customers by their frequency and recency" in note
    # the limit's P(alive) with no spread is still flagged, for that reason only
    flat = p_alive_warning(at_limit, pd.Series(np.full(2000, 0.4)))
    assert "P(alive) does not vary (it reads 0.40 for 100.0% of customers)" in flat
    assert "sit at a limit" not in flat


def _one_dropout_rate_log(n: int = 2000, mu: float = 1 / 150, hold: float = 120.0):
    """Pareto/NBD's own process with ONE drop-out rate ``mu`` (per day) for everyone and
    gamma(0.8, 20) purchase rates; each customer's calibration summary (frequency, recency,
    T) and whether they bought in the ``hold`` days after T."""
    rng = np.random.default_rng(3)
    lam, T = rng.gamma(0.8, 1 / 20, n), rng.uniform(200, 400, n)
    death = rng.exponential(1 / mu, n)
    frequency, recency, later = np.zeros(n, int), np.zeros(n), np.zeros(n, bool)
    for i in range(n):
        t = rng.exponential(1 / lam[i])
        while t <= min(T[i] + hold, death[i]):
            if t <= T[i]:
                frequency[i], recency[i] = frequency[i] + 1, t
            else:
                later[i] = True
            t += rng.exponential(1 / lam[i])
    return frequency, recency, T, later


def test_one_drop_out_rate_for_everyone_p_alive_ranks_and_is_not_called_useless():
    """Review: on a simulated log with no drop-out heterogeneity, Pareto/NBD's s and beta
    have 95% intervals over a factor of 5,000 and P(alive) was called "not informative",
    though it ranked the holdout's buyers well. Their ratio s/beta is pinned down (the log
    SE of the ratio from the fit's covariance) and is the true drop-out rate; P(alive)'s
    holdout AUC is measured here."""
    from scipy.stats import mannwhitneyu

    from valuemax.clv import ParetoNBDModel

    f, r, T, later = _one_dropout_rate_log()
    m = ParetoNBDModel(time_unit="D", random_state=0, n_starts=2).fit(f, r, T)
    s = m.summary()
    lse = dict(zip(s.param_names, s.log_std_errors, strict=True))
    assert lse["s"] > 2 and lse["beta"] > 2  # neither is identified on its own (premise)
    i, j = s.param_names.index("s"), s.param_names.index("beta")
    ratio_se = np.sqrt(m.log_cov_[i, i] + m.log_cov_[j, j] - 2 * m.log_cov_[i, j])
    assert ratio_se < 0.2  # ... their ratio is
    assert m.params_["s"] / m.params_["beta"] == pytest.approx(1 / 150, rel=0.15)
    p = m.p_alive(f, r, T)
    u = mannwhitneyu(p[later], p[~later]).statistic
    auc = u / (later.sum() * (~later).sum())  # P(alive) of a holdout buyer ranks higher
    assert auc > 0.75
    assert p_alive_warning(m, pd.Series(p)) is None
    note = dropout_ratio_note(m, "Pareto/NBD")
    assert note.startswith("Pareto/NBD sees about the same drop-out rate for every customer: "
                           "the log does not pin down s and beta one by one, only their ratio "
                           f"s/beta = {m.params_['s'] / m.params_['beta']:.3g} per day")
    assert note.endswith("P(alive) still ranks customers by their frequency and recency; its "
                         "level rests on that one ratio.")
    assert "not informative" not in note
