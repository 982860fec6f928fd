"""The propensity step's engine work in passes of customers (issue 12: at 30M lines the
per-customer-day table's LAG window, which DuckDB holds in memory, ran out of the store's
1.5 GB): the passes split every customer's lines into exactly one pass, their number grows
with the lines over the connection's memory limit, and the table, the frames and the whole
fit are those of one pass, value for value. The training sample is drawn without a window
over every row (a top-n per label)."""

from __future__ import annotations

import math

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import valuemax.propensity._days as days_mod
import valuemax.propensity._sample as sample_mod
from valuemax.engines import connect
from valuemax.engines._memory import hash_pass, hash_passes, memory_limit_bytes, parse_size
from valuemax.propensity import fit_propensity
from valuemax.propensity._days import daily_table, materialised_days


def test_every_key_falls_in_exactly_one_pass():
    con = connect(None)
    ids = [f"c{i}" for i in range(2_000)] + ["é", "", None, None]
    t = con.create_table("pass_keys", pa.table({"k": ids, "row": np.arange(len(ids))}))
    for passes in (1, 2, 3, 7):
        got = [t.filter(hash_pass(t.k, passes, k)).row.to_pyarrow().to_pylist()
               for k in range(passes)]
        rows = sorted(r for part in got for r in part)
        assert rows == list(range(len(ids)))          # every row once, NULL keys included
        if passes > 1:                                 # and the keys spread over the passes
            assert all(len(part) > 2_000 / passes / 2 for part in got)
    con.disconnect()


def test_passes_grow_with_the_lines_over_the_memory_limit():
    con = connect(None, memory_limit="200MB")
    limit = memory_limit_bytes(con.sql("SELECT 1 AS x"))
    # DuckDB reads back 200 MB as "190.7 MiB"
    assert limit == parse_size("190.7 MiB") and abs(limit - 200e6) < 1e6
    t = con.create_table("pass_lines", pa.table({"x": np.arange(1_000)}))
    assert hash_passes(t, 100) == 1
    assert hash_passes(t, 500_000) == math.ceil(1_000 * 500_000 / limit) == 3
    con.disconnect()


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["customer_id", "_day"], ignore_index=True)


@pytest.mark.parametrize("passes", [2, 5])
def test_day_table_in_passes_equals_one_pass(monkeypatch, make_synthetic, to_table, passes):
    t = to_table(make_synthetic(300, seed=4))
    one = _sorted(daily_table(t).to_pyarrow().to_pandas())
    monkeypatch.setattr(days_mod, "hash_passes", lambda lines, per_line: passes)
    with materialised_days(t) as d:
        got = _sorted(d.to_pyarrow().to_pandas())
        name = d.get_name()
    pd.testing.assert_frame_equal(got, one, check_exact=True)
    assert len(one) > 2_000 and one["_gap"].isna().sum() == 300  # one first day a customer
    assert name not in t.get_backend().list_tables()  # released on exit


def test_fit_in_passes_equals_one_pass(monkeypatch, make_synthetic, to_table):
    """The whole fit (training sample above max_train_rows, holdout, scores) with the day
    table built in three passes and the training rows' column statistics in four gives the
    scores and metrics of one pass, exactly."""
    t = to_table(make_synthetic(600, seed=5).drop(columns="Country"))
    kw = {"horizon_days": 60, "random_state": 0, "max_train_rows": 300, "categorical": ()}
    one = fit_propensity(t, **kw)
    monkeypatch.setattr(days_mod, "hash_passes", lambda lines, per_line: 3)
    monkeypatch.setattr(sample_mod, "hash_passes", lambda lines, per_line: 4)
    got = fit_propensity(t, **kw)
    assert any("seeded stratified sample of 300" in n for n in one.notes)
    pd.testing.assert_frame_equal(got.scores, one.scores, check_exact=True)
    pd.testing.assert_frame_equal(got.metrics, one.metrics, check_exact=True)
    assert got.notes == one.notes


def test_training_sample_is_drawn_without_a_window(monkeypatch, make_synthetic, to_table):
    """The sample's rows per label are a top-n (ORDER BY ... LIMIT), not a ROW_NUMBER()
    window over every training row (DuckDB holds a window's partitions in memory: two
    partitions of 9M rows at 3M customers). The drawn keys are materialised: their SQL is
    read there; every other query through Ibis's log."""
    t = to_table(make_synthetic(500, seed=6).drop(columns="Country"))
    drawn: list[str] = []
    real = sample_mod.materialised

    def spy(expr):
        drawn.append(ibis.to_sql(expr))
        return real(expr)

    monkeypatch.setattr(sample_mod, "materialised", spy)
    sqls: list[str] = []
    ibis.options.verbose = True
    ibis.options.verbose_log = lambda sql: sqls.append(str(sql))
    try:
        res = fit_propensity(t, horizon_days=60, random_state=0, max_train_rows=200,
                             categorical=())
    finally:
        ibis.options.verbose = False
        ibis.options.verbose_log = None
    assert any("seeded stratified sample of 200" in n for n in res.notes)
    assert res.n_train == 200 and len(drawn) == 1
    assert "LIMIT" in drawn[0].upper() and "ROW_NUMBER" not in drawn[0].upper()
    assert sqls and not [q for q in sqls if "ROW_NUMBER" in q.upper()]


def test_column_statistics_in_passes_equal_one_pass(make_synthetic, to_table):
    """Counts, labels, non-missing counts and constancy of the training rows over three
    origins: the same from one query and from five passes of customers."""
    import datetime as dt

    from valuemax.propensity._frame import numeric_features

    t = to_table(make_synthetic(300, seed=7))
    origins = [dt.date(2023, 3, 1), dt.date(2023, 1, 1), dt.date(2022, 11, 1)]
    with materialised_days(t) as d:
        def parts(days):
            return [days_mod.features_from_days(days, t, o, categorical=("Country",),
                                                label_days=60) for o in origins]
        cols = [*numeric_features(True), "product_diversity", "Country"]
        one = sample_mod.column_stats(parts, d, cols)
        five = sample_mod.column_stats(parts, d, cols, passes=5)
        frame = pd.concat([days_mod.frame_at(d, t, o, categorical=("Country",),
                                             label_days=60) for o in origins])
    np.testing.assert_array_equal(five[0], one[0])
    assert five[1] == one[1]
    assert one[0].tolist() == [int((frame["label"] == 0).sum()), int(frame["label"].sum())]
    for c in cols:  # as pandas counts them on every row
        assert one[1][c] == (int(frame[c].notna().sum()), frame[c].nunique() <= 1)
