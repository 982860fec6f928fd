"""Point-in-time features and labels: hand-computed values, and no look-ahead."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from valuemax.exceptions import InputError
from valuemax.propensity import build_training_frame

FEATURES_NOT_LABEL = ["origin", "customer_id", "n_orders", "n_lines", "total_spend",
                      "avg_order_value", "recency_days", "tenure_days", "frequency", "recency",
                      "T", "monetary_value", "ipt_mean", "ipt_cv", "spend_last_90d",
                      "spend_prev_90d", "spend_trend", "product_diversity"]


def _log(rows):
    df = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_ts", "amount",
                                     "product_id"])
    return df.assign(order_ts=pd.to_datetime(df["order_ts"], format="ISO8601").astype("datetime64[us]"))


HAND = [
    ("a", "1", "2024-01-01", 10.0, "A"), ("a", "2", "2024-01-11", 20.0, "B"),
    ("a", "3", "2024-01-31 23:59", 30.0, "A"), ("a", "4", "2024-02-20", 5.0, "A"),
    ("b", "5", "2024-01-05", 7.0, "A"), ("b", "6", "2024-02-29", 9.0, "A"),
    ("c", "7", "2024-02-01", 1.0, "C"),
]


def test_features_and_label_by_hand(to_table):
    df = build_training_frame(to_table(_log(HAND)), cutoffs=["2024-02-01"], horizon_days=28,
                              categorical=())
    assert df["customer_id"].tolist() == ["a", "b"]      # c starts on the cutoff: no history
    a, b = df.iloc[0], df.iloc[1]
    # a: purchase days Jan 1, 11, 31 -> gaps 10, 20: mean 15, population SD 5
    assert (a.frequency, a.recency, a["T"], a.recency_days) == (2, 30.0, 31.0, 1)
    assert a.ipt_mean == pytest.approx(15.0) and a.ipt_cv == pytest.approx(5 / 15)
    assert (a.spend_last_90d, a.spend_prev_90d, a.spend_trend) == (60.0, 0.0, 1.0)
    assert a.product_diversity == pytest.approx(2 / 3)
    assert a.monetary_value == pytest.approx(25.0)
    # b: one day, no gaps; bought on 2024-02-29 = cutoff + 28 days, outside [cutoff, +28)
    assert np.isnan(b.ipt_mean) and np.isnan(b.ipt_cv)
    assert (a.label, b.label) == (1, 0)
    assert df["origin"].tolist() == [dt.date(2024, 2, 1)] * 2


def test_label_window_includes_its_first_day(to_table):
    df = build_training_frame(to_table(_log(HAND)), cutoffs=["2024-02-01"], horizon_days=29,
                              categorical=())
    assert df.set_index("customer_id")["label"].to_dict() == {"a": 1, "b": 1}


def _absurd_future(log: pd.DataFrame, cutoff: str, horizon: int) -> pd.DataFrame:
    """50 lines per customer in the label window with absurd values, plus a new customer."""
    cut = pd.Timestamp(cutoff)
    ids = [*list(log["customer_id"].unique()), "zz_new"]
    rows = []
    for k in range(50):
        ts = cut + pd.Timedelta(days=k % horizon, hours=k % 7)
        rows += [(c, f"fut{k}-{c}", ts, 1e9, "ABSURD", "Atlantis") for c in ids]
    fut = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_ts", "amount",
                                      "product_id", "Country"])
    fut["order_ts"] = fut["order_ts"].astype("datetime64[us]")
    return pd.concat([log, fut], ignore_index=True)


def test_no_feature_sees_data_after_its_cutoff(synth, to_table):
    cutoffs, h = ["2022-09-01", "2022-12-01"], 60
    before = build_training_frame(to_table(synth), cutoffs=cutoffs, horizon_days=h)
    after = build_training_frame(to_table(_absurd_future(synth, cutoffs[0], h)),
                                 cutoffs=cutoffs[:1], horizon_days=h,
                                 observation_end="2023-06-24")
    old = before[before["origin"] == dt.date(2022, 9, 1)].reset_index(drop=True)
    assert "Country" in old.columns and len(old) > 200
    pd.testing.assert_frame_equal(after.drop(columns="label"), old.drop(columns="label"))
    # the label does see the window: everyone bought in it now, not so before
    assert after["label"].eq(1).all() and old["label"].mean() < 0.6


def test_no_look_ahead_on_online_retail(retail_clean, to_table):
    tx = retail_clean.transactions
    cols = ["customer_id", "order_id", "order_ts", "amount", "product_id", "Country"]
    log = tx.select(*cols).to_pyarrow().to_pandas()
    before = build_training_frame(tx, cutoffs=["2011-09-09"], horizon_days=90)
    after = build_training_frame(to_table(_absurd_future(log, "2011-09-09", 90)),
                                 cutoffs=["2011-09-09"], horizon_days=90)
    assert len(before) == 3_355
    pd.testing.assert_frame_equal(after[[*FEATURES_NOT_LABEL, "Country"]],
                                  before[[*FEATURES_NOT_LABEL, "Country"]])
    assert before["label"].mean() == pytest.approx(0.5666, abs=1e-4)
    assert after["label"].eq(1).all()


def test_categorical_columns_are_auto_detected_or_given(synth, to_table):
    t = to_table(synth.assign(channel=np.where(synth.index % 4 == 0, "web", "store")))
    auto = build_training_frame(t, cutoffs=["2022-09-01"], horizon_days=30)
    assert {"Country", "channel"} <= set(auto.columns)
    first = synth.sort_values("order_ts").groupby("customer_id")["Country"].first()
    assert (auto.set_index("customer_id")["Country"] == first.loc[auto["customer_id"]]).all()
    none = build_training_frame(t, cutoffs=["2022-09-01"], horizon_days=30, categorical=())
    assert "Country" not in none.columns
    with pytest.raises(InputError, match="for one column write"):
        build_training_frame(t, cutoffs=["2022-09-01"], categorical="Country")
    with pytest.raises(InputError, match="not in the transactions: 'Region'"):
        build_training_frame(t, cutoffs=["2022-09-01"], categorical=["Region"])


def test_return_rate_is_opt_in_and_equals_returned_over_bought(to_table):
    log = _log(HAND).assign(quantity=[4.0, 1, 2, 1, 5, 1, 1],
                            returned_quantity=[1.0, 0, 2, 0, 0, 0, 0])
    t = to_table(log)
    df = build_training_frame(t, cutoffs=["2024-02-01"], horizon_days=28, categorical=(),
                              return_rate=True).set_index("customer_id")
    # a bought 4+1+2 = 7 net units, 3 returned: 3 / (7 + 3)
    assert df.loc["a", "return_rate"] == pytest.approx(0.3)
    assert df.loc["b", "return_rate"] == 0.0
    default = build_training_frame(t, cutoffs=["2024-02-01"], horizon_days=28, categorical=())
    assert "return_rate" not in default.columns


@pytest.mark.parametrize(("cutoff", "match"), [
    ("2024-01-01", "not after the first transaction day"),
    ("2023-06-01", "not after the first transaction day"),
    ("2024-03-01", "after the last transaction day"),
    ("2024-02-15", "runs past the observation end 2024-02-29"),
])
def test_bad_cutoffs(to_table, cutoff, match):
    with pytest.raises(InputError, match=match):
        build_training_frame(to_table(_log(HAND)), cutoffs=[cutoff], horizon_days=28)


def test_bad_arguments(to_table):
    t = to_table(_log(HAND))
    with pytest.raises(InputError, match="horizon_days must be a positive integer"):
        build_training_frame(t, cutoffs=["2024-02-01"], horizon_days=0)
    with pytest.raises(InputError, match="non-empty sequence of dates"):
        build_training_frame(t, cutoffs="2024-02-01")
    with pytest.raises(InputError, match="must be an ibis Table"):
        build_training_frame(_log(HAND), cutoffs=["2024-02-01"])
