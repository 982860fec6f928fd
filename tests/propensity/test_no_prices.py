"""Propensity on a log without prices (``money=False``): no spend feature, the same labels.

The no-price log is the seeded synthetic log written to CSV without its amount column and
read and cleaned as the pipeline does (``ParsePlan.amount_from == "none"``: ``amount`` NULL
on every line). Buying again needs no price, so its labels must equal those of the same log
with prices, and those counted directly in pandas.
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest

from valuemax.clean import clean
from valuemax.exceptions import InputError
from valuemax.io import read_transactions
from valuemax.propensity import SeparationWarning, build_training_frame, fit_propensity

#: The spend features (computed from amount), spelled out here rather than imported.
SPEND = {"total_spend", "avg_order_value", "monetary_value", "spend_last_90d",
         "spend_prev_90d", "spend_trend"}
CUTOFFS = ["2022-09-01", "2022-12-01"]
H = 90


@pytest.fixture(scope="module")
def logs(con, make_synthetic, tmp_path_factory):
    """(pandas log, priced clean table, no-price clean result) of one synthetic shop."""
    df = make_synthetic(300, seed=3)
    folder = tmp_path_factory.mktemp("no_prices")
    df.to_csv(folder / "priced.csv", index=False, date_format="%Y-%m-%d %H:%M:%S")
    df.drop(columns="amount").to_csv(folder / "no_prices.csv", index=False,
                                     date_format="%Y-%m-%d %H:%M:%S")
    priced = clean(read_transactions(str(folder / "priced.csv"), con=con,
                                     table_name="np_priced_raw"))
    ing = read_transactions(str(folder / "no_prices.csv"), con=con, table_name="np_none_raw")
    assert ing.plan.amount_from == "none"
    return df, priced, clean(ing)


@pytest.fixture(scope="module")
def no_price_fit(logs):
    _, _, cleaned = logs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SeparationWarning)
        return fit_propensity(cleaned.transactions, horizon_days=H, money=False,
                              observation_end=cleaned.observation_end, random_state=0)


def test_no_price_log_fits_without_spend_features(logs, no_price_fit):
    df, _, _ = logs
    res = no_price_fit
    assert res.features and not SPEND & set(res.features)
    assert {"recency_days", "frequency"} <= set(res.features)
    # the notes name the features used and say the spend ones were left out, and why
    used = [n for n in res.notes if n.startswith("features used")]
    assert used == [f"features used ({len(res.features)}): {', '.join(res.features)}."]
    left = [n for n in res.notes if n.startswith("spend features left out")]
    assert len(left) == 1 and "no prices" in left[0]
    assert all(f in left[0] for f in SPEND)
    # one score per customer of the log, each a probability
    scores = res.scores
    assert scores["customer_id"].is_unique
    assert set(scores["customer_id"]) == set(df["customer_id"])
    assert len(scores) == df["customer_id"].nunique()
    p = scores[res.score_column]
    assert p.notna().all() and p.between(0, 1).all()
    assert not res.importance["feature"].isin(SPEND).any()


def test_no_price_baselines_equal_the_priced_ones(logs, no_price_fit):
    # recency and BG/NBD use no money: on the same holdout they score identically
    _, priced, _ = logs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SeparationWarning)
        ref = fit_propensity(priced.transactions, horizon_days=H, random_state=0,
                             observation_end=priced.observation_end)
    assert SPEND & set(ref.features)  # the priced fit does use spend
    assert ref.cutoff == no_price_fit.cutoff and ref.n_holdout == no_price_fit.n_holdout
    assert ref.base_rate == no_price_fit.base_rate
    a = ref.metrics.set_index("model")
    b = no_price_fit.metrics.set_index("model")
    for model in ("recency", "btyd_expected_purchases", "btyd_p_alive"):
        if model in a.index:
            assert b.loc[model, "roc_auc"] == pytest.approx(a.loc[model, "roc_auc"], abs=1e-12)


def test_no_price_frame_has_the_priced_labels_and_counts(logs):
    df, priced, cleaned = logs
    with_money = build_training_frame(priced.transactions, cutoffs=CUTOFFS, horizon_days=H)
    without = build_training_frame(cleaned.transactions, cutoffs=CUTOFFS, horizon_days=H,
                                   money=False)
    assert set(with_money.columns) >= SPEND and not SPEND & set(without.columns)
    assert list(without.columns) == [c for c in with_money.columns if c not in SPEND]
    pd.testing.assert_frame_equal(without, with_money[list(without.columns)])
    # the labels counted in pandas: a line in [cutoff, cutoff + H) among those who bought
    # before the cutoff
    day = pd.to_datetime(df["order_ts"]).dt.normalize()
    for c in CUTOFFS:
        cut = pd.Timestamp(c)
        before = set(df.loc[day < cut, "customer_id"])
        after = set(df.loc[(day >= cut) & (day < cut + pd.Timedelta(days=H)), "customer_id"])
        rows = without[without["origin"] == dt.date.fromisoformat(c)]
        assert set(rows["customer_id"]) == before
        want = rows["customer_id"].map(lambda k, a=after: int(k in a)).to_numpy()
        assert np.array_equal(rows["label"].to_numpy(), want)
        assert 0 < want.sum() < len(want)


def test_no_price_frame_without_an_amount_column(logs, con):
    # money=False does not need the amount column at all
    _, _, cleaned = logs
    t = cleaned.transactions
    with_null = build_training_frame(t, cutoffs=CUTOFFS[:1], horizon_days=H, money=False)
    no_col = build_training_frame(t.drop("amount"), cutoffs=CUTOFFS[:1], horizon_days=H,
                                  money=False)
    pd.testing.assert_frame_equal(no_col, with_null)
    with pytest.raises(InputError, match=r"lacks column.*amount"):
        build_training_frame(t.drop("amount"), cutoffs=CUTOFFS[:1], horizon_days=H)


@pytest.mark.parametrize("bad", ["no", 0, None])
def test_money_must_be_a_bool(logs, bad):
    _, _, cleaned = logs
    with pytest.raises(InputError, match=r"money must be True or False.*got"):
        fit_propensity(cleaned.transactions, money=bad)
    with pytest.raises(InputError, match=r"money must be True or False.*got"):
        build_training_frame(cleaned.transactions, cutoffs=CUTOFFS, money=bad)
