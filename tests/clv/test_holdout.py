"""holdout_validation and tracking_curve on CDNOW (39-week calibration + 39-week holdout).

Holdout = 1997-10-01 .. 1998-06-30 (273 days = 39 weeks); holdout purchases are distinct
purchase days, the same counting rule as the calibration summary in conftest.py. Predictions
use the published BG/NBD of Fader, Hardie & Lee (2005); every figure is recomputed here
independently from the model's per-customer expectations and from the log.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from valuemax.clv import BetaGeoModel, HoldoutValidation, holdout_validation, tracking_curve
from valuemax.exceptions import InputError

from .conftest import CALIBRATION_END

HOLDOUT_END = pd.Timestamp("1998-06-30")
START = pd.Timestamp("1997-01-01")
BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


@pytest.fixture(scope="module")
def cdnow_holdout(cdnow_tx, cdnow_rfm) -> pd.Series:
    hold = cdnow_tx[(cdnow_tx["date"] > CALIBRATION_END) & (cdnow_tx["date"] <= HOLDOUT_END)]
    days = hold.groupby("customer_id")["date"].nunique()
    return days.reindex(cdnow_rfm.index, fill_value=0).astype(np.int64)


def test_cdnow_holdout_against_independent_computation(cdnow_rfm, cdnow_holdout):
    assert (HOLDOUT_END - CALIBRATION_END).days == 273  # 39 weeks
    m = BetaGeoModel.from_params(**BG)
    x, t_x, T = cdnow_rfm["frequency"], cdnow_rfm["recency"], cdnow_rfm["T"]
    v = holdout_validation(m, x, t_x, T, cdnow_holdout, 39.0)
    assert isinstance(v, HoldoutValidation)
    # the log: 1,882 repeat purchase days in weeks 40-78 (1,959 lines)
    assert v.actual_total == 1882 == int(cdnow_holdout.sum())
    predicted = m.expected_purchases(39.0, x, t_x, T)
    assert v.predicted_total == pytest.approx(float(predicted.sum()), rel=1e-12)
    assert v.predicted_total == pytest.approx(1653.94, abs=0.01)
    naive = x / T * 39.0
    assert v.naive_total == pytest.approx(float(naive.sum()), rel=1e-12)
    err = predicted - cdnow_holdout
    assert v.mae == pytest.approx(float(np.abs(err).mean()), rel=1e-12)
    assert v.rmse == pytest.approx(float(np.sqrt((err**2).mean())), rel=1e-12)
    assert v.naive_mae == pytest.approx(float(np.abs(naive - cdnow_holdout).mean()), rel=1e-12)
    assert v.mae == pytest.approx(0.7856, abs=1e-4)  # naive: 1.0237
    assert v.mae < v.naive_mae and v.rmse < v.naive_rmse  # the model beats the naive rate
    assert v.customers.index.equals(cdnow_rfm.index)
    assert list(v.customers.columns) == ["frequency_cal", "actual", "predicted", "naive"]


def test_cdnow_conditional_expectations_by_frequency(cdnow_rfm, cdnow_holdout):
    m = BetaGeoModel.from_params(**BG)
    x, t_x, T = cdnow_rfm["frequency"], cdnow_rfm["recency"], cdnow_rfm["T"]
    v = holdout_validation(m, x, t_x, T, cdnow_holdout, 39.0)
    table = v.by_frequency
    assert table["frequency_cal"].tolist() == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert list(table.columns) == ["frequency_cal", "n_customers", "actual_mean",
                                   "predicted_mean", "naive_mean"]
    predicted = m.expected_purchases(39.0, x, t_x, T)
    for label, row in zip(table["frequency_cal"], table.itertuples(index=False), strict=True):
        mask = x >= 7 if label == "7+" else x == int(label)
        assert row.n_customers == int(mask.sum())
        assert row.actual_mean == pytest.approx(cdnow_holdout[mask].mean(), rel=1e-12)
        assert row.predicted_mean == pytest.approx(predicted[mask].mean(), rel=1e-12)
    assert table["n_customers"].sum() == 2357
    assert table["n_customers"].iloc[0] == 1411
    # FHL (2005) Fig. 5: the model tracks the actual means; measured here for x = 0 and 7+
    assert table["actual_mean"].iloc[0] == pytest.approx(0.2367, abs=1e-4)
    assert table["predicted_mean"].iloc[0] == pytest.approx(0.2255, abs=1e-4)
    assert table["actual_mean"].iloc[-1] == pytest.approx(6.3594, abs=1e-4)
    assert table["predicted_mean"].iloc[-1] == pytest.approx(6.1571, abs=1e-4)
    out = v.to_dict()
    json.dumps(out)
    assert out["actual_total"] == 1882.0 and len(out["by_frequency"]) == 8
    assert out["by_frequency"][-1]["frequency_cal"] == "7+"


def test_per_customer_duration_and_empty_bins_left_out():
    m = BetaGeoModel.from_params(**BG)
    idx = pd.Index([10, 11, 12], name="customer_id")
    x = pd.Series([0, 3, 9], index=idx)
    v = holdout_validation(m, x, [0.0, 20.0, 30.0], [39.0, 30.0, 35.0], [1, 0, 4],
                           np.array([39.0, 20.0, 10.0]), max_frequency=3)
    assert v.by_frequency["frequency_cal"].tolist() == ["0", "3+"]
    assert v.by_frequency["n_customers"].tolist() == [1, 2]
    np.testing.assert_allclose(v.customers["naive"], [0.0, 3 / 30 * 20, 9 / 35 * 10])
    np.testing.assert_allclose(
        v.customers["predicted"],
        [m.expected_purchases(d, [f], [r], [a])[0] for d, f, r, a in
         [(39.0, 0, 0.0, 39.0), (20.0, 3, 20.0, 30.0), (10.0, 9, 30.0, 35.0)]])
    assert v.customers.index.equals(idx)


@pytest.mark.parametrize(("holdout", "duration", "kw", "match"), [
    ([1, -1], 39.0, {}, "frequency_holdout is negative or not an integer for 1 of 2"),
    ([1, 0.5], 39.0, {}, "frequency_holdout is negative or not an integer"),
    ([1, 0], 0.0, {}, "duration_holdout must be finite and > 0"),
    ([1, 0], [39.0, 39.0, 39.0], {}, "one number per customer"),
    ([1], 39.0, {}, "frequency_holdout has 1 values but frequency_cal has 2"),
    ([1, 0], 39.0, {"max_frequency": 0}, "max_frequency must be an integer >= 1"),
])
def test_bad_inputs(holdout, duration, kw, match):
    m = BetaGeoModel.from_params(**BG)
    with pytest.raises(InputError, match=match):
        holdout_validation(m, [1, 0], [5.0, 0.0], [10.0, 10.0], holdout, duration, **kw)


def test_misaligned_series_raise(cdnow_rfm, cdnow_holdout):
    m = BetaGeoModel.from_params(**BG)
    shuffled = cdnow_holdout.sample(frac=1.0, random_state=0)
    with pytest.raises(InputError, match="different indexes"):
        holdout_validation(m, cdnow_rfm["frequency"], cdnow_rfm["recency"], cdnow_rfm["T"],
                           shuffled, 39.0)


def test_tracking_curve_at_calibration_end_is_sum_of_expectations(cdnow_tx, cdnow_rfm):
    m = BetaGeoModel.from_params(**BG)
    cal = cdnow_tx[cdnow_tx["date"] <= CALIBRATION_END]
    first = cal.groupby("customer_id")["date"].min().reindex(cdnow_rfm.index)
    birth = (first - START).dt.days / 7.0  # weeks since 1997-01-01
    end = (CALIBRATION_END - START).days / 7.0
    curve = tracking_curve(m, birth, [end, end + 39.0])
    assert curve.shape == (2,)
    assert curve[0] == pytest.approx(float(m.expected_purchases_new(cdnow_rfm["T"]).sum()),
                                     rel=1e-12)
    # measured: 2,497.6 expected against 2,457 actual repeat purchase days in weeks 1-39,
    # 4,166.4 expected against 2,457 + 1,882 = 4,339 by the end of week 78
    assert cdnow_rfm["frequency"].sum() == 2457
    assert curve[0] == pytest.approx(2497.56, abs=0.01)
    assert curve[1] == pytest.approx(4166.37, abs=0.01)


def test_tracking_curve_equals_per_customer_loop_and_is_monotone():
    m = BetaGeoModel.from_params(**BG)
    birth = np.array([0.0, 0.0, 2.5, 7.0, 7.0, 12.0])
    ends = np.array([0.0, 1.0, 5.0, 7.0, 10.0, 20.0, 52.0])
    loop = [sum(float(m.expected_purchases_new(max(0.0, e - b))) for b in birth) for e in ends]
    curve = tracking_curve(m, birth, ends)
    np.testing.assert_allclose(curve, loop, rtol=1e-12)
    assert curve[0] == 0.0 and (np.diff(curve) > 0).all()
    with pytest.raises(InputError, match="birth is NaN or infinite"):
        tracking_curve(m, [0.0, np.nan], ends)
    with pytest.raises(InputError, match="got 0 customers"):
        tracking_curve(m, [], ends)
