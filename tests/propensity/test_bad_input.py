"""fit_propensity on bad or degenerate input: one class, too few rows, useless features,
perfect separation, NaN features; and seeding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from valuemax.exceptions import InputError
from valuemax.propensity import SeparationWarning, build_training_frame, fit_propensity

START = pd.Timestamp("2022-01-01")


def _log(spec: dict[str, list[int]], amount: float = 10.0) -> pd.DataFrame:
    rows = [(c, f"{c}-{d}", START + pd.Timedelta(days=d), amount, "p1")
            for c, days in spec.items() for d in days]
    df = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_ts", "amount",
                                     "product_id"])
    return df.assign(order_ts=df["order_ts"].astype("datetime64[us]"))


def _separated(n: int = 40) -> pd.DataFrame:
    """Half buy every 7 days for a year; half buy once in the first week and never again."""
    spec = {f"a{i:02d}": list(range(i % 7, 365, 7)) for i in range(n)}
    spec |= {f"b{i:02d}": [i % 7] for i in range(n)}
    return _log(spec)


def test_no_buyer_in_the_holdout_window(to_table):
    spec = {f"c{i}": [i, i + 30, i + 60] for i in range(20)}
    spec["late"] = [300]                                 # the log runs to day 300
    with pytest.raises(InputError, match="the holdout window has no buyer: 0 of 20 customers"):
        fit_propensity(to_table(_log(spec)), horizon_days=60, cutoff="2022-08-15")


def test_only_buyers_in_the_holdout_window(to_table):
    spec = {f"c{i}": list(range(i % 5, 300, 5)) for i in range(20)}
    with pytest.raises(InputError, match="the holdout window has only buyers: 20 of 20"):
        fit_propensity(to_table(_log(spec)), horizon_days=60)


def test_fewer_customers_than_folds(to_table):
    spec = {"a1": list(range(0, 200, 7)), "a2": list(range(3, 200, 7)), "b1": [1], "b2": [2]}
    with pytest.raises(InputError, match=r"too few training customers for 3-fold.*2 buyers "
                                         r"and 2 non-buyers"):
        fit_propensity(to_table(_log(spec)), horizon_days=60, n_origins=1)


def test_cutoff_outside_the_log(to_table):
    t = to_table(_separated(4))
    with pytest.raises(InputError, match="not after the first transaction day"):
        fit_propensity(t, cutoff="2021-06-01")
    with pytest.raises(InputError, match="after the last transaction day"):
        fit_propensity(t, cutoff="2023-06-01")


@pytest.fixture(scope="module")
def separated_fit(con):
    import pyarrow as pa

    log = _separated()
    log["channel"] = pd.Series([None] * len(log), dtype="string")
    t = con.create_table("separated", pa.Table.from_pandas(log, preserve_index=False))
    with pytest.warns(SeparationWarning, match="perfectly separated") as rec:
        res = fit_propensity(t, horizon_days=60, categorical=("channel",))
    return res, rec


def test_perfect_separation_warns_and_stays_finite(separated_fit):
    res, rec = separated_fit
    assert any("L2-penalised fit" in str(w.message) for w in rec)
    p = res.scores["p_buy_60d"]
    assert np.isfinite(p).all() and p.between(0, 1).all()
    auc = res.metrics.set_index("model").loc["logit", "roc_auc"]
    assert auc == pytest.approx(1.0)


def test_constant_and_all_missing_features_are_dropped_with_a_note(separated_fit):
    res, _ = separated_fit
    notes = " ".join(res.notes)
    # every amount is 10: constant order value; channel is NULL on every line
    assert "dropped feature 'avg_order_value': constant" in notes
    assert "dropped feature 'channel': missing for every training row" in notes
    assert {"avg_order_value", "channel"}.isdisjoint(res.features)
    assert "recency_days" in res.features


def test_nan_features_follow_the_stated_policy(synth_fit):
    t, res = synth_fit
    frame = build_training_frame(t, cutoffs=[res.cutoff], horizon_days=90)
    assert frame["ipt_mean"].isna().sum() > 50 and frame["ipt_cv"].isna().sum() > 50
    assert {"ipt_mean", "ipt_cv"} <= set(res.features)
    assert any(n.startswith("NaN policy") for n in res.notes)
    assert res.scores["p_buy_90d"].notna().all()
    assert np.isfinite(res.metrics[["roc_auc", "pr_auc", "top_decile_lift"]]).all().all()


def test_seeded_fit_is_reproducible(synth_fit):
    t, res = synth_fit
    # same seed, same bits, however DuckDB's threads add the money up (exact sums: a float
    # sum's last bit once moved a gradient-boosting split and an AUC by 7e-4)
    for _ in range(3):
        again = fit_propensity(t, horizon_days=90, random_state=0, btyd_baseline=False)
        pd.testing.assert_frame_equal(
            again.metrics, res.metrics[~res.metrics["model"].str.startswith("btyd")],
            check_exact=True)
        pd.testing.assert_frame_equal(again.scores, res.scores, check_exact=True)
        pd.testing.assert_frame_equal(again.importance, res.importance, check_exact=True)
