"""Evaluating several models: each gets its own scores; bootstrap intervals recomputed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from valuemax.exceptions import InputError
from valuemax.uplift import auuc, evaluate_uplift, qini_coefficient


def _data(rng, n=800):
    t = rng.integers(0, 2, n)
    x = rng.random(n)
    y = (rng.random(n) < 0.2 + 0.3 * x * t).astype(float)
    return x, t, y


def test_models_scored_together_get_the_scores_each_gets_alone(rng):
    x, t, y = _data(rng)
    scores = {"good": x, "noise": rng.random(x.size), "tied": np.round(x, 1)}
    together = evaluate_uplift(scores, t, y, n_bootstrap=30, random_state=7)
    for name, s in scores.items():
        alone = evaluate_uplift({name: s}, t, y, n_bootstrap=30, random_state=7)
        pd.testing.assert_frame_equal(
            together.table[together.table.model == name].reset_index(drop=True), alone.table)
        pd.testing.assert_frame_equal(
            together.bins[together.bins.model == name].reset_index(drop=True), alone.bins)
        np.testing.assert_array_equal(together.curves[name]["qini"].value,
                                      alone.curves[name]["qini"].value)


def test_areas_and_bootstrap_interval_recomputed_from_the_public_functions(rng):
    x, t, y = _data(rng)
    ev = evaluate_uplift({"m": x}, t, y, n_bootstrap=40, random_state=11, confidence=0.9)
    row = ev.table.iloc[0]
    assert row.qini == pytest.approx(qini_coefficient(x, t, y))
    assert row.auuc == pytest.approx(auuc(x, t, y))
    # the documented draw: per draw treated indices, then control indices, from one Generator
    g = np.random.default_rng(11)
    tr, co = np.flatnonzero(t == 1), np.flatnonzero(t == 0)
    q, a = [], []
    for _ in range(40):
        idx = np.r_[tr[g.integers(0, tr.size, tr.size)], co[g.integers(0, co.size, co.size)]]
        q.append(qini_coefficient(x[idx], t[idx], y[idx]))
        a.append(auuc(x[idx], t[idx], y[idx]))
    assert (row.qini_ci_low, row.qini_ci_high) == pytest.approx(
        (np.quantile(q, 0.05), np.quantile(q, 0.95)))
    assert (row.auuc_ci_low, row.auuc_ci_high) == pytest.approx(
        (np.quantile(a, 0.05), np.quantile(a, 0.95)))
    assert row.qini_excludes_zero == bool(row.qini_ci_low > 0 or row.qini_ci_high < 0)
    stated = "excludes 0" if row.qini_excludes_zero else "includes 0"
    assert f"m: qini {row.qini:.6g}, 90% bootstrap interval" in row.conclusion
    assert stated in row.conclusion


def test_without_bootstrap_the_conclusion_says_so(rng):
    x, t, y = _data(rng, 100)
    row = evaluate_uplift(x, t, y, n_bootstrap=0).table.iloc[0]
    assert row.qini_ci_low is None and row.qini_excludes_zero is None
    assert "no bootstrap interval (n_bootstrap=0)" in row.conclusion


def test_bad_input(rng):
    x, t, y = _data(rng, 100)
    with pytest.raises(InputError, match="scores is empty"):
        evaluate_uplift({}, t, y)
    with pytest.raises(InputError, match="all 100 customers are control"):
        evaluate_uplift({"m": x}, np.zeros(100, int), y)
    with pytest.raises(InputError, match=r"scores\['m'\] must hold one uplift score per"):
        evaluate_uplift({"m": x[:50]}, t, y)
