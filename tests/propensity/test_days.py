"""Frames from the per-customer-day table equal the per-cutoff frames from the lines.

``fit_propensity`` builds every cutoff's frame from one table of customer-days
(``_days.py``); ``features_at`` (behind ``build_training_frame``) builds it from the lines
with the customer table and the extra-feature queries. The two are computed differently
(distinct counts vs first days, line sums vs day sums, a window per cutoff vs one over all
days), so equal frames, value for value, are a real check of the faster one.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from valuemax.propensity import build_training_frame
from valuemax.propensity._days import active_before, daily_table, frame_at
from valuemax.propensity._frame import features_at


def _awkward(make_synthetic) -> pd.DataFrame:
    """The synthetic log plus lines that exercise the edge cases: NULL order and product
    ids, an order spanning two days, a product bought again, amounts with many decimals,
    several lines on one day, a return (negative amount)."""
    df = make_synthetic(300, seed=4)
    extra = pd.DataFrame({
        "customer_id": ["c0001", "c0001", "c0002", "c0002", "c0002", "c0003", "c0003"],
        "order_id": [None, None, "span", "span", "o-x", "o-y", "o-y"],
        "order_ts": pd.to_datetime(["2022-05-03", "2022-05-03 18:00", "2022-07-30 23:00",
                                    "2022-07-31 01:00", "2022-09-01", "2022-11-11",
                                    "2022-11-11 08:00"], format="ISO8601").astype("datetime64[us]"),
        "amount": [0.1, 0.2, 1e-6, 123456.789012, -4.5, 0.3, 2.0 / 3.0],
        "product_id": [None, "p1", "p1", "p1", None, "p2", "p2"],
        "Country": ["UK", "UK", None, "FR", "FR", "DE", "DE"],
    })
    return pd.concat([df, extra], ignore_index=True)


@pytest.mark.parametrize("cats", [(), ("Country",)])
@pytest.mark.parametrize("money", [True, False])
def test_day_table_frames_equal_line_frames_on_a_synthetic_log(make_synthetic, to_table,
                                                               cats, money):
    t = to_table(_awkward(make_synthetic))
    if not money:
        t = t.drop("amount")
        from valuemax.propensity._frame import check_transactions
        t = check_transactions(t, money=False)
    days = daily_table(t, money=money).cache()
    cutoffs = [dt.date(2022, 3, 1), dt.date(2022, 7, 31), dt.date(2022, 11, 11),
               dt.date(2023, 6, 25)]
    for cut in cutoffs:
        want = features_at(t, cut, categorical=cats, label_days=60, money=money)
        got = frame_at(days, t, cut, categorical=cats, label_days=60, money=money)
        pd.testing.assert_frame_equal(got, want, check_exact=True)
    # the scoring frame (no label) too, and the customer counts behind the sampling choice
    pd.testing.assert_frame_equal(frame_at(days, t, dt.date(2023, 7, 1), categorical=cats,
                                           money=money),
                                  features_at(t, dt.date(2023, 7, 1), categorical=cats,
                                              money=money), check_exact=True)
    assert active_before(days, cutoffs) == [
        len(features_at(t, c, money=money)) for c in cutoffs]


def test_day_table_frames_equal_line_frames_on_online_retail(retail_clean):
    """Online Retail (returns netted, Country, product codes): two cutoffs, with labels."""
    t = retail_clean.transactions
    days = daily_table(t).cache()
    for cut in (dt.date(2011, 6, 11), dt.date(2011, 9, 9)):
        want = features_at(t, cut, categorical=("Country",), label_days=90)
        got = frame_at(days, t, cut, categorical=("Country",), label_days=90)
        assert len(got) > 2_000
        pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_build_training_frame_equals_the_line_frames(make_synthetic, to_table):
    """The public builder (day table) gives the frames of ``features_at`` (lines) at several
    cutoffs, ``origin`` first; with ``return_rate`` the units are summed per day then over
    days, equal to the line sums for whole units."""
    log = _awkward(make_synthetic)
    rng = np.random.default_rng(3)
    qty = rng.integers(1, 6, len(log)).astype(float)
    log = log.assign(quantity=qty, returned_quantity=np.minimum(
        qty, rng.integers(0, 3, len(log)) * (rng.random(len(log)) < 0.2)).astype(float))
    t = to_table(log)
    cutoffs = [dt.date(2022, 7, 31), dt.date(2022, 11, 11)]
    for rr in (False, True):
        got = build_training_frame(t, cutoffs=cutoffs, horizon_days=60,
                                   categorical=("Country",), return_rate=rr)
        want = pd.concat([features_at(t, c, categorical=("Country",), label_days=60,
                                      return_rate=rr).assign(origin=c) for c in cutoffs],
                         ignore_index=True)
        want = want[["origin", *want.columns[:-1]]]
        assert ("return_rate" in got.columns) is rr
        if rr:
            assert got["return_rate"].notna().sum() > 200
        pd.testing.assert_frame_equal(got, want, check_exact=True)


@pytest.mark.parametrize("cats", [(), ("Country",)])
def test_frames_at_equals_the_frames_of_each_cutoff_concatenated(make_synthetic, to_table,
                                                                 cats):
    """The training rows of every origin from one query equal, bit for bit, the frame of
    each origin built alone and concatenated (the way they were built before)."""
    from valuemax.propensity._days import frames_at

    t = to_table(_awkward(make_synthetic))
    days = daily_table(t).cache()
    cutoffs = [dt.date(2023, 3, 1), dt.date(2022, 11, 11), dt.date(2022, 7, 31)]
    want = pd.concat([frame_at(days, t, c, categorical=cats, label_days=60).assign(origin=c)
                      for c in cutoffs], ignore_index=True)
    got = frames_at(days, t, cutoffs, categorical=cats, label_days=60)
    assert len(got) > 300 and got["label"].nunique() == 2
    pd.testing.assert_frame_equal(got, want, check_exact=True)
