"""The holdout and scoring rows fetched in parts equal the whole frames.

``Holdout.sample`` draws the rows ``train_test_split`` takes from the whole holdout frame
and fetches only their features; ``score_in_chunks`` streams the scoring features in
chunks. Both are checked against the whole frame built directly (``frame_at``), value for
value, and against scikit-learn called on that frame.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from valuemax.propensity._days import daily_table, features_from_days, frame_at, stored_columns
from valuemax.propensity._holdout import Holdout, score_in_chunks
from valuemax.propensity._models import make_model

CUT = dt.date(2023, 3, 1)


@pytest.fixture(scope="module")
def setup(con, synth):
    import pyarrow as pa

    t = con.create_table("holdout_log", pa.Table.from_pandas(synth, preserve_index=False))
    days = daily_table(t).cache()
    whole = frame_at(days, t, CUT, categorical=("Country",), label_days=90)
    yield t, days, whole
    days.release()


def test_keys_are_the_whole_frames_keys(setup):
    t, days, whole = setup
    hold = Holdout(days, t, CUT, ("Country",), 90, True)
    assert len(hold) == len(whole) > 300
    pd.testing.assert_frame_equal(hold.keys, whole[["customer_id", "label", "recency_days"]])


@pytest.mark.parametrize("seed", [0, 7])
def test_sample_is_train_test_split_of_the_whole_frame(setup, seed):
    """Above the cap: the rows train_test_split takes from the whole frame (stratified by
    the label, sorted back into frame order), every feature equal to the whole frame's;
    below it, the whole frame."""
    t, days, whole = setup
    hold = Holdout(days, t, CUT, ("Country",), 90, True)
    notes: list[str] = []
    got = hold.sample(120, seed, notes, "rows")
    want, _ = train_test_split(whole, train_size=120, stratify=whole["label"],
                               random_state=seed)
    want = want.sort_index()
    assert len(got) == 120 and list(got.index) == list(want.index)
    pd.testing.assert_frame_equal(got[list(whole.columns)], want, check_exact=True)
    assert notes == [f"rows: a seeded stratified sample of 120 of {len(whole):,} rows."]
    pd.testing.assert_frame_equal(hold.sample(len(whole), seed, [], "rows"), whole)


@pytest.mark.parametrize("kind", ["logit", "hgb", "hgb_binned"])
def test_chunked_scores_equal_one_call_on_the_whole_frame(setup, kind):
    """Scores streamed 37 rows at a time equal predict_proba on the whole scoring frame,
    to the last bit, with the kept columns of that frame, in its order (``hgb_binned``: a
    calibrated numeric gradient boosting, whose chunks are scored on its bins)."""
    from sklearn.calibration import CalibratedClassifierCV

    t, days, whole = setup
    feats = ["recency_days", "frequency", "T", "total_spend", "ipt_mean", "Country"]
    params = {"C": 1.0} if kind == "logit" else {"learning_rate": 0.1, "max_leaf_nodes": 15}
    if kind == "hgb_binned":
        feats = feats[:-1]
        model = CalibratedClassifierCV(make_model("hgb", params, feats, [], 0).set_params(
            clf__max_iter=20), method="isotonic", cv=3)
    else:
        model = make_model(kind, params, feats[:-1], ["Country"], 0)
    model.fit(whole[feats], whole["label"].to_numpy())
    score_day = dt.date(2023, 6, 25)
    now = frame_at(days, t, score_day, categorical=("Country",))
    expr = features_from_days(days, t, score_day, categorical=("Country",))
    keep = ["customer_id", "recency_days", "ipt_mean"]
    got, p = score_in_chunks(model, expr, feats, keep, chunk=37)
    if kind == "hgb_binned":
        from valuemax.propensity._binned import binned_members

        assert binned_members(model, now[feats]) is not None  # the binned path is taken
    assert len(now) % 37 != 0 and len(p) == len(now)
    np.testing.assert_array_equal(p, model.predict_proba(now[feats])[:, 1])
    pd.testing.assert_frame_equal(got, now[keep])


def test_stored_columns_tells_tables_from_views_and_expressions(con, setup):
    t, _, _ = setup
    con.con.execute("create or replace view holdout_view as select * from holdout_log")
    assert stored_columns(t.select("customer_id", "amount"))
    assert not stored_columns(con.table("holdout_view").select("customer_id"))
    assert not stored_columns(t.mutate(amount=t.amount * 2).select("customer_id", "amount"))
    assert not stored_columns(t.filter(t.amount > 0))
