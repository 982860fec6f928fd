"""kmeans_segments: blobs recovered, value ranking, seeds, degenerate inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from valuemax.exceptions import InputError
from valuemax.segment import ClusterResult, kmeans_segments


def test_blobs_recovered_and_ranked_by_value(rng, make_blobs):
    c, truth = make_blobs(rng)
    before = c.copy(deep=True)
    res = kmeans_segments(c)
    pd.testing.assert_frame_equal(c, before)
    assert isinstance(res, ClusterResult) and res.method == "kmeans" and res.skipped is None
    assert res.k == 3
    assert res.selection["k"].tolist() == list(range(2, 11))
    assert res.selection["silhouette"].idxmax() == 1  # row of k = 3
    assert "silhouette" in res.criterion and "k = 3" in res.criterion
    # each true group is exactly one cluster, numbered by value
    labels = res.labels
    assert labels.index.equals(c.index) and labels.name == "cluster"
    assert set(labels[truth == "best"]) == {1}
    assert set(labels[truth == "middle"]) == {2}
    assert set(labels[truth == "lapsed"]) == {3}
    p = res.profile
    assert p["cluster"].tolist() == [1, 2, 3]
    assert p["mean_total_spend"].is_monotonic_decreasing
    assert p["n_customers"].tolist() == [60, 60, 60]
    assert p["share_customers"].sum() == pytest.approx(1.0)
    assert p["revenue_share"].sum() == pytest.approx(1.0)
    assert p["revenue"].sum() == pytest.approx(c["total_spend"].sum())
    assert p.loc[0, "mean_total_spend"] == pytest.approx(
        c.loc[truth == "best", "total_spend"].mean())
    assert res.names[1] == "High-value loyal (recent, frequent, high spend)"
    assert res.names[3] == "Lapsed low spenders (lapsed, infrequent, low spend)"
    assert p["name"].tolist() == [res.names[k] for k in (1, 2, 3)]
    assert p.loc[0, ["r_level", "f_level", "m_level"]].tolist() == ["high", "high", "high"]
    assert p.loc[2, ["r_level", "f_level", "m_level"]].tolist() == ["low", "low", "low"]
    assert p["top_countries"].str.match(r"United Kingdom \d+%, Germany \d+%").all()
    assert res.features == ("log1p_recency_days", "log1p_n_orders", "log1p_total_spend")
    assert res.projection.shape == (180, 3) and res.projection.columns.tolist() == [
        "pc1", "pc2", "cluster"]
    assert res.projection["cluster"].to_numpy().tolist() == labels.loc[
        res.projection.index].tolist()
    assert res.centers_projection["cluster"].tolist() == [1, 2, 3]


def test_silhouette_matches_sklearn(rng, make_blobs):
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import StandardScaler

    c, _ = make_blobs(rng, n_per=30)
    res = kmeans_segments(c, k_max=4)
    x = StandardScaler().fit_transform(
        np.log1p(c[["recency_days", "n_orders", "total_spend"]].to_numpy(dtype=float)))
    sil = res.selection.set_index("k").loc[res.k, "silhouette"]
    assert sil == pytest.approx(silhouette_score(x, res.labels.to_numpy()), rel=1e-9)
    assert res.selection["inertia"].is_monotonic_decreasing


def test_same_seed_same_result(rng, make_blobs):
    c, _ = make_blobs(rng, n_per=40)
    a = kmeans_segments(c, random_state=7, sample_size=100)
    b = kmeans_segments(c, random_state=7, sample_size=100)
    pd.testing.assert_series_equal(a.labels, b.labels)
    pd.testing.assert_frame_equal(a.selection, b.selection)
    pd.testing.assert_frame_equal(a.projection, b.projection)
    assert any("sample of 100 of 120" in n for n in a.notes)
    assert a.labels.notna().all() and len(a.labels) == 120


def test_single_customer_skipped():
    c = pd.DataFrame({"recency_days": [3], "n_orders": [2], "total_spend": [10.0]})
    res = kmeans_segments(c)
    assert res.skipped is not None and "single customer" in res.skipped
    assert res.labels is None and res.k is None and res.names == {}
    assert res.profile.empty and res.selection.empty and res.projection.empty


def test_all_identical_skipped():
    c = pd.DataFrame({"recency_days": [3] * 5, "n_orders": [2] * 5, "total_spend": [10.0] * 5})
    res = kmeans_segments(c)
    assert res.skipped == "all customers have identical recency, orders and spend"
    assert len(res.notes) == 3 and res.labels is None


def _silhouette(x: np.ndarray, labels: np.ndarray) -> float:
    """Rousseeuw's silhouette written out: s = (b - a) / max(a, b), 0 for a singleton."""
    d = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
    s = np.zeros(len(x))
    for i in range(len(x)):
        own = labels == labels[i]
        if own.sum() == 1:
            continue
        a = d[i, own].sum() / (own.sum() - 1)
        b = min(d[i, labels == other].mean() for other in set(labels) - {labels[i]})
        s[i] = (b - a) / max(a, b)
    return float(s.mean())


