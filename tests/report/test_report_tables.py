"""Report tables computed with integer codes and numpy equal a plain pandas computation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from valuemax.report._sections_basket import suggestions_by_segment


def _plain(rec: pd.DataFrame, customers: pd.DataFrame, top: int) -> pd.DataFrame:
    """The straightforward pandas version: merge, group-by per (segment, item), head."""
    seg = customers[["customer_id", "segment"]].astype({"customer_id": "string"})
    m = rec.astype({"customer_id": "string"}).merge(seg, on="customer_id", how="left")
    m["segment"] = m["segment"].astype("object").where(m["segment"].notna(), "(no segment)")
    by = (m.groupby(["segment", "item"])["customer_id"].nunique().rename("n").reset_index()
          .sort_values(["segment", "n", "item"], ascending=[True, False, True]))
    top_items = by.groupby("segment").head(top).groupby("segment", sort=True)
    return pd.DataFrame({
        "segment": sorted(m["segment"].unique()),
        "customers_with_suggestions": m.groupby("segment")["customer_id"].nunique().to_numpy(),
        "rule_share": m.groupby("segment")["source"].apply(lambda s: (s == "rule").mean())
        .to_numpy(),
        "items": [g["item"].tolist() for _, g in top_items],
        "item_customers": [g["n"].tolist() for _, g in top_items]})


def test_suggestions_by_segment_equal_plain_pandas():
    """Random suggestions (repeated (customer, item) rows, customers absent from the table or
    without a segment, ties in the counts): same segments, counts, shares, items, order."""
    rng = np.random.default_rng(3)
    n = 4_000
    rec = pd.DataFrame({"customer_id": [f"C{i}" for i in rng.integers(0, 600, n)],
                        "item": [f"I{i:02d}" for i in rng.integers(0, 25, n)],
                        "source": rng.choice(["rule", "co-occurrence"], n)})
    segment = rng.choice(["Loyal", "Lost", "New", None], 550).astype(object)
    customers = pd.DataFrame({"customer_id": [f"C{i}" for i in range(550)],  # C550.. absent
                              "segment": segment})
    got, most = suggestions_by_segment(rec, customers, top=4)
    want = _plain(rec, customers, 4)
    pd.testing.assert_frame_equal(got.drop(columns="rule_share"),
                                  want.drop(columns="rule_share"), check_dtype=False)
    assert got["rule_share"].tolist() == want["rule_share"].tolist()  # exactly
    assert "(no segment)" in set(got["segment"])
    assert most == rec.groupby("customer_id").size().max()


def test_suggestions_count_a_customer_once_per_item():
    rec = pd.DataFrame({"customer_id": ["a", "a", "b", "c", "c"],
                        "item": ["x", "x", "x", "y", "x"],
                        "source": ["rule", "rule", "co", "co", "rule"]})
    customers = pd.DataFrame({"customer_id": ["a", "b", "c"], "segment": ["S", "S", "T"]})
    got, most = suggestions_by_segment(rec, customers, top=5)
    assert got["segment"].tolist() == ["S", "T"]
    assert got["customers_with_suggestions"].tolist() == [2, 1]
    assert got["rule_share"].tolist() == [2 / 3, 0.5]
    assert got["items"].tolist() == [["x"], ["x", "y"]]  # tie 1-1: by item
    assert got["item_customers"].tolist() == [[2], [1, 1]]
    assert most == 2


def test_top_rows_and_share_equal_the_full_sort():
    """The top-CLV table sorts only the rows at or above the 50th value: same rows, same
    order (ties in table order, NaN last) and the same top-10% share, to the bit."""
    from valuemax.report._sections_value import top_rows, top_share

    rng = np.random.default_rng(5)
    v = np.round(rng.lognormal(3, 1, 5_000), 0)               # many ties
    v[rng.random(5_000) < 0.05] = np.nan
    frame = pd.DataFrame({"customer_id": [f"C{i}" for i in range(5_000)], "clv": v,
                          "other": rng.random(5_000)})
    full = frame.sort_values("clv", ascending=False, kind="stable")
    for n in (1, 50, 4_800):                                   # 4,800: NaN rows included
        pd.testing.assert_frame_equal(top_rows(frame, "clv", n), full.head(n))
    k = int(np.ceil(0.1 * len(frame)))
    assert top_share(frame["clv"]) == float(full["clv"].head(k).sum() / frame["clv"].sum())
    assert np.isnan(top_share(pd.Series([0.0, 0.0])))


def test_the_qq_plot_of_many_residuals_says_it_draws_quantiles():
    """Above 2,000 residuals the Q-Q plot draws 2,000 evenly spaced quantiles of all of them
    (the smallest and the largest included), and its caption says so; below, every point."""
    from valuemax.report import _plots as plots
    from valuemax.report._sections_stats import _regression
    from valuemax.stats import value_drivers

    rng = np.random.default_rng(11)
    n = 6_000
    customers = pd.DataFrame({"customer_id": [f"C{i}" for i in range(n)],
                              "n_orders": rng.integers(1, 20, n),
                              "recency_days": rng.integers(0, 700, n),
                              "tenure_days": rng.integers(0, 700, n)})
    customers["total_spend"] = customers["n_orders"] * rng.lognormal(3, 0.5, n)
    vd = value_drivers(customers)
    html = _regression(vd, vd.regression)
    assert f"(2,000 evenly spaced quantiles of the {vd.regression.n:,})" in html
    fig = plots.qq_plot(vd.regression.residuals)
    y = np.asarray(fig.data[1].y)
    e = np.sort(vd.regression.residuals)
    z = (e - e.mean()) / e.std(ddof=1)
    assert y.size == plots.QQ_POINTS
    assert (y[0], y[-1]) == (round(z[0], 4), round(z[-1], 4))
    small = value_drivers(customers.iloc[:500])
    assert "evenly spaced quantiles" not in _regression(small, small.regression)


def test_the_at_risk_caption_names_its_rule_and_counts_its_rows():
    """A new user saw 'low P(alive) ... the 50 largest shown' above 35 rows picked by RFM
    segment, P(alive) ~ 1 (not informative): the caption now says the rule used and how many
    rows it shows."""
    from valuemax.decide import AT_RISK_SEGMENTS
    from valuemax.report._sections_value import _at_risk_caption

    by_segment = _at_risk_caption(35, by_segment=True)
    assert by_segment == (f"High past spend, in the RFM segments {' or '.join(AT_RISK_SEGMENTS)}"
                          ", by past spend: all 35 shown (also in the CSV).")
    assert _at_risk_caption(1_200, by_segment=False) == (
        "High past spend, low P(alive), by past spend: the 50 largest shown, every one in the "
        "CSV.")
