"""ward_segments: blobs recovered on a sample, dendrogram data, degenerate inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from valuemax.exceptions import InputError
from valuemax.segment import HierarchicalResult, ward_segments


def test_ward_on_blobs(rng, make_blobs):
    c, truth = make_blobs(rng, n_per=50)
    before = c.copy(deep=True)
    res = ward_segments(c)
    pd.testing.assert_frame_equal(c, before)
    assert isinstance(res, HierarchicalResult) and res.method == "ward"
    assert res.skipped is None and res.k == 3 and res.n_used == 150
    assert res.linkage.shape == (149, 4)
    assert set(res.labels[truth == "best"]) == {1}
    assert set(res.labels[truth == "middle"]) == {2}
    assert set(res.labels[truth == "lapsed"]) == {3}
    assert res.profile["mean_total_spend"].is_monotonic_decreasing
    assert res.profile["n_customers"].tolist() == [50, 50, 50]
    assert res.profile["share_customers"].sum() == pytest.approx(1.0)
    assert set(res.dendrogram) >= {"icoord", "dcoord", "ivl"}
    assert len(res.dendrogram["ivl"]) == 30  # truncate_mode="lastp", p=30
    assert res.selection["k"].tolist() == list(range(2, 11))
    assert "silhouette" in res.criterion


def test_ward_sample_and_explicit_k(rng, make_blobs):
    c, _ = make_blobs(rng, n_per=50)
    res = ward_segments(c, k=2, max_customers=60, random_state=3)
    assert res.n_used == 60 and len(res.labels) == 60 and res.k == 2
    assert res.labels.index.isin(c.index).all() and res.labels.index.is_unique
    assert any("sample of 60 of 150" in n for n in res.notes)
    again = ward_segments(c, k=2, max_customers=60, random_state=3)
    pd.testing.assert_series_equal(res.labels, again.labels)
    assert res.criterion == "k = 2 as requested"


def test_ward_degenerate():
    one = pd.DataFrame({"recency_days": [1], "n_orders": [1], "total_spend": [1.0]})
    assert "single customer" in ward_segments(one).skipped
    same = pd.DataFrame({"recency_days": [1, 1], "n_orders": [1, 1],
                         "total_spend": [1.0, 1.0]})
    assert ward_segments(same).skipped is not None
    three = pd.DataFrame({"recency_days": [1, 5, 9], "n_orders": [1, 2, 4],
                          "total_spend": [1.0, 10.0, 50.0]})
    with pytest.raises(InputError, match=r"k=5 clusters asked, but the 3 customers clustered "
                                         r"have only 3 distinct .*Pass k <= 3"):
        ward_segments(three, k=5)
    assert ward_segments(three, k=3).labels.tolist() == [3, 2, 1]
    with pytest.raises(InputError, match="max_customers"):
        ward_segments(three, max_customers=2)
    with pytest.raises(InputError, match="k=1"):
        ward_segments(three, k=1)
    sil = ward_segments(three).selection.set_index("k")["silhouette"]
    assert np.isfinite(sil[2]) and np.isnan(sil[3])  # 3 singletons: undefined


def test_ward_two_groups_of_identical_customers():
    """Two groups of identical customers: k = 2 with silhouette 1 (a(i) = 0 for everyone)."""
    two = pd.DataFrame({"recency_days": [1, 1, 9], "n_orders": [1, 1, 4],
                        "total_spend": [1.0, 1.0, 50.0]})
    res = ward_segments(two)
    assert res.skipped is None and res.k == 2 and res.labels.tolist() == [2, 2, 1]
    # the lone customer is a singleton (s = 0), the pair has s = 1: mean 2/3
    assert res.selection["silhouette"].tolist() == pytest.approx([2 / 3])


def test_ward_three_groups_of_identical_customers_give_k3():
    c = pd.DataFrame({"recency_days": [3] * 4 + [40] * 4 + [300] * 4,
                      "n_orders": [30] * 4 + [5] * 4 + [1] * 4,
                      "total_spend": [8000.0] * 4 + [600.0] * 4 + [40.0] * 4})
    res = ward_segments(c)
    assert res.k == 3 and res.selection["k"].tolist() == [2, 3]
    assert res.selection.set_index("k").loc[3, "silhouette"] == pytest.approx(1.0)
    assert res.labels.tolist() == [1] * 4 + [2] * 4 + [3] * 4