def _features(c: pd.DataFrame) -> np.ndarray:
    from sklearn.preprocessing import StandardScaler

    cols = ["recency_days", "n_orders", "total_spend"]
    return StandardScaler().fit_transform(np.log1p(c[cols].to_numpy(dtype=float)))


def test_three_groups_of_identical_customers_give_k3():
    """3 groups of 4 identical customers: k = 3 (silhouette 1), not 2 as the old cap did.

    At k = 3 every customer sits on its cluster's centre with 3 other identical customers:
    a(i) = 0 and b(i) > 0, so s(i) = 1 for all. At k = 2 two groups share a cluster, a(i) > 0
    there, so the mean silhouette is < 1 (computed below from the definition).
    """
    c = pd.DataFrame({"recency_days": [3] * 4 + [40] * 4 + [300] * 4,
                      "n_orders": [30] * 4 + [5] * 4 + [1] * 4,
                      "total_spend": [8000.0] * 4 + [600.0] * 4 + [40.0] * 4})
    res = kmeans_segments(c)
    assert res.skipped is None and res.k == 3
    assert res.selection["k"].tolist() == [2, 3]
    sil = res.selection.set_index("k")["silhouette"]
    assert sil[3] == pytest.approx(1.0)
    x = _features(c)
    two = res.selection.loc[0]
    assert two["k"] == 2
    # the k = 2 split is the best merge of two groups; the direct formula agrees with it
    best2 = max(_silhouette(x, np.array(lab)) for lab in (
        [0] * 8 + [1] * 4, [0] * 4 + [1] * 8, [0] * 4 + [1] * 4 + [0] * 4))
    assert sil[2] == pytest.approx(best2, rel=1e-9) and sil[2] < 1.0
    assert res.labels.tolist() == [1] * 4 + [2] * 4 + [3] * 4
    assert any("k tried up to 3" in n for n in res.notes)


def test_three_tight_groups_of_distinct_customers_give_k3():
    """3 tight groups (spread 1% of the gaps between them), every customer distinct: k = 3."""
    base = [(3, 30, 8000.0), (40, 5, 600.0), (300, 1, 40.0)]
    rows = [(r + j, f, m * (1 + 0.001 * j)) for r, f, m in base for j in range(3)]
    c = pd.DataFrame(rows, columns=["recency_days", "n_orders", "total_spend"])
    res = kmeans_segments(c)
    assert res.k == 3 and res.labels.tolist() == [1] * 3 + [2] * 3 + [3] * 3
    assert res.selection["k"].tolist() == list(range(2, 10))  # up to 9 distinct points
    sil = res.selection.set_index("k")["silhouette"]
    assert np.isnan(sil[9])  # 9 singletons: undefined, never chosen
    truth = np.repeat([0, 1, 2], 3)
    assert sil[3] == pytest.approx(_silhouette(_features(c), truth), rel=1e-9)


