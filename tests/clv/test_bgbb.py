"""BG/BB (Fader, Hardie & Shang 2010, Marketing Science 29(6)) on the donations data.

Published values: FHS (2010) estimates alpha 1.204, beta 0.750, gamma 0.657, delta 2.783,
LL -33,225.6, and Table 6 (P(alive in 2002)); the totals of Hardie's BG/BB spreadsheet
(http://brucehardie.com/notes/010/): 12,884.2 expected repeat donations in 2002-2006 and
3,454.9 / 1,253.1 donors expected with 0 / 6 repeat donations in 1996-2001. The predictions are
also checked against brute-force enumeration of every latent path on small n, which uses only
Beta moments (not the paper's closed forms).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from math import comb, exp

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln

from valuemax.clv import BetaGeoBetaBinomModel
from valuemax.clv._likelihoods.discrete import bg_bb_alive_sum
from valuemax.exceptions import InputError, NotFittedError

PUBLISHED = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
N_DONORS = 11_104


@pytest.fixture(scope="module")
def donations(datasets) -> pd.DataFrame:
    frame = pd.read_csv(datasets("donations/donations.csv"))
    assert len(frame) == 22 and frame["weights"].sum() == N_DONORS
    return frame


@pytest.fixture(scope="module")
def fitted(donations) -> BetaGeoBetaBinomModel:
    return BetaGeoBetaBinomModel(random_state=0).fit(
        donations["frequency"], donations["recency"], donations["periods"], donations["weights"])


def _published() -> BetaGeoBetaBinomModel:
    return BetaGeoBetaBinomModel.from_params(**PUBLISHED)


# --- published values ---------------------------------------------------------------------

def test_reproduces_published_estimates_and_loglik(fitted):
    for name, value in PUBLISHED.items():
        assert fitted.params_[name] == pytest.approx(value, abs=5e-4), name  # 3 decimals
    assert fitted.loglik_ == pytest.approx(-33_225.6, abs=0.05)
    assert fitted.converged_
    assert fitted.n_customers_ == N_DONORS and fitted.n_unique_ == 22
    s = fitted.summary()
    assert s.model == "BG/BB" and s.n_obs == N_DONORS
    assert np.all(np.isfinite(s.std_errors)) and np.all(s.std_errors > 0)
    ci = s.conf_int()
    assert (ci["lower"] < s.estimates).all() and (s.estimates < ci["upper"]).all()


def test_loglik_at_published_parameters(donations):
    ll = _published().loglik_rows(donations["frequency"], donations["recency"],
                                  donations["periods"])
    assert float(np.dot(donations["weights"], ll)) == pytest.approx(-33_225.6, abs=0.05)


def test_p_alive_matches_published_table_6(fitted):
    # FHS (2010) Table 6, P(alive in 2002): last donation 1995 (x=0), 1999 with 2 repeats,
    # 2001 with 6 repeats
    p = fitted.p_alive([0, 2, 6], [0, 4, 6], [6, 6, 6])
    np.testing.assert_allclose(p, [0.11, 0.59, 0.93], atol=0.005)


def test_conditional_expectation_total_matches_hardie_sheet(fitted, donations):
    # 12,884.2 expected repeat donations in 2002-2006 (5 more opportunities); measured
    # 12,884.16. The total moves by ~2 between the rounded and the fitted parameters.
    expected = fitted.expected_purchases(5, donations["frequency"], donations["recency"],
                                         donations["periods"])
    assert float(np.dot(donations["weights"], expected)) == pytest.approx(12_884.2, abs=0.05)


def test_in_sample_distribution_matches_hardie_sheet(fitted):
    counts = N_DONORS * fitted.p_purchases(np.arange(7), 6)
    np.testing.assert_allclose(counts[[0, 6]], [3454.9, 1253.1], atol=0.06)
    assert counts.sum() == pytest.approx(N_DONORS, rel=1e-12)


# --- brute force ----------------------------------------------------------------------------

def _enumerate(a, b, g, d, n, n_star):
    """Every latent path over n + n_star opportunities, grouped by the observed (x, t_x).

    A path is a lifetime L (opportunities alive; L = N means alive throughout) and the
    transactions y_1..y_L; P = E[p^k (1-p)^(L-k)] * P(L) with Beta moments only.
    Returns {(x, t_x): [P, P * 1{alive at n+1}, P * future transactions]}.
    """
    big_n = n + n_star
    out = defaultdict(lambda: [0.0, 0.0, 0.0])
    for life in range(big_n + 1):
        if life < big_n:
            p_life = exp(betaln(g + 1, d + life) - betaln(g, d))
        else:
            p_life = exp(betaln(g, d + big_n) - betaln(g, d))
        for y in itertools.product((0, 1), repeat=life):
            k = sum(y)
            prob = exp(betaln(a + k, b + life - k) - betaln(a, b)) * p_life
            seen = y[:n]
            t_x = max((i + 1 for i, v in enumerate(seen) if v), default=0)
            row = out[(sum(seen), t_x)]
            row[0] += prob
            row[1] += prob * (life >= n + 1)
            row[2] += prob * sum(y[n:])
    return out


CASES = [(1.204, 0.750, 0.657, 2.783), (0.6, 2.5, 1.0, 1.7), (3.0, 1.2, 1.0 + 1e-7, 0.4),
         (2.0, 0.8, 4.5, 6.0)]


@pytest.mark.parametrize("params", CASES)
def test_predictions_equal_brute_force_enumeration(params):
    n, n_star = 4, 3
    m = BetaGeoBetaBinomModel.from_params(**dict(zip(PUBLISHED, params, strict=True)))
    paths = _enumerate(*params, n, n_star)
    keys = sorted(paths)
    x = np.array([k[0] for k in keys])
    t_x = np.array([k[1] for k in keys])
    total = np.array([paths[k][0] for k in keys])
    assert total.sum() == pytest.approx(1.0, rel=1e-12)
    # likelihood of one path with summary (x, t_x): there are C(t_x-1, x-1) such paths
    n_paths = np.array([comb(int(tx) - 1, int(xx) - 1) if xx else 1 for xx, tx in keys])
    lik = np.exp(m.loglik_rows(x, t_x, np.full(x.size, n)))
    np.testing.assert_allclose(lik * n_paths, total, rtol=1e-10)
    alive = np.array([paths[k][1] for k in keys]) / total
    np.testing.assert_allclose(m.p_alive(x, t_x, np.full(x.size, n)), alive, rtol=1e-10)
    future = np.array([paths[k][2] for k in keys]) / total
    np.testing.assert_allclose(m.expected_purchases(n_star, x, t_x, np.full(x.size, n)),
                               future, rtol=1e-7)
    pmf = np.bincount(x, weights=total)
    np.testing.assert_allclose(m.p_purchases(np.arange(n + 1), n), pmf, rtol=1e-10)
    mean_total = sum(paths[k][0] * k[0] + paths[k][2] for k in keys)  # E[X(n + n_star)]
    assert float(m.expected_purchases_new(n + n_star)) == pytest.approx(mean_total, rel=1e-7)


@pytest.mark.parametrize("delta", [0.05, 1.7, 40.0])
@pytest.mark.parametrize("gamma", [0.3, 0.95, 1.0 - 1e-6, 1.0, 1.0 + 1e-8, 1.0 + 1e-5, 1.01,
                                   1.05, 2.5])
def test_alive_sum_closed_form_is_accurate_near_gamma_one(gamma, delta):
    # the closed form has (gamma - 1) in a denominator; compare with the plain sum
    t = np.arange(1, 201)
    terms = np.exp(betaln(gamma, delta + t) - betaln(gamma, delta))
    for start, stop in [(0, 1), (0, 6), (6, 11), (3, 200)]:
        brute = terms[start:stop].sum()
        assert float(bg_bb_alive_sum(gamma, delta, start, stop)) == pytest.approx(brute,
                                                                                   rel=1e-9)


@pytest.mark.parametrize("n", [0, 1, 6, 30])
def test_pmf_sums_to_one_and_its_mean_is_eq_7(fitted, n):
    x = np.arange(n + 3)  # x > n has probability 0
    p = fitted.p_purchases(x, n)
    assert np.all(p[n + 1:] == 0) and np.all(p >= 0)
    assert p.sum() == pytest.approx(1.0, rel=1e-12)
    assert float(np.dot(x, p)) == pytest.approx(float(fitted.expected_purchases_new(n)),
                                                rel=1e-9, abs=1e-15)


# --- invariants and round trips -------------------------------------------------------------

def test_invariants_and_series_index(fitted, donations):
    idx = pd.Index([f"g{i}" for i in range(len(donations))], name="group")
    x = pd.Series(donations["frequency"].to_numpy(), index=idx)
    t_x = pd.Series(donations["recency"].to_numpy(), index=idx)
    n = pd.Series(donations["periods"].to_numpy(), index=idx)
    before = x.copy()
    alive = fitted.p_alive(x, t_x, n)
    assert alive.index.equals(idx) and ((alive >= 0) & (alive <= 1)).all()
    assert float(alive["g0"]) == pytest.approx(0.11, abs=0.005)
    e = np.array([fitted.expected_purchases(h, x, t_x, n).to_numpy() for h in range(0, 12)])
    assert np.all(e[0] == 0) and np.all(np.diff(e, axis=0) > 0)
    new = fitted.expected_purchases_new(np.arange(0, 30))
    assert new[0] == 0 and np.all(np.diff(new) > 0)
    pd.testing.assert_series_equal(x, before)


def test_weights_equal_duplicated_rows(donations):
    reps = donations["weights"].to_numpy()
    cols = {c: np.repeat(donations[c].to_numpy(), reps) for c in ("frequency", "recency",
                                                                  "periods")}
    expanded = BetaGeoBetaBinomModel(random_state=0).fit(
        cols["frequency"], cols["recency"], cols["periods"])
    weighted = BetaGeoBetaBinomModel(random_state=0).fit(
        donations["frequency"], donations["recency"], donations["periods"], reps)
    for name in PUBLISHED:
        assert expanded.params_[name] == pytest.approx(weighted.params_[name], rel=1e-9)
    assert expanded.loglik_ == pytest.approx(weighted.loglik_, rel=1e-12)


def test_from_params_round_trip(fitted):
    clone = BetaGeoBetaBinomModel.from_params(**fitted.params_)
    args = ([0, 3, 5], [0, 4, 6], [6, 6, 6])
    np.testing.assert_allclose(clone.expected_purchases(5, *args),
                               fitted.expected_purchases(5, *args), rtol=1e-15)
    with pytest.raises(NotFittedError, match="from_params"):
        clone.summary()


def test_simulate_then_refit_recovers_parameters():
    truth = BetaGeoBetaBinomModel.from_params(alpha=1.2, beta=0.75, gamma=0.65, delta=2.8)
    sim = truth.simulate(40_000, 10, random_state=7)
    assert list(sim.dtypes) == [np.int64] * 3
    assert ((sim.frequency <= sim.recency) & (sim.recency <= sim.n_periods)).all()
    # the simulated counts follow eq. (8)
    share = np.bincount(sim["frequency"], minlength=11) / len(sim)
    np.testing.assert_allclose(share, truth.p_purchases(np.arange(11), 10), atol=0.01)
    m = BetaGeoBetaBinomModel(random_state=0).fit(sim["frequency"], sim["recency"],
                                                  sim["n_periods"])
    s = m.summary()
    for name, se in zip(s.param_names, s.std_errors, strict=True):
        assert abs(m.params_[name] - truth.params_[name]) < 4 * se, name
    again = truth.simulate(40_000, 10, random_state=7)
    pd.testing.assert_frame_equal(sim, again)


# --- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "match"), [
    (([1, 2], [3, 7], [6, 6]), "recency exceeds n_periods for 1 of 2 rows"),
    (([1.5, 2], [3, 4], [6, 6]), "frequency is not an integer for 1 of 2 rows"),
    (([1, 2], [3, 4.2], [6, 6]), "recency is not an integer"),
    (([4, 2], [3, 4], [6, 6]), "frequency exceeds recency"),
    (([0, 2], [2, 4], [6, 6]), "recency is not 0 where frequency == 0"),
    (([-1, 2], [0, 4], [6, 6]), "frequency is negative"),
    (([0, 0], [0, 0], [0, 6]), "n_periods is below 1"),
    (([1, np.nan], [3, 4], [6, 6]), "frequency is NaN or infinite"),
    (([1, 2], [3, 4], [6]), "lengths differ"),
    ((["1", "2"], [3, 4], [6, 6]), "frequency must be numeric"),
])
def test_bad_input_is_rejected_with_a_clear_message(args, match):
    with pytest.raises(InputError, match=match):
        BetaGeoBetaBinomModel().fit(*args)
    with pytest.raises(InputError, match=match):
        _published().p_alive(*args)


def test_bad_weights_horizons_and_state():
    with pytest.raises(InputError, match="weights is negative"):
        BetaGeoBetaBinomModel().fit([1, 2], [3, 4], [6, 6], [1, -1])
    m = _published()
    with pytest.raises(InputError, match="n_future must be whole numbers"):
        m.expected_purchases(2.5, [1], [3], [6])
    with pytest.raises(InputError, match="n_future must be whole numbers"):
        m.expected_purchases(-1, [1], [3], [6])
    with pytest.raises(InputError, match="one value per customer"):
        m.expected_purchases([1, 2, 3], [1, 2], [3, 4], [6, 6])
    with pytest.raises(InputError, match="n_purchases must be whole numbers"):
        m.p_purchases(0.5, 6)
    with pytest.raises(InputError, match="n_periods must be a whole number >= 1"):
        m.simulate(10, 0)
    with pytest.raises(ValueError, match="n_customers must be an integer >= 1"):
        m.simulate(0, 6)
    with pytest.raises(NotFittedError, match="not fitted"):
        BetaGeoBetaBinomModel().p_alive([1], [3], [6])
    with pytest.raises(ValueError, match="finite and > 0"):
        BetaGeoBetaBinomModel.from_params(alpha=-1.0, beta=1.0, gamma=1.0, delta=1.0)
    with pytest.raises(ValueError, match="penalizer"):
        BetaGeoBetaBinomModel(penalizer=-1.0).fit([1], [3], [6])
