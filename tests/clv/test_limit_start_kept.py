"""A fit that reaches the no-drop-out limit keeps the limit's own optimum without a run."""

from __future__ import annotations

import numpy as np
import pytest

import valuemax.clv._base as _base
from valuemax._core.exceptions import ConvergenceWarning
from valuemax.clv import ParetoNBDModel
from valuemax.clv._limit import nbd_best


def test_limit_start_is_kept_without_a_random_start(monkeypatch):
    # every customer buys at one Poisson rate and never drops out (bench_value_step's
    # boundary rows): the first run ends short of the corner, the limit's own optimum
    # (the NBD's maximum, fitted directly) passes the checks and ends the search; a run
    # from there ended in a failed line search on an objective flat to round-off and
    # sent the search to a random start
    rng = np.random.default_rng(1)
    T = rng.uniform(20, 78, 5000)
    x = rng.poisson(0.3 * T)
    t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), 1), 0.0)
    starts = []
    minimize = _base.minimize

    def counting(fun, x0, **kwargs):
        starts.append(np.array(x0))
        return minimize(fun, x0, **kwargs)

    monkeypatch.setattr(_base, "minimize", counting)
    with pytest.warns(ConvergenceWarning, match="search bound"):
        m = ParetoNBDModel(time_unit="W").fit(x, t_x, T)
    # the first run from the model's start and its resumption: no run from the corner,
    # no random start
    assert len(starts) <= 2 and np.array_equal(starts[0], np.zeros(4))
    assert "no drop-out" in m.boundary_
    ux, counts = np.unique(np.column_stack([x, T]), axis=0, return_counts=True)
    best, _, _ = nbd_best(ux[:, 0], ux[:, 1], counts.astype(float), _base._BOUND)
    # the fit is the NBD's maximum (mean objective, relative 1e-10 as _AT_LIMIT)
    assert -m.loglik_ / x.size == pytest.approx(best, rel=1e-10)