def test_two_groups_of_identical_customers_give_k2():
    c = pd.DataFrame({"recency_days": [3, 3, 3, 90, 90], "n_orders": [5, 5, 5, 1, 1],
                      "total_spend": [500.0, 500.0, 500.0, 20.0, 20.0]})
    res = kmeans_segments(c)
    assert res.skipped is None and res.k == 2
    assert res.labels.tolist() == [1, 1, 1, 2, 2]
    assert res.selection["silhouette"].tolist() == pytest.approx([1.0])


def test_fixed_k_above_distinct_points_is_refused():
    """4 distinct profiles (8 customers) and k = 6 asked: a clear error, not 4 or 3 clusters."""
    c = pd.DataFrame({"recency_days": [3, 3, 40, 40, 90, 90, 300, 300],
                      "n_orders": [30, 30, 5, 5, 2, 2, 1, 1],
                      "total_spend": [8e3, 8e3, 600.0, 600.0, 90.0, 90.0, 40.0, 40.0]})
    with pytest.raises(InputError, match=r"k_min=6 asks for at least 6 clusters, but the 8 "
                                         r"customers clustered have only 4 distinct .*k_min <= 4"):
        kmeans_segments(c, k_min=6, k_max=6)
    fixed = kmeans_segments(c, k_min=4, k_max=4)
    assert fixed.k == 4 and fixed.criterion == "k = 4 as requested (k_min = k_max)."
    assert fixed.labels.tolist() == [1, 1, 2, 2, 3, 3, 4, 4]
    auto = kmeans_segments(c, k_max=6)
    assert auto.selection["k"].tolist() == [2, 3, 4] and auto.k == 4
    assert any("k tried up to 4" in n and "k_max=6" in n for n in auto.notes)


def test_fixed_k_equal_to_the_number_of_customers():
    """k = n = 4 distinct customers: 4 singleton clusters; the silhouette is undefined (NaN)."""
    c = pd.DataFrame({"recency_days": [3, 40, 90, 300], "n_orders": [30, 5, 2, 1],
                      "total_spend": [8e3, 600.0, 90.0, 40.0]})
    res = kmeans_segments(c, k_min=4, k_max=4)
    assert res.k == 4 and res.labels.tolist() == [1, 2, 3, 4]
    assert np.isnan(res.selection["silhouette"].iloc[0])


def test_constant_feature_dropped(rng, make_blobs):
    c, truth = make_blobs(rng, n_per=40, country=False)
    c["n_orders"] = 1
    res = kmeans_segments(c, country=None)
    assert res.features == ("log1p_recency_days", "log1p_total_spend")
    assert any("log1p(n_orders) dropped" in n for n in res.notes)
    assert res.k == 3 and set(res.labels[truth == "best"]) == {1}
    assert (res.profile["top_countries"] == "").all()
    assert res.profile["f_level"].eq("mid").all()
    # one order each says nothing about a cluster: no frequency word in its name
    assert not any("frequen" in name for name in res.names.values())
    assert res.names[1] == "High-value loyal (recent, high spend)"


def test_one_day_export_names_no_cluster_lapsing():
    # every customer bought on the last day (recency 0): names rest on value alone
    c = pd.DataFrame({"recency_days": [0] * 9, "n_orders": [1, 1, 1, 2, 2, 2, 5, 5, 6],
                      "total_spend": [5.0, 6, 5, 50, 55, 60, 900, 950, 1000]})
    res = kmeans_segments(c, country=None, k_min=3, k_max=3)
    assert res.features == ("log1p_n_orders", "log1p_total_spend")
    assert res.names == {1: "High-value (frequent, high spend)",
                         2: "Mid-value (mid frequency, mid spend)",
                         3: "Low spenders (infrequent, low spend)"}
    assert res.profile["r_level"].eq("mid").all()


