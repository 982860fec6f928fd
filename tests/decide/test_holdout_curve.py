"""holdout_profit_curve: the measured profit curve and its seeded bootstrap interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from valuemax.decide import holdout_profit_curve
from valuemax.exceptions import InputError


def _holdout(seed, n=6000):
    rng = np.random.default_rng(seed)
    score = rng.uniform(0, 1, n)
    uplift = 0.15 * score  # the model's score ranks the true uplift exactly
    treated = rng.random(n) < 0.5
    buys = rng.random(n) < 0.05 + np.where(treated, uplift, 0.0)
    return pd.DataFrame({"customer_id": [f"h{i}" for i in range(n)], "score": score,
                         "arm": np.where(treated, "email", "control"),
                         "revenue": np.where(buys, 40.0, 0.0), "uplift": uplift})


def test_full_share_is_the_difference_in_means_and_its_interval_the_welch_one():
    frame = _holdout(1)
    c = holdout_profit_curve(frame, score="score", arm="arm", control="control",
                             revenue="revenue", margin=0.5, cost_per_contact=1.0,
                             n_points=10, n_boot=400, random_state=0)
    last = c.curve.iloc[-1]
    g = frame.groupby("arm")["revenue"]
    diff = g.mean()["email"] - g.mean()["control"]
    n = len(frame)
    assert last["share"] == 1.0
    assert last["incremental_revenue"] == pytest.approx(diff, rel=1e-12)
    assert last["profit"] == pytest.approx(n * (0.5 * diff - 1.0), rel=1e-12)
    se = np.sqrt((g.var() / g.count()).sum()) * 0.5 * n
    z = stats.norm.ppf(0.975)
    # a percentile bootstrap of 400 replicates against the normal interval: within 15%
    assert last["ci_high"] - last["ci_low"] == pytest.approx(2 * z * se, rel=0.15)


def test_the_true_curve_lies_inside_the_interval():
    frame = _holdout(2)
    c = holdout_profit_curve(frame, score="score", arm="arm", control="control",
                             revenue="revenue", margin=0.5, cost_per_contact=1.0,
                             n_points=10, n_boot=300, random_state=1, chosen_share=0.4)
    ranked = frame.sort_values("score", ascending=False)
    truth = [len(frame) * q * (0.5 * 40.0 * ranked["uplift"].iloc[:round(q * len(frame))]
                               .mean() - 1.0) for q in c.curve["share"]]
    inside = (c.curve["ci_low"] < truth) & (truth < c.curve["ci_high"])
    assert inside.mean() >= 0.8
    assert c.chosen == 3 and c.curve["share"].iloc[c.chosen] == pytest.approx(0.4)
    # the true optimum contacts customers with 20 * u > 1: u > 0.05, score > 1/3, share 2/3
    assert c.curve["share"].iloc[c.best] == pytest.approx(0.7, abs=0.21)


def test_seeded():
    frame = _holdout(3, n=1000)
    kw = dict(score="score", arm="arm", control="control", revenue="revenue", margin=0.5,
              cost_per_contact=1.0, n_boot=50)
    a = holdout_profit_curve(frame, random_state=7, **kw).curve
    b = holdout_profit_curve(frame, random_state=7, **kw).curve
    d = holdout_profit_curve(frame, random_state=8, **kw).curve
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["ci_low"], d["ci_low"])


def test_no_control_is_an_input_error():
    frame = _holdout(4, n=100).assign(arm="email")
    with pytest.raises(InputError, match=r"needs contacted and control \('control'\) "
                                         r"customers; it has 100 contacted and 0 control"):
        holdout_profit_curve(frame, score="score", arm="arm", control="control",
                             revenue="revenue", margin=0.5, cost_per_contact=1.0)
