"""Fits handed on at the no-drop-out limit, and the grouped series of the BG/NBD family's
expectation: the same optimum and values as computed another way."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.special import betaln

import valuemax.clv._base as base
from valuemax.clv import BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel, compare_models
from valuemax.clv._beta_geo_family import expected_alive_purchases
from valuemax.clv._btyd import limit_corner
from valuemax.exceptions import ConvergenceWarning

from .test_starts import _nbd_statsmodels, _no_dropout_log


@pytest.fixture
def count_runs(monkeypatch):
    """The optimiser runs ``fit_mle`` starts, as their starting points."""
    calls, minimize = [], base.minimize

    def counting(*args, **kwargs):
        calls.append(np.array(args[1], dtype=float))
        return minimize(*args, **kwargs)

    monkeypatch.setattr(base, "minimize", counting)
    return calls


@pytest.mark.parametrize("cls", [ModifiedBetaGeoModel, ParetoNBDModel])
def test_a_start_at_the_limit_is_kept_without_a_run(cls, count_runs):
    # BG/NBD reaches the NBD limit; the corner it hands on is the limit's optimum of the same
    # data for the other models too, so they take it without running the optimiser, at the
    # NBD's maximum computed by statsmodels
    x, t_x, T = _no_dropout_log(3000, seed=5)
    with pytest.warns(ConvergenceWarning, match="search bound"):
        bg = BetaGeoModel(time_unit="D").fit(x, t_x, T)
        count_runs.clear()
        m = cls(time_unit="D").fit(x, t_x, T, start=limit_corner(bg))
    assert count_runs == []
    assert m.converged_ and "no drop-out" in m.boundary_
    loglik, rate, _ = _nbd_statsmodels(x, T)
    assert m.loglik_ == pytest.approx(loglik, rel=1e-9)
    assert m.params_["r"] / m.params_["alpha"] == pytest.approx(rate, rel=1e-4)


def test_a_corner_start_on_data_with_drop_out_reaches_the_interior_optimum(cdnow_rfm):
    # CDNOW's customers do drop out: a start at the no-drop-out corner fails the checks and
    # the fit runs on to the same interior optimum as from the model's own start
    x, t_x, T = (cdnow_rfm[c] for c in ("frequency", "recency", "T"))
    default = ParetoNBDModel(time_unit="W").fit(x, t_x, T)
    corner = np.array([0.5, 10.0, np.exp(-base._BOUND), np.exp(base._BOUND)])
    handed = ParetoNBDModel(time_unit="W").fit(x, t_x, T, start=corner)
    assert not handed.boundary_
    assert handed.loglik_ == pytest.approx(default.loglik_, rel=1e-10)
    for name, value in default.params_.items():
        assert handed.params_[name] == pytest.approx(value, rel=1e-4)


def test_compare_models_at_the_limit_runs_the_optimiser_for_the_first_model_only(count_runs):
    x, t_x, T = _no_dropout_log(2000, seed=3)
    hold = np.random.default_rng(4).poisson(0.1 * 30, x.size)
    with pytest.warns(ConvergenceWarning):
        out = compare_models(x, t_x, T, hold, 30.0, time_unit="D", n_starts=2)
    assert len(count_runs) <= 2  # BG/NBD: its start (and perhaps a resumption)
    logliks = out.table["loglik"].to_numpy()
    np.testing.assert_allclose(logliks, logliks[0], rtol=1e-11)
    assert out.chosen == "BG/NBD"  # equal BICs: the registry's first model
    assert [set(g) for g in out.indistinguishable] == [{"BG/NBD", "MBG/NBD", "Pareto/NBD"}]


@pytest.mark.parametrize("bad", [[1.0, 2.0, 3.0], [1.0, 2.0, 0.0, 1.0], "ones"])
def test_start_must_be_one_positive_value_per_parameter(bad, cdnow_rfm):
    x, t_x, T = (cdnow_rfm[c] for c in ("frequency", "recency", "T"))
    with pytest.raises(ValueError, match="start must be 4 finite values > 0"):
        BetaGeoModel(time_unit="W").fit(x, t_x, T, start=bad)


def _direct(n, a, b, c):
    """``Σ_j q_j P(K > j)`` term by term: ``K ~ NB(n, 1/(1+c))`` by scipy, ``q_j = B(a,
    b+j)/B(a, b)``."""
    j = np.arange(0, 4000)
    q = np.exp(betaln(a, b + j) - betaln(a, b))
    return float(np.sum(q * stats.nbinom.sf(j, n, 1.0 / (1.0 + c))))


@pytest.mark.parametrize("r, a, b, rtol", [
    (0.243, 0.793, 2.426, 1e-11), (2e3, 0.01, 5.0, 1e-11),
    # at n = 3e5 scipy's nbinom.sf (a regularised incomplete beta of a huge parameter) is
    # itself good to ~1e-9 only
    (3e5, 3e-7, 3e6, 3e-9)])
def test_grouped_series_matches_the_direct_sum(r, a, b, rtol):
    # rows of several frequencies, shuffled: grouped by (n, b) inside, each row's value is
    # that of the sum written out term by term
    rng = np.random.default_rng(0)
    x = rng.integers(0, 6, 40).astype(float)
    c = rng.uniform(0.001, 0.5, 40) / (1.0 if r < 1e3 else r)
    got = expected_alive_purchases(r + x, a, b + x, c)
    want = np.array([_direct(r + xi, a, b + xi, ci) for xi, ci in zip(x, c, strict=True)])
    np.testing.assert_allclose(got, want, rtol=rtol)


@pytest.mark.parametrize("n_cols", [3, 5])
def test_compress_gives_numpy_unique_rows_and_summed_weights(n_cols):
    # the hashed key (3 columns with few distinct values) and the lexsort fallback (5
    # columns of 10,000 distinct values: a key span of 1e20, past 2^62): the rows
    # np.unique(axis=0) gives, in its order, with each group's weights summed
    from valuemax.clv._validation import compress

    rng = np.random.default_rng(1)
    n = 20_000
    if n_cols == 3:
        cols = np.column_stack([rng.integers(0, 4, n), rng.integers(0, 50, n) / 7.0,
                                rng.integers(0, 50, n) / 7.0]).astype(float)
    else:
        cols = rng.uniform(size=(n, n_cols))
        cols[n // 2:] = cols[: n - n // 2]  # duplicates
    w = rng.integers(0, 3, n).astype(float)
    rows, counts = compress(cols, w)
    keep = w > 0
    want, inverse = np.unique(cols[keep], axis=0, return_inverse=True)
    np.testing.assert_array_equal(rows, want)
    np.testing.assert_array_equal(counts, np.bincount(inverse.ravel(), weights=w[keep]))