def test_one_feature_left_gives_flat_projection():
    c = pd.DataFrame({"recency_days": [1, 2, 3, 50, 60, 70], "n_orders": [1] * 6,
                      "total_spend": [10.0] * 6})
    res = kmeans_segments(c, country="Country")
    assert res.features == ("log1p_recency_days",)
    assert res.k == 2 and (res.projection["pc2"] == 0).all()
    assert any("no column 'Country'" in n for n in res.notes)


def test_bad_arguments():
    c = pd.DataFrame({"recency_days": [1, 2, 3], "n_orders": [1, 2, 3],
                      "total_spend": [1.0, 2.0, 3.0]})
    with pytest.raises(InputError, match="k_min=1"):
        kmeans_segments(c, k_min=1)
    with pytest.raises(InputError, match="k_max=2"):
        kmeans_segments(c, k_min=3, k_max=2)
    with pytest.raises(InputError, match="random_state"):
        kmeans_segments(c, random_state=None)
    with pytest.raises(InputError, match=r"\['n_orders'\] not found"):
        kmeans_segments(c.drop(columns="n_orders"))


def test_silhouette_equals_scikit_learn():
    """The blocked silhouette equals sklearn.metrics.silhouette_score (to its rounding),
    with duplicate points (a = b = 0) and a one-point cluster (silhouette 0)."""
    from sklearn.metrics import silhouette_score

    from valuemax.segment._kmeans import silhouette_on

    rng = np.random.default_rng(4)
    x = np.vstack([rng.normal(0, 1, (300, 3)), rng.normal(4, 1, (200, 3))])
    x[:20] = x[0]
    for k in (2, 3, 7):
        labels = rng.integers(0, k, len(x))
        labels[5] = k + 10  # a cluster of one point
        assert silhouette_on(x, labels) == pytest.approx(silhouette_score(x, labels),
                                                          rel=1e-9)
    assert np.isnan(silhouette_on(x, np.zeros(len(x), dtype=int)))


def test_silhouettes_of_several_labellings_in_one_pass():
    """Several labellings in one distance pass give each scikit-learn's silhouette, an
    undefined one (a single label; every point its own label) NaN in its place, over more
    than one block of rows."""
    from sklearn.metrics import silhouette_score

    from valuemax.segment import _kmeans
    from valuemax.segment._kmeans import silhouettes_on

    rng = np.random.default_rng(7)
    x = np.vstack([rng.normal(0, 1, (400, 2)), rng.normal(3, 1, (300, 2))])
    labelings = [rng.integers(0, 2, len(x)), np.zeros(len(x), dtype=int),
                 rng.integers(0, 9, len(x)), np.arange(len(x)), rng.integers(5, 8, len(x))]
    sil = silhouettes_on(x, labelings)
    assert len(sil) == 5 and np.isnan(sil[1]) and np.isnan(sil[3])
    for i in (0, 2, 4):
        assert sil[i] == pytest.approx(silhouette_score(x, labelings[i]), rel=1e-9)
    assert np.all(np.isnan(silhouettes_on(x, [labelings[1]])))
    # 14,000 points: blocks of 8,000,000 // 14,000 = 571 rows, so 25 blocks
    big = np.vstack([x] * 20)
    labels = np.tile(labelings[2], 20)
    assert silhouettes_on(big, [labels])[0] == pytest.approx(
        silhouette_score(big, labels), rel=1e-9)
    assert _kmeans.silhouette_on(big, labels) == silhouettes_on(big, [labels])[0]


def _three_groups_and_two_outliers() -> pd.DataFrame:
    """40 customers: three groups (14, 13, 11) and two extreme customers; the silhouette
    alone prefers a k that gives one of the extremes a cluster of its own."""
    rng = np.random.default_rng(0)
    parts = []
    for n, (r, f, m) in zip((14, 13, 11), ((5, 12, 900), (60, 4, 250), (250, 1, 40)),
                            strict=True):
        parts.append(pd.DataFrame({
            "recency_days": rng.integers(int(r * 0.7), int(r * 1.3) + 1, n),
            "n_orders": np.maximum(1, rng.poisson(f, n)),
            "total_spend": rng.gamma(8, m / 8, n).round(2)}))
    extremes = pd.DataFrame({"recency_days": [1, 400], "n_orders": [60, 1],
                             "total_spend": [30000.0, 2.0]})
    return pd.concat([*parts, extremes], ignore_index=True)


