"""BTYD summary on the CDNOW 1/10 sample: published figures, lifetimes' definition, invariants.

Published set-up (Fader, Hardie & Lee 2005; datasets/README.md): 2,357 customers, calibration
1997-01-01 .. 1997-09-30 (39 weeks), holdout to 1998-06-30, time unit = week (days / 7).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from valuemax.features import calibration_holdout, customer_table

CAL_END = dt.date(1997, 9, 30)
OBS_END = dt.date(1998, 6, 30)


def frame(expr) -> pd.DataFrame:
    """Execute through Arrow, sorted by customer (ibis' pandas conversion warns on pandas 3)."""
    out = expr.to_pyarrow().to_pandas()
    return out.sort_values("customer_id", ignore_index=True)


@pytest.fixture(scope="module")
def lines(cdnow) -> pd.DataFrame:
    """The 6,919 raw lines as pandas (customer level checks only; fine in a test)."""
    df = cdnow.select("customer_id", "order_ts", "amount").to_pyarrow().to_pandas()
    assert len(df) == 6_919
    return df.assign(day=df["order_ts"].dt.normalize())


def lifetimes_summary(df: pd.DataFrame, end: dt.date, days_per_unit: int) -> pd.DataFrame:
    """lifetimes' summary_data_from_transaction_data(freq="D", freq_multiplier=k), re-done.

    Sum spend per customer and day; frequency = days - 1; recency/T from the first day in days
    / k; monetary_value = mean of the daily sums after dropping each customer's first day,
    0 for customers without repeat days.
    """
    end_ts = pd.Timestamp(end)
    daily = df.groupby(["customer_id", "day"], as_index=False)["amount"].sum()
    g = daily.groupby("customer_id")
    first, last, n = g["day"].min(), g["day"].max(), g.size()
    repeat = daily[daily["day"] != daily["customer_id"].map(first)]
    monetary = repeat.groupby("customer_id")["amount"].mean().reindex(first.index, fill_value=0)
    return pd.DataFrame(
        {
            "frequency": n - 1,
            "recency": (last - first).dt.days / days_per_unit,
            "T": (end_ts - first).dt.days / days_per_unit,
            "monetary_value": monetary,
        }
    ).reset_index()


@pytest.fixture(scope="module")
def cal_w(cdnow) -> pd.DataFrame:
    return frame(
        calibration_holdout(cdnow, calibration_end=CAL_END, observation_end=OBS_END, time_unit="W")
    )


def test_published_calibration_summary(cal_w):
    assert len(cal_w) == 2_357
    assert int((cal_w["frequency"] == 0).sum()) == 1_411
    assert int((cal_w["frequency"] > 0).sum()) == 946  # Gamma-Gamma sample of FHL (2005)
    first = cal_w.set_index("customer_id").loc["00004"]  # customer_index 0001
    assert first["frequency"] == 2
    assert round(first["recency"], 2) == 30.43  # 1997-01-01 .. 1997-08-02 = 213 days
    assert round(first["T"], 2) == 38.86  # 1997-01-01 .. 1997-09-30 = 272 days
    # holdout: one purchase on 1997-12-12 for 26.48; 273 days = 39 weeks
    assert first["frequency_holdout"] == 1
    assert first["monetary_holdout"] == pytest.approx(26.48, rel=1e-12)
    assert first["duration_holdout"] == pytest.approx(39.0, rel=1e-12)
    assert (cal_w["duration_holdout"] == first["duration_holdout"]).all()
    # repeat days in calibration: 1997-01-18 (29.73) and 1997-08-02 (14.96)
    assert first["monetary_value"] == pytest.approx((29.73 + 14.96) / 2, rel=1e-12)


def test_calibration_holdout_matches_lifetimes_definition(cal_w, lines):
    cal = lines[lines["day"] <= pd.Timestamp(CAL_END)]
    exp = lifetimes_summary(cal, CAL_END, 7)
    hold = lines[lines["day"] > pd.Timestamp(CAL_END)]
    hold_daily = hold.groupby(["customer_id", "day"], as_index=False)["amount"].sum()
    hg = hold_daily.groupby("customer_id")["amount"]
    exp = exp.merge(
        pd.DataFrame({"frequency_holdout": hg.size(), "monetary_holdout": hg.mean()}),
        left_on="customer_id",
        right_index=True,
        how="left",
    ).fillna({"frequency_holdout": 0, "monetary_holdout": 0.0})
    exp = exp.sort_values("customer_id", ignore_index=True)
    assert cal_w["customer_id"].tolist() == exp["customer_id"].tolist()
    np.testing.assert_array_equal(cal_w["frequency"], exp["frequency"])
    np.testing.assert_array_equal(cal_w["frequency_holdout"], exp["frequency_holdout"])
    for col in ("recency", "T", "monetary_value", "monetary_holdout"):
        np.testing.assert_allclose(cal_w[col], exp[col], rtol=1e-12, atol=1e-12, err_msg=col)


def test_full_period_table_matches_pandas(cdnow, lines):
    out = frame(customer_table(cdnow, observation_end=OBS_END, time_unit="D"))
    exp = lifetimes_summary(lines, OBS_END, 1).sort_values("customer_id", ignore_index=True)
    assert out["customer_id"].tolist() == exp["customer_id"].tolist()
    np.testing.assert_array_equal(out["frequency"], exp["frequency"])
    for col in ("recency", "T", "monetary_value"):
        np.testing.assert_allclose(out[col], exp[col], rtol=1e-12, atol=1e-12, err_msg=col)
    g = lines.groupby("customer_id")
    rfm = pd.DataFrame(
        {
            "n_lines": g.size(),
            "total_spend": g["amount"].sum(),
            "first_purchase": g["day"].min().dt.date,
            "last_purchase": g["day"].max().dt.date,
        }
    ).sort_index()
    # order_id is NULL on CDNOW: every line is its own order
    np.testing.assert_array_equal(out["n_orders"], rfm["n_lines"])
    np.testing.assert_array_equal(out["n_lines"], rfm["n_lines"])
    assert int(out["n_lines"].sum()) == 6_919
    np.testing.assert_allclose(out["total_spend"], rfm["total_spend"], rtol=1e-12)
    np.testing.assert_allclose(
        out["avg_order_value"], rfm["total_spend"] / rfm["n_lines"], rtol=1e-12
    )
    assert out["first_purchase"].tolist() == rfm["first_purchase"].tolist()
    assert out["last_purchase"].tolist() == rfm["last_purchase"].tolist()
    ends = pd.Timestamp(OBS_END) - pd.to_datetime(rfm["last_purchase"])
    np.testing.assert_array_equal(out["recency_days"], ends.dt.days)
    np.testing.assert_array_equal(out["tenure_days"], out["T"].astype("int64"))  # D: T in days


# ---------------------------------------------------------------- invariants


def test_invariants(cal_w):
    assert (cal_w["recency"] >= 0).all()
    assert (cal_w["recency"] <= cal_w["T"]).all()
    zero = cal_w["frequency"] == 0
    assert (cal_w.loc[zero, "recency"] == 0).all()
    assert (cal_w.loc[zero, "monetary_value"] == 0).all()
    assert (cal_w.loc[~zero, "recency"] > 0).all()
    assert (cal_w["frequency_holdout"] >= 0).all()
    assert ((cal_w["frequency_holdout"] == 0) == (cal_w["monetary_holdout"] == 0)).all()


def test_weeks_are_days_over_seven(cdnow, cal_w):
    cal_d = frame(
        calibration_holdout(cdnow, calibration_end=CAL_END, observation_end=OBS_END, time_unit="D")
    )
    for col in ("recency", "T", "duration_holdout"):
        np.testing.assert_allclose(cal_w[col], cal_d[col] / 7, rtol=1e-15, err_msg=col)
    same = [c for c in cal_d.columns if c not in ("recency", "T", "duration_holdout")]
    pd.testing.assert_frame_equal(cal_w[same], cal_d[same])


def test_shuffled_log_gives_the_same_table(duck, cdnow, cal_w):
    arrow = cdnow.to_pyarrow()
    order = np.random.default_rng(0).permutation(arrow.num_rows)
    shuffled = duck.create_table("cdnow_shuffled", arrow.take(pa.array(order)))
    again = frame(
        calibration_holdout(
            shuffled, calibration_end=CAL_END, observation_end=OBS_END, time_unit="W"
        )
    )
    pd.testing.assert_frame_equal(again, cal_w, check_exact=False, rtol=1e-12)
