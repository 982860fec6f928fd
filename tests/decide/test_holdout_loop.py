"""The hold-out control, and the closed loop: targets -> campaign -> experiment readout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from valuemax.decide import HOLDOUT_ARM, choose_targets, holdout_assignments
from valuemax.exceptions import InputError
from valuemax.experiment import readout_from_log


def _targets(n, arm="email"):
    return pd.DataFrame({"customer_id": [f"c{i:05d}" for i in range(n)], "arm": arm,
                         "expected_incremental_profit": np.linspace(10, 1, n),
                         "rank": np.arange(1, n + 1)})


def test_holdout_is_the_share_of_every_rank_decile_and_seeded():
    t = _targets(1000)
    a = holdout_assignments(t, assigned_at="2026-03-01", share=0.1, random_state=5)
    assert list(a.columns) == ["customer_id", "arm", "assigned_at", "share"]
    assert a["customer_id"].tolist() == t["customer_id"].tolist()
    held = (a["arm"] == HOLDOUT_ARM).to_numpy()
    # 10 deciles of 100 consecutive ranks, 10 held out in each
    assert held.reshape(10, 100).sum(axis=1).tolist() == [10] * 10
    assert (a["assigned_at"] == pd.Timestamp("2026-03-01")).all()
    assert a.loc[held, "share"].iloc[0] == pytest.approx(0.1)
    again = holdout_assignments(t, assigned_at="2026-03-01", share=0.1, random_state=5)
    pd.testing.assert_frame_equal(a, again)
    other = holdout_assignments(t, assigned_at="2026-03-01", share=0.1, random_state=6)
    assert not (other["arm"] == a["arm"]).all()


@pytest.mark.parametrize("kw, match", [
    ({"share": 0.0}, r"share=0.0 must lie strictly between 0 and 1"),
    ({"share": 1.0}, r"share=1.0 must lie strictly between 0 and 1"),
    ({"assigned_at": "next tuesday"}, r"assigned_at='next tuesday' is not an ISO date"),
    # day/month order never guessed (pandas reads 02/03/2024 as 3 February)
    ({"assigned_at": "02/03/2024"}, r"assigned_at='02/03/2024' is not an ISO date or time: "
                                    r"give YYYY-MM-DD\[ HH:MM:SS\] \(CLI --start\)"),
    ({"assigned_at": "March 2 2024"}, r"is not an ISO date"),
    ({"assigned_at": "2024-02-30"}, r"assigned_at='2024-02-30' is not a date or time"),
    ({"random_state": -1}, r"random_state=-1 must be a whole number >= 0 and below 2\*\*32 "
                           r"\(CLI --random-state\)"),
    ({"random_state": 2**32}, r"random_state=4294967296 must be a whole number >= 0 and "
                              r"below 2\*\*32"),
    ({"control": "email"}, r"5 targets already have the arm 'email'"),
])
def test_holdout_bad_input(kw, match):
    args = {"assigned_at": "2026-03-01", "share": 0.2, "random_state": 0} | kw
    with pytest.raises(InputError, match=match):
        holdout_assignments(_targets(5), **args)


def test_holdout_too_small_to_measure():
    with pytest.raises(InputError, match=r"holds out 0 customers; the readout needs both"):
        holdout_assignments(_targets(3), assigned_at="2026-03-01", share=0.1, random_state=0)


def test_the_loop_closes_targets_campaign_readout_recovers_the_uplift():
    rng = np.random.default_rng(2026)
    n = 8000
    uplift = rng.uniform(0.0, 0.16, n)
    scores = pd.DataFrame({"customer_id": [f"u{i:05d}" for i in range(n)], "uplift": uplift})
    value, base = 40.0, 0.05
    r = choose_targets(scores, value=value, margin=0.5, cost_per_contact=0.5,
                       max_contacts=5000, arm_label="email")
    assert len(r.targets) == 5000  # profit 20u - 0.5 > 0 for u > 0.025: about 6,750 customers
    start = pd.Timestamp("2026-02-01")
    assignments = holdout_assignments(r.targets, assigned_at=start, share=0.3,
                                      random_state=9)
    true_u = scores.set_index("customer_id").loc[assignments["customer_id"], "uplift"]
    treated = (assignments["arm"] != HOLDOUT_ARM).to_numpy()
    # the campaign: contacted customers buy with base + uplift, held-out ones with base
    buys = rng.random(len(assignments)) < base + np.where(treated, true_u.to_numpy(), 0.0)
    day = rng.integers(0, 14, len(assignments))
    log = pd.DataFrame({
        "customer_id": assignments["customer_id"][buys].to_numpy(),
        "order_id": [f"o{i}" for i in range(int(buys.sum()))],
        "order_ts": start + pd.to_timedelta(day[buys], unit="D") + pd.Timedelta(hours=10),
        "amount": value,
    })
    shares = assignments.groupby("arm")["share"].first().to_dict()
    result = readout_from_log(assignments, log, control=HOLDOUT_ARM, window_days=14,
                              observation_end="2026-02-28", shares=shares)
    truth = float(true_u.mean())
    comp = result.comparisons.set_index("metric")
    conv = comp.loc["converted"]
    assert conv["absolute_ci_low"] < truth < conv["absolute_ci_high"]
    assert conv["absolute_ci_high"] - conv["absolute_ci_low"] < 0.05
    rev = comp.loc["revenue"]
    assert rev["absolute_ci_low"] < value * truth < rev["absolute_ci_high"]
    assert not result.srm.alert
    n_arms = result.arm_table.query("metric == 'converted'").set_index("arm")["n"]
    assert n_arms.to_dict() == {"email": int(treated.sum()), HOLDOUT_ARM: int((~treated).sum())}


@pytest.mark.parametrize("n, share", [(37, 0.1), (20, 0.2), (123, 0.33)])
def test_holdout_total_is_the_rounded_share_and_each_decile_within_one(n, share):
    a = holdout_assignments(_targets(n), assigned_at="2026-03-01", share=share,
                            random_state=1)
    held = (a["arm"] == HOLDOUT_ARM).to_numpy()
    assert held.sum() == int(np.floor(share * n + 0.5))
    stratum = (np.arange(n) * 10) // n
    per = np.bincount(stratum, weights=held)
    assert np.all(np.abs(per - share * np.bincount(stratum)) < 1)
