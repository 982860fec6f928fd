"""Daily repeat purchases of the calibration cohort (the tracking plot's actual series)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from valuemax.exceptions import InputError
from valuemax.features import calibration_holdout, repeat_purchase_days

CAL_END = dt.date(1997, 9, 30)
OBS_END = dt.date(1998, 6, 30)


@pytest.fixture(scope="module")
def daily(cdnow):
    out = repeat_purchase_days(cdnow, cohort_end=CAL_END, observation_end=OBS_END)
    return out.to_pyarrow().to_pandas()


def test_totals_equal_the_calibration_and_holdout_counts(cdnow, daily):
    cal = calibration_holdout(cdnow, calibration_end=CAL_END, observation_end=OBS_END,
                              time_unit="W").to_pyarrow().to_pandas()
    in_cal = daily.loc[daily["day"] <= CAL_END, "n_repeat"].sum()
    in_holdout = daily.loc[daily["day"] > CAL_END, "n_repeat"].sum()
    assert in_cal == cal["frequency"].sum()
    assert in_holdout == cal["frequency_holdout"].sum()
    assert daily["day"].is_monotonic_increasing and daily["day"].is_unique


def test_customers_first_seen_after_the_cohort_end_are_left_out(cdnow):
    early = repeat_purchase_days(cdnow, cohort_end=dt.date(1997, 1, 5), observation_end=OBS_END)
    late = repeat_purchase_days(cdnow, cohort_end=CAL_END, observation_end=OBS_END)
    n_early = int(early.n_repeat.sum().to_pyarrow().as_py())
    n_late = int(late.n_repeat.sum().to_pyarrow().as_py())
    assert 0 < n_early < n_late


def test_lines_after_the_observation_end_are_refused(cdnow):
    with pytest.raises(InputError, match="after"):
        repeat_purchase_days(cdnow, cohort_end=CAL_END, observation_end=dt.date(1997, 6, 30))


@pytest.mark.parametrize("log, cal_end, obs_end, unit", [
    ("cdnow", CAL_END, OBS_END, "W"),
    ("retail", dt.date(2011, 6, 30), dt.date(2011, 12, 9), "D"),
])
@pytest.mark.parametrize("money", [True, False])
def test_btyd_calibration_equals_the_two_tables_it_replaces(request, log, cal_end, obs_end,
                                                            unit, money):
    """The value step's calibration columns and tracking data from one table of purchase
    days: equal, value for value and row for row, to calibration_holdout's columns and
    repeat_purchase_days (CDNOW sample: no order ids; Online Retail: orders of many lines,
    several orders a day)."""
    from valuemax.features._holdout import btyd_calibration

    tx = request.getfixturevalue(log)  # money=False: amount left unread
    table, tracking = btyd_calibration(tx, calibration_end=cal_end, observation_end=obs_end,
                                       time_unit=unit, money=money)
    got = table.to_pyarrow()
    full = calibration_holdout(tx, calibration_end=cal_end, observation_end=obs_end,
                               time_unit=unit, money=money).to_pyarrow()
    expected = ["customer_id", "first_purchase", "frequency", "recency", "T"] \
        + (["monetary_value"] if money else []) + ["frequency_holdout", "duration_holdout"]
    assert got.column_names == expected
    assert got.num_rows == full.num_rows > 1_000
    for name in expected:
        assert got[name].equals(full[name]), name
    daily = repeat_purchase_days(tx, cohort_end=cal_end, observation_end=obs_end,
                                 money=money).to_pyarrow()
    assert tracking.to_pyarrow().equals(daily)
    assert sum(got["frequency"].to_pylist()) > 0 and sum(got["frequency_holdout"].to_pylist()) > 0
    # the value step's path: the purchase days kept once in a working table that both
    # queries read (then dropped), the same frames bit for bit
    from valuemax.pipeline._value import _DAYS_TABLE, _calibration_frames

    con = request.getfixturevalue("duck")
    cal, days = _calibration_frames(con, tx, cal_end, obs_end, unit, money)
    assert _DAYS_TABLE not in con.list_tables()
    pd.testing.assert_frame_equal(cal, got.to_pandas(), check_exact=True)
    pd.testing.assert_frame_equal(days, daily.to_pandas(), check_exact=True)
