"""Input (b): assignment file + transaction log, outcomes over a window after assignment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from valuemax.exceptions import InputError
from valuemax.experiment import outcomes_from_log, readout, readout_from_log


@pytest.fixture
def small():
    """Worked by hand: window 14 days from 2024-01-01 (to Jan 15, exclusive), pre 30 days.

    1 (A): order o1 of two lines (10 + 5) on Jan 2 -> orders 1, revenue 15, converted 1.
    2 (B): buys on Jan 20, after the window -> 0, 0, 0.
    3 (A): bought 3 on Dec 20 (pre-period); a -2 return line on Jan 3 -> orders 0,
       revenue -2 (net of returns), converted 0; pre_orders 1, pre_revenue 3.
    4 (B): buys on Jan 30 -> 0. 5: twice in A; 6: in A and B; a row without id;
    9: assigned Jan 25, window to Feb 8 beyond the log's last day (Jan 30).
    """
    a = pd.DataFrame({
        "customer_id": ["1", "2", "3", "4", "5", "5", "6", "6", None, "9"],
        "arm": ["A", "B", "A", "B", "A", "A", "A", "B", "A", "B"],
        "assigned_at": pd.to_datetime(["2024-01-01"] * 9 + ["2024-01-25"])})
    tx = pd.DataFrame({
        "customer_id": ["1", "1", "2", "3", "3", "4"],
        "order_id": ["o1", "o1", "o2", "o3", None, "o4"],
        "order_ts": pd.to_datetime(["2024-01-02", "2024-01-02", "2024-01-20", "2023-12-20",
                                    "2024-01-03", "2024-01-30"]),
        "amount": [10.0, 5.0, 7.0, 3.0, -2.0, 1.0]})
    return a, tx


def test_outcomes_by_hand(small):
    found = outcomes_from_log(*small, window_days=14, pre_days=30)
    got = found.table.order_by("customer_id").to_pyarrow().to_pandas().set_index("customer_id")
    assert got["orders"].tolist() == [1, 0, 0, 0]
    assert got["revenue"].tolist() == [15.0, 0.0, -2.0, 0.0]
    assert got["converted"].tolist() == [1, 0, 0, 0]
    assert got["pre_orders"].tolist() == [0, 0, 1, 0]
    assert got["pre_revenue"].tolist() == [0.0, 0.0, 3.0, 0.0]
    assert str(found.observation_end) == "2024-01-30"
    assert found.quarantine["reason"].value_counts().to_dict() == {
        "assigned_to_several_arms": 2, "assigned_twice_same_arm": 2, "customer_id_missing": 1,
        "window_not_observed": 1}
    assert set(found.quarantine.customer_id.dropna()) == {"5", "6", "9"}


def _simulate(rng, n=4_000):
    ids = np.array([f"u{i}" for i in range(n)])
    arm = rng.choice(["control", "offer"], size=n)
    start = pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 20, n), unit="D")
    a = pd.DataFrame({"customer_id": ids, "arm": arm, "assigned_at": start})
    rate = np.where(arm == "offer", 0.6, 0.4)  # purchases per 14 days after assignment
    rows = []
    # (days from assignment to the period's start, its length, purchases per customer)
    for offset, span, k in ((-30, 30, rng.poisson(1.0, n)), (0, 14, rng.poisson(rate))):
        who = np.repeat(np.arange(n), k)
        ts = start[who] + pd.to_timedelta(offset, unit="D") + pd.to_timedelta(
            rng.uniform(0, span, who.size), unit="D")
        rows.append(pd.DataFrame({"customer_id": ids[who], "order_ts": ts,
                                  "amount": np.round(rng.gamma(2.0, 15.0, who.size), 2)}))
    tx = pd.concat(rows, ignore_index=True)
    tx["order_id"] = [f"o{i}" for i in range(len(tx))]
    return a, tx


def test_outcomes_equal_pandas(rng):
    a, tx = _simulate(rng)
    found = outcomes_from_log(a, tx, window_days=14, pre_days=30,
                              observation_end="2024-04-30")
    got = found.table.to_pyarrow().to_pandas().set_index("customer_id").sort_index()
    m = a.merge(tx, on="customer_id", how="left")
    inside = (m.order_ts >= m.assigned_at) & (m.order_ts < m.assigned_at + pd.Timedelta(days=14))
    before = (m.order_ts >= m.assigned_at - pd.Timedelta(days=30)) & (m.order_ts < m.assigned_at)
    exp = pd.DataFrame({
        "revenue": m.amount.where(inside, 0.0).groupby(m.customer_id).sum(),
        "orders": m.order_id.where(inside & (m.amount > 0)).groupby(m.customer_id).nunique(),
        "pre_revenue": m.amount.where(before, 0.0).groupby(m.customer_id).sum()}).sort_index()
    assert len(got) == len(a) and found.quarantine.empty
    assert got["orders"].tolist() == exp["orders"].tolist()
    assert got["converted"].tolist() == (exp["orders"] > 0).astype(int).tolist()
    np.testing.assert_allclose(got["revenue"], exp["revenue"], rtol=1e-12)
    np.testing.assert_allclose(got["pre_revenue"], exp["pre_revenue"], rtol=1e-12)
    # the readout on the log equals the readout on the table computed by pandas
    table = a.set_index("customer_id").join(exp).reset_index()
    table["converted"] = (table["orders"] > 0).astype(int)
    via_log = readout_from_log(a, tx, control="control", window_days=14,
                               observation_end="2024-04-30").to_frame()
    direct = readout(table, arm="arm", control="control",
                     metrics=["converted", "orders", "revenue"]).to_frame()
    pd.testing.assert_frame_equal(via_log, direct, rtol=1e-10)
    # the simulated effect: 0.6 vs 0.4 purchases per 14 days
    orders = via_log.set_index("metric").loc["orders"]
    assert orders.absolute_ci_low < 0.2 < orders.absolute_ci_high


def test_readout_from_log_counts_quarantine(small):
    a, tx = small
    extra = pd.DataFrame({"customer_id": [f"x{i}" for i in range(6)], "arm": list("ABABAB"),
                          "assigned_at": pd.Timestamp("2024-01-01")})
    more = pd.DataFrame({  # pre-period orders (Dec) and window orders (Jan) of x0..x5
        "customer_id": ["x0", "x1", "x1", "x2", "x4", "x4", "x4", "x1", "x5"],
        "order_id": [f"p{i}" for i in range(9)],
        "order_ts": pd.to_datetime(["2023-12-10", "2023-12-11", "2023-12-28", "2023-12-15",
                                    "2023-12-03", "2023-12-04", "2023-12-05", "2024-01-05",
                                    "2024-01-09"]),
        "amount": [5.0, 4.0, 9.0, 20.0, 1.0, 2.0, 2.5, 8.0, 12.0]})
    r = readout_from_log(pd.concat([a, extra], ignore_index=True),
                         pd.concat([tx, more], ignore_index=True), control="A",
                         window_days=14, pre_days=30, correction="none")
    assert len(r.quarantine) == 6 and r.srm.observed == (5, 5)
    assert r.notes[0].startswith("quarantined") and "window_not_observed" in r.notes[0]
    assert "outcomes over 14 days after each assignment, pre-period 30 days" in r.notes[-1]
    assert "CUPED on pre_orders" in r.to_frame()["adjustment"].iloc[0]


def test_bad_assignment_input(small):
    a, tx = small
    with pytest.raises(InputError, match="'assigned_at' must be a date or timestamp"):
        outcomes_from_log(a.assign(assigned_at="2024-01-01"), tx, window_days=14)
    with pytest.raises(InputError, match=r"assignment column\(s\) \['group'\] not found"):
        outcomes_from_log(a, tx, window_days=14, arm="group")
    with pytest.raises(InputError, match="window_days=0 must be a whole number"):
        outcomes_from_log(a, tx, window_days=0)
    with pytest.raises(InputError, match=r"the transaction log lacks \['amount'\]"):
        outcomes_from_log(a, tx.drop(columns="amount"), window_days=14)


def _unequal_design(rng, n=2_000, treated_share=0.7):
    """n customers assigned 70/30 by design; each buys once in the window with prob. 0.3."""
    ids = np.array([f"u{i}" for i in range(n)])
    arm = np.where(rng.random(n) < treated_share, "offer", "control")
    a = pd.DataFrame({"customer_id": ids, "arm": arm,
                      "assigned_at": pd.Timestamp("2024-03-01"),
                      "share": np.where(arm == "offer", treated_share, 1 - treated_share)})
    buys = rng.random(n) < 0.3
    tx = pd.DataFrame({"customer_id": ids[buys], "order_id": [f"o{i}" for i in range(buys.sum())],
                       "order_ts": pd.Timestamp("2024-03-05"), "amount": 10.0})
    tail = pd.DataFrame({"customer_id": ["late"], "order_id": ["end"],
                         "order_ts": [pd.Timestamp("2024-04-30")], "amount": [1.0]})
    return a, pd.concat([tx, tail], ignore_index=True)


def test_designed_shares_come_from_the_assignment_file(rng):
    """A 70/30 design: with the file's share column the SRM test uses 0.7/0.3 (no alarm;
    its χ² equals scipy's against the designed counts); without it, equal shares are assumed
    and the 70/30 split is (rightly, for that assumption) an alarm."""
    from scipy.stats import chisquare

    a, tx = _unequal_design(rng)
    found = outcomes_from_log(a, tx, window_days=14)
    assert found.designed_shares == pytest.approx({"control": 0.3, "offer": 0.7})
    res = readout_from_log(a, tx, control="control", window_days=14)
    counts = a["arm"].value_counts().reindex(["control", "offer"]).to_numpy()
    want = chisquare(counts, f_exp=counts.sum() * np.array([0.3, 0.7]))
    assert res.srm.chi2 == pytest.approx(want.statistic, rel=1e-9)
    assert not res.srm.alert
    assert any("designed shares" in n for n in res.notes)
    res_equal = readout_from_log(a.drop(columns="share"), tx, control="control", window_days=14)
    assert res_equal.srm.alert
    # an explicit shares= wins over the file
    res_given = readout_from_log(a, tx, control="control", window_days=14,
                                 shares={"control": 0.5, "offer": 0.5})
    assert res_given.srm.alert


def test_designed_shares_must_be_one_per_arm(rng):
    a, tx = _unequal_design(rng, n=200)
    a.loc[a.index[:3], "share"] = 0.55
    with pytest.raises(InputError, match="one designed share"):
        outcomes_from_log(a, tx, window_days=14)
    a, tx = _unequal_design(rng, n=200)
    a["share"] = 0.6
    with pytest.raises(InputError, match=r"add up to 1\.2"):
        outcomes_from_log(a, tx, window_days=14)


def test_assignments_whose_window_the_log_does_not_cover(small):
    """Assignments after the outcome window the log covers: counted in the quarantine with
    the reason; when no row is left, one message says why and how to fix it."""
    a, tx = small
    found = outcomes_from_log(a, tx, window_days=14)
    late = found.quarantine[found.quarantine["reason"] == "window_not_observed"]
    assert late["customer_id"].tolist() == ["9"]  # assigned Jan 25 + 14 days > Jan 30
    only_late = a.assign(assigned_at=pd.Timestamp("2024-02-01")).drop_duplicates(
        "customer_id").dropna(subset=["customer_id"])
    with pytest.raises(InputError, match=(
            r"every one of the 7 assignment rows was quarantined \(7 window_not_observed\); "
            r"nothing is left to read out\. 7 assignments have an outcome window of 14 days "
            r"that ends after the log's last day, 2024-01-30, .*\(customer_id 1, 2, 3, 4, 5;"
            r".*shorten window_days= / --window-days")):
        readout_from_log(only_late, tx, control="A", window_days=14)
    with pytest.raises(InputError, match="the assignment file has no rows"):
        outcomes_from_log(a.iloc[:0], tx, window_days=14)


def test_assigned_ids_absent_from_the_log_are_stated_or_refused(small):
    """Ids that never appear in the log read as non-buyers: said with the count and the
    first ids (x3 of the six extra customers never bought); when none of the ids is in the
    log (e.g. written with another prefix) every outcome would be 0: refused."""
    a, tx = small
    kept = a[a["customer_id"].isin(["1", "2", "3", "4"])]
    extra = pd.DataFrame({"customer_id": ["x0", "x3"], "arm": ["A", "B"],
                          "assigned_at": pd.Timestamp("2024-01-01")})
    more = pd.DataFrame({"customer_id": ["x0"], "order_id": ["p0"],
                         "order_ts": pd.to_datetime(["2024-01-05"]), "amount": [5.0]})
    found = outcomes_from_log(pd.concat([kept, extra], ignore_index=True),
                              pd.concat([tx, more], ignore_index=True), window_days=14)
    assert found.notes == ("1 of 6 assigned customers never appear in the log (e.g. 'x3'): "
                           "they count as non-buyers (0 orders, 0 revenue). Expected for "
                           "customers who never bought; if their ids are written otherwise "
                           "in the log, fix them first.",)
    row = found.table.to_pyarrow().to_pandas().set_index("customer_id").loc["x3"]
    assert (row["orders"], row["revenue"], row["converted"]) == (0, 0.0, 0)
    r = readout_from_log(pd.concat([kept, extra], ignore_index=True),
                         pd.concat([tx, more], ignore_index=True), control="A",
                         window_days=14, correction="none")
    assert found.notes[0] in r.notes
    renamed = kept.assign(customer_id="C" + kept["customer_id"])
    with pytest.raises(InputError, match=r"none of the 4 assigned customers appears in the "
                                         r"transaction log \(e\.g\. 'C1', 'C2', 'C3', 'C4'\)"):
        outcomes_from_log(renamed, tx, window_days=14)
    assert outcomes_from_log(kept, tx, window_days=14).notes == ()
