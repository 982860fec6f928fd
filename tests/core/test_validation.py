"""One validation vocabulary (issue 11): one exception type and one wording per kind."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from valuemax._core.validation import (
    check_choice,
    check_date,
    check_in_interval,
    check_time_unit,
    check_whole_number,
)
from valuemax.clv import BetaGeoModel, GammaGammaModel, clv_table
from valuemax.exceptions import InputError
from valuemax.pipeline import analyze, customer_value

TIME_UNIT_WORDING = ("time_unit='M' is not a valid option; choose one of 'D', 'W' "
                     "(D = days, W = weeks of 7 days: durations are days / 7)")


def test_every_time_unit_check_says_the_same_thing(tx_small):
    """The five places that validated time_unit (three wordings, two types) now agree."""
    from valuemax.features._validation import days_per_unit

    calls = [
        lambda: analyze(tx_small, out=None, time_unit="M"),
        lambda: customer_value(tx_small, time_unit="M"),
        lambda: days_per_unit("M"),
        lambda: BetaGeoModel(time_unit="M").fit([0, 1], [0.0, 1.0], [2.0, 2.0]),
    ]
    for call in calls:
        with pytest.raises(InputError) as info:
            call()
        assert str(info.value).endswith(TIME_UNIT_WORDING), str(info.value)
    # the fifth: a fitted model whose unit is not one of ours, named as its attribute
    model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    model.time_unit_ = "M"
    spend = GammaGammaModel.from_params(p=6.25, q=3.74, gamma=15.44)
    with pytest.raises(InputError, match=r"purchase_model.time_unit_='M' is not a valid "
                                         r"option; .*\. Pass freq_multiplier"):
        clv_table(model, spend, [1], [2.0], [5.0], [10.0])


def test_choice_matches_values_of_its_own_type_only():
    assert check_choice("adjust", None, (None, "holm")) is None
    assert check_choice("method", np.str_("holm"), ("holm",)) == "holm"
    for bad in (True, 1, "HOLM", ["holm"]):
        with pytest.raises(InputError, match=r"is not a valid option; choose one of "
                                             r"None, 'holm'$"):
            check_choice("adjust", bad, (None, "holm"))
    with pytest.raises(InputError, match=r"^f: k=True is not a valid option; choose one of "
                                         r"1, 2 \(clusters\)\. Pass k=None$"):
        check_choice("k", True, (1, 2), who="f", explain="clusters", fix="Pass k=None")


@pytest.mark.parametrize("value", ["2011-12-09", " 2011-12-09 ", "2011-12-09 00:00:00",
                                   "2011-12-09T00:00", dt.date(2011, 12, 9),
                                   dt.datetime(2011, 12, 9), pd.Timestamp("2011-12-09")])
def test_a_whole_day_in_any_lossless_form(value):
    assert check_date("observation_end", value) == dt.date(2011, 12, 9)


@pytest.mark.parametrize(("value", "message"), [
    ("20111209", r"'20111209' is not a date YYYY-MM-DD"),  # fromisoformat would take it
    ("2011-02-30", r"'2011-02-30' is not a date YYYY-MM-DD"),
    ("09/12/2011", r"is not a date YYYY-MM-DD; expected an ISO date such as '2011-12-09'"),
    ("2011-12-09 18:30", r"has a time of day \(18:30:00\).*Pass the date, "
                         r"calibration_end='2011-12-09'"),
    (pd.Timestamp("2011-12-09 00:00:00.000000001"), r"has a time of day"),
    (dt.datetime(2011, 12, 9, tzinfo=dt.UTC), r"has a time zone.*calibration_end='2011-12-09'"),
    (20111209, r"must be a date \('YYYY-MM-DD' string or datetime.date\); got int 20111209"),
    (None, r"must be a date"),
])
def test_a_date_that_would_lose_information_is_refused(value, message):
    with pytest.raises(InputError, match=message):
        check_date("calibration_end", value)


def test_none_is_a_date_only_where_it_means_something():
    assert check_date("observation_end", None, none="the last transaction's date") is None
    with pytest.raises(InputError, match=r"or None for the last transaction's date"):
        check_date("observation_end", "tomorrow", none="the last transaction's date")


@pytest.mark.parametrize(("interval", "inside", "outside"), [
    ("[0, 1)", [0, 0.5, 0.999], [1, -1e-12, 1.5]),
    ("(0, 1]", [1e-12, 1, np.float64(0.3)], [0, 1.0000001]),
    ("(0, 1)", [0.05, 0.95], [0.0, 1.0, 95]),
])
def test_numbers_inside_and_outside_each_kind_of_interval(interval, inside, outside):
    for value in inside:
        assert check_in_interval("x", value, interval) == pytest.approx(float(value))
    for value in [*outside, float("nan"), float("inf"), True, "0.5", None]:
        with pytest.raises(InputError, match=r"^x=.* must be a number "):
            check_in_interval("x", value, interval)


def test_open_intervals_read_as_words():
    with pytest.raises(InputError, match=r"^confidence=95 must be a probability strictly "
                                         r"between 0 and 1 \(e\.g\. 0\.95\)$"):
        check_in_interval("confidence", 95, "(0, 1)", what="a probability", example="e.g. 0.95")


def test_whole_numbers_are_never_truncated():
    assert check_whole_number("n", np.int64(12), 1, 600) == 12
    for bad in (12.0, True, 0, 601, "12"):
        with pytest.raises(InputError, match=r"must be a whole number in 1\.\.600"):
            check_whole_number("n", bad, 1, 600)
    with pytest.raises(InputError, match=r"n=0 must be a whole number >= 1$"):
        check_whole_number("n", 0, 1)


def test_time_unit_is_returned_unchanged():
    assert [check_time_unit(u) for u in ("D", "W")] == ["D", "W"]
