"""The earlier steps' results spilled to disk while the propensity and basket steps run come
back exactly as they were (every dtype, null and index), once; what pickle refuses stays in
memory."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from valuemax.pipeline._spill import Spilled


def _frame() -> pd.DataFrame:
    """Every kind of column the main job's customer table holds: Arrow-backed text with a
    missing value, dates as objects with a None, nullable integers and booleans with NA,
    int8 scores, float64 with NaN, plain bool; a non-default index."""
    n = 5
    return pd.DataFrame({
        "customer_id": pd.array(["c1", "c2", "c3", "c4", None], dtype="str"),
        "first_purchase": [dt.date(2021, 1, d) for d in range(1, n)] + [None],
        "r_score": np.array([1, 2, 3, 4, 5], dtype=np.int8),
        "cluster": pd.array([0, 1, None, 1, 0], dtype="Int64"),
        "cluster_mixed": pd.array([True, None, False, True, False], dtype="boolean"),
        "p_alive": [0.5, np.nan, 0.25, 1.0, 0.0],
        "flag": [True, False, True, False, True],
        "segment": pd.Categorical(["a", "b", "a", None, "b"]),
    }, index=pd.RangeIndex(10, 10 + 2 * n, 2))


def test_a_spilled_frame_comes_back_identical():
    df = _frame()
    expected = df.copy(deep=True)
    s = Spilled((df, {"n": 1}), frame=df, keep=["first_purchase"])
    del df
    assert s.on_disk
    got, other = s.load()
    assert other == {"n": 1}
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert got.dtypes.to_dict() == expected.dtypes.to_dict()
    assert got["first_purchase"].iloc[-1] is None  # a missing date stays None, not NaN/NaT


def test_the_kept_columns_stay_in_memory_with_the_rows():
    df = _frame()
    s = Spilled(df, frame=df, keep=["first_purchase"])
    assert len(s.kept) == len(df)
    assert s.kept.columns.tolist() == ["first_purchase"]
    assert s.kept.index.equals(df.index)
    assert s.kept["first_purchase"].min() == dt.date(2021, 1, 1)


def test_a_spilled_frame_is_read_back_once_only():
    s = Spilled(_frame())
    s.load()
    with pytest.raises(RuntimeError, match="already read back"):
        s.load()


def test_what_pickle_refuses_stays_in_memory_and_comes_back_as_is():
    import threading

    lock = threading.Lock()  # pickle cannot write a lock
    obj = ("customers", lock)
    s = Spilled(obj)
    assert not s.on_disk and s.kept is None
    assert s.load() is obj