def _sklearn_silhouettes(c: pd.DataFrame, ks) -> tuple[dict[int, float], dict[int, int]]:
    """Mean silhouette and smallest cluster size per k, computed independently with
    scikit-learn on standardised log1p recency/orders/spend (KMeans, 10 inits, seed 0)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import StandardScaler

    x = StandardScaler().fit_transform(
        np.log1p(c[["recency_days", "n_orders", "total_spend"]].to_numpy(float)))
    sil, smallest = {}, {}
    for k in ks:
        labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit(x).labels_
        sil[k] = silhouette_score(x, labels)
        smallest[k] = int(np.bincount(labels).min())
    return sil, smallest


def test_a_k_leaving_a_cluster_of_one_is_not_chosen():
    """New user: 40 customers got k = 5 with clusters of 1 and 2 customers, each with its
    own action. Computed independently with scikit-learn: the best silhouette's k leaves a
    cluster of one; the k chosen is the best among the k whose clusters all hold >= 5."""
    c = _three_groups_and_two_outliers()
    sil, smallest = _sklearn_silhouettes(c, range(2, 11))
    top = max(sil, key=sil.get)
    assert smallest[top] < 5  # the case: the silhouette's favourite has a tiny cluster
    eligible = {k: s for k, s in sil.items() if smallest[k] >= 5}
    want = max(eligible, key=eligible.get)
    res = kmeans_segments(c)
    assert res.k == want != top
    np.testing.assert_allclose(res.selection["silhouette"], [sil[k] for k in range(2, 11)],
                               rtol=1e-10)
    assert res.selection["smallest_cluster"].tolist() == [smallest[k] for k in range(2, 11)]
    assert res.profile["n_customers"].min() >= 5
    assert (f"whose every cluster holds at least 5 of the 40 customers fitted (k = {top} "
            f"scored {sil[top]:.3f} but left a cluster of {smallest[top]}") in res.criterion


def test_a_fixed_k_is_kept_even_with_a_tiny_cluster():
    c = _three_groups_and_two_outliers()
    res = kmeans_segments(c, k_min=6, k_max=6)
    assert res.k == 6 and res.criterion == "k = 6 as requested (k_min = k_max)."


def test_when_no_k_meets_the_size_floor_the_largest_smallest_cluster_wins():
    """Breaker: k_min = 5 on 22 customers left every k a cluster under 5 customers (22 / 5
    < 5); the choice fell back to the silhouette alone, which favours the k that isolates outliers
    best (here k = 6 with a cluster of one against k = 5 with three). Computed
    independently with scikit-learn: the k chosen has the largest smallest cluster (ties:
    the higher silhouette)."""
    c = _three_groups_and_two_outliers().iloc[:38].sample(22, random_state=1)  # no extremes
    sil, smallest = _sklearn_silhouettes(c, range(5, 9))
    assert max(smallest.values()) < 5                  # the case: no k meets the floor
    want = min(sil, key=lambda k: (-smallest[k], -sil[k], k))
    assert want != max(sil, key=sil.get)               # the silhouette alone picks another k
    res = kmeans_segments(c, k_min=5, k_max=8)
    assert res.k == want
    assert res.selection["smallest_cluster"].tolist() == [smallest[k] for k in range(5, 9)]
    assert (f"k = {want} keeps the largest smallest cluster ({smallest[want]} customers; "
            f"mean silhouette {sil[want]:.3f}") in res.criterion
    assert "every k in 5..8 left a cluster under 5 of the 22 customers fitted" in res.criterion
