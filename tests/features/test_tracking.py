"""Daily repeat purchases of the calibration cohort (the tracking plot's actual series)."""

from __future__ import annotations

import datetime as dt

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
