"""correlation_matrix(): scipy per pair, Holm/BH by hand, pairwise n, dropped columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from valuemax.exceptions import InputError
from valuemax.stats import correlation_matrix

COLS = ["recency_days", "tenure_days", "n_orders", "total_spend", "avg_order_value"]


def holm(p):
    """Holm step-down, by hand: sorted p_(i) * (m - i + 1), running max, capped at 1."""
    p = np.asarray(p, float)
    m = len(p)
    order = np.argsort(p)
    out = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, (m - rank) * p[i])
        out[i] = min(1.0, running)
    return out


def bh(p):
    """Benjamini-Hochberg, by hand: p_(i) * m / i, running min from the largest, capped at 1."""
    p = np.asarray(p, float)
    m = len(p)
    order = np.argsort(p)[::-1]
    out = np.empty(m)
    running = 1.0
    for k, i in enumerate(order):
        rank = m - k
        running = min(running, p[i] * m / rank)
        out[i] = running
    return out


@pytest.mark.parametrize("method", ["spearman", "pearson", "kendall"])
def test_every_cell_equals_scipy_on_online_retail(retail_customers, method):
    cm = correlation_matrix(retail_customers, columns=COLS, method=method, adjust="holm")
    fn = {"spearman": stats.spearmanr, "pearson": stats.pearsonr,
          "kendall": lambda a, b: stats.kendalltau(a, b, variant="b")}[method]
    for a in COLS:
        for b in COLS:
            if a == b:
                assert cm.r.loc[a, b] == 1.0 and np.isnan(cm.p.loc[a, b])
                continue
            ref = fn(retail_customers[a].to_numpy(float), retail_customers[b].to_numpy(float))
            assert cm.r.loc[a, b] == pytest.approx(ref.statistic, abs=1e-9)
            assert cm.p.loc[a, b] == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)
            assert cm.n.loc[a, b] == 4_338
    assert np.allclose(cm.r.to_numpy(), cm.r.to_numpy().T)
    assert len(cm.long) == len(COLS) * (len(COLS) - 1) // 2
    assert list(cm.long.columns) == ["x", "y", "r", "n", "p_value", "p_adjusted", "ci_low",
                                     "ci_high", "significant"]
    np.testing.assert_allclose(cm.long["p_adjusted"], holm(cm.long["p_value"]), rtol=1e-12)


@pytest.mark.parametrize(("adjust", "hand"), [("holm", holm), ("fdr_bh", bh)])
def test_adjustment_against_a_hand_computation(adjust, hand):
    # three columns -> three pairs -> three p-values, corrected by hand
    rng = np.random.default_rng(7)
    a = rng.normal(size=30)
    df = pd.DataFrame({"a": a, "b": 0.4 * a + rng.normal(size=30), "c": rng.normal(size=30)})
    cm = correlation_matrix(df, method="pearson", adjust=adjust)
    raw = [stats.pearsonr(df[x], df[y]).pvalue for x, y in (("a", "b"), ("a", "c"), ("b", "c"))]
    expected = hand(raw)
    np.testing.assert_allclose(cm.long["p_value"], raw, rtol=1e-12)
    np.testing.assert_allclose(cm.long["p_adjusted"], expected, rtol=1e-12)
    assert cm.p_adjusted.loc["c", "b"] == pytest.approx(expected[2], rel=1e-12)
    assert (cm.long["significant"] == (cm.long["p_adjusted"] < 0.05)).all()


def test_hand_adjustments_on_known_p_values():
    # the hand versions themselves, on four textbook p-values
    p = [0.01, 0.04, 0.03, 0.005]
    np.testing.assert_allclose(holm(p), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(bh(p), [0.02, 0.04, 0.04, 0.02])


def test_no_adjustment_keeps_p():
    df = pd.DataFrame({"a": [1, 2, 3, 4, 5, 6], "b": [2, 1, 4, 3, 6, 5], "c": [6, 4, 5, 2, 3, 1]})
    cm = correlation_matrix(df)
    assert cm.adjust is None
    np.testing.assert_array_equal(cm.long["p_adjusted"], cm.long["p_value"])


def test_pairwise_complete_n():
    df = pd.DataFrame({"a": [1.0, 2, 3, 4, 5, 6, 7, 8], "b": [2.0, 1, 4, 3, 6, 5, 8, 7],
                       "c": [1.0, np.nan, 2, 4, np.nan, 5, 7, 6]})
    cm = correlation_matrix(df, method="pearson")
    assert cm.n.loc["a", "b"] == 8 and cm.n.loc["a", "c"] == 6 and cm.n.loc["c", "c"] == 6
    keep = df["c"].notna()
    ref = stats.pearsonr(df.loc[keep, "a"], df.loc[keep, "c"]).statistic
    assert cm.r.loc["a", "c"] == pytest.approx(ref, abs=1e-12)


def test_unusable_columns_are_dropped_with_a_reason(retail_customers):
    df = retail_customers[["customer_id", "n_orders", "total_spend", "Country"]].assign(
        flat=3.0, empty=np.nan)
    cm = correlation_matrix(df)
    assert cm.columns == ["n_orders", "total_spend"]
    assert set(cm.dropped) == {"customer_id", "Country", "flat", "empty"}
    assert "not numeric" in cm.dropped["customer_id"]
    assert "constant" in cm.dropped["flat"]
    assert cm.dropped["empty"] == "all values missing"


def test_pair_constant_on_its_overlap_is_noted_not_hidden():
    df = pd.DataFrame({"a": [1.0, 2, 3, 4, 5, 6], "b": [2.0, 1, 1, 1, 1, 3],
                       "c": [np.nan, 1, 2, 3, 4, np.nan]})
    cm = correlation_matrix(df, method="pearson", columns=["b", "c", "a"])
    row = cm.long[(cm.long["x"] == "b") & (cm.long["y"] == "c")].iloc[0]
    assert np.isnan(row["r"]) and row["n"] == 4
    assert any("b × c" in n and "constant" in n for n in cm.notes)


@pytest.mark.parametrize(("df", "kwargs", "match"), [
    (pd.DataFrame({"a": [1, 2, 3], "k": [1, 1, 1]}), {}, "at least 2 usable"),
    (pd.DataFrame({"a": [np.nan] * 4, "b": ["x"] * 4}), {}, "all values missing"),
    (pd.DataFrame({"a": [1, 2, 3, 4]}), {"columns": ["a", "zz"]}, "not in the table"),
    (pd.DataFrame({"a": [1, 2], "b": [2, 1]}), {"adjust": "bonferroni"}, "choose one of"),
    (pd.DataFrame(), {}, "empty"),
    ([[1, 2], [3, 4]], {}, "DataFrame"),
])
def test_bad_input(df, kwargs, match):
    with pytest.raises(InputError, match=match):
        correlation_matrix(df, **kwargs)


def test_ranks_computed_once_give_scipy_spearman_to_the_bit():
    """Spearman from each column's ranks, computed once, equals scipy.stats.spearmanr on the
    pair (r and p, exactly): ties, a column with NaN (ranked per pair on its complete rows)
    and a perfect monotone pair (r = 1, p = 0)."""
    from scipy.stats import rankdata

    from valuemax.stats._correlation import spearman_from_ranks

    rng = np.random.default_rng(7)
    x = rng.integers(0, 20, 3_000).astype(float)           # many ties
    y = x * 0.5 + rng.normal(0, 3, 3_000)
    z = np.where(rng.random(3_000) < 0.1, np.nan, rng.lognormal(0, 1, 3_000) + y)
    for a, b in ((x, y), (y, x), (x, x ** 3)):
        ref = stats.spearmanr(a, b)
        assert spearman_from_ranks(rankdata(a), rankdata(b)) == (ref.statistic, ref.pvalue)
    cm = correlation_matrix(pd.DataFrame({"x": x, "y": y, "z": z}), adjust="holm")
    for a, b in (("x", "y"), ("x", "z"), ("y", "z")):
        u, v = cm.long.set_index(["x", "y"]).loc[(a, b), ["r", "p_value"]]
        ok = ~np.isnan(z) if "z" in (a, b) else np.ones(3_000, bool)
        cols = {"x": x, "y": y, "z": z}
        ref = stats.spearmanr(cols[a][ok], cols[b][ok])
        assert (u, v) == (ref.statistic, ref.pvalue)
    assert cm.n.loc["x", "z"] == int((~np.isnan(z)).sum())
