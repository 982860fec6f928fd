"""The named-segment rule table, assign_segments and segment_summary."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from valuemax.exceptions import InputError
from valuemax.segment import (
    RFM_SEGMENT_RULES,
    SEGMENT_NAMES,
    RFMScores,
    assign_segments,
    rfm_scores,
    segment_summary,
)

ALL_CELLS = pd.DataFrame(
    list(itertools.product(range(1, 6), repeat=3)), columns=["r_score", "f_score", "m_score"]
)

#: The 11-segment table of the rfm vignette "RFM - Transaction Level Data" (case_when, first
#: match wins, unmatched -> "Others"), names normalised to ours.
SOURCE = [
    ("Champions", (4, 5), (4, 5), (4, 5)),
    ("Loyal", (2, 5), (3, 5), (3, 5)),
    ("Potential Loyalist", (3, 5), (1, 3), (1, 3)),
    ("New", (4, 5), (1, 1), (1, 1)),
    ("Promising", (3, 4), (1, 1), (1, 1)),
    ("Need Attention", (2, 3), (2, 3), (2, 3)),
    ("About To Sleep", (2, 3), (1, 2), (1, 2)),
    ("At Risk", (1, 2), (2, 5), (2, 5)),
    ("Can't Lose Them", (1, 1), (4, 5), (4, 5)),
    ("Hibernating", (1, 2), (1, 2), (1, 2)),
    ("Lost", (1, 2), (1, 2), (1, 2)),
]


def _source_first_match(r, f, m):
    for name, rr, ff, mm in SOURCE:
        if rr[0] <= r <= rr[1] and ff[0] <= f <= ff[1] and mm[0] <= m <= mm[1]:
            return name
    return None


def test_every_cell_gets_exactly_one_segment_and_all_are_reachable():
    seg = assign_segments(ALL_CELLS)
    assert seg.notna().all() and len(seg) == 125
    # first match wins: the assigned rule is the first containing rule, checked directly
    for (r, f, m), name in zip(ALL_CELLS.itertuples(index=False), seg, strict=True):
        first = next(rule.name for rule in RFM_SEGMENT_RULES
                     if rule.r[0] <= r <= rule.r[1] and rule.f[0] <= f <= rule.f[1]
                     and rule.m[0] <= m <= rule.m[1])
        assert name == first
    counts = seg.value_counts()
    assert set(counts.index) == set(SEGMENT_NAMES) and (counts > 0).all()
    assert counts.to_dict() == {
        "Potential Loyalist": 40, "Loyal": 28, "At Risk": 27, "Champions": 8,
        "Need Attention": 6, "Can't Lose Them": 4, "Lost": 4, "Hibernating": 3,
        "About To Sleep": 2, "New": 2, "Promising": 1,
    }
    assert list(seg.cat.categories) == list(SEGMENT_NAMES)
    assert len(SEGMENT_NAMES) == 11


def test_source_table_first_match_is_not_total_and_adaptations_are_as_documented():
    source = {tuple(c): _source_first_match(*c) for c in ALL_CELLS.itertuples(index=False)}
    ours = dict(zip(map(tuple, ALL_CELLS.itertuples(index=False)), assign_segments(ALL_CELLS),
                    strict=True))
    # the source as published: 36 cells unassigned, 4 segments unreachable
    assert sum(v is None for v in source.values()) == 36
    assert {"New", "Promising", "Can't Lose Them", "Lost"}.isdisjoint(source.values())
    changed = {c: (source[c], ours[c]) for c in source
               if source[c] is not None and source[c] != ours[c]}
    assert changed == {
        (4, 1, 1): ("Potential Loyalist", "New"),
        (5, 1, 1): ("Potential Loyalist", "New"),
        (3, 1, 1): ("Potential Loyalist", "Promising"),
        (3, 2, 2): ("Potential Loyalist", "Need Attention"),
        (3, 2, 3): ("Potential Loyalist", "Need Attention"),
        (3, 3, 2): ("Potential Loyalist", "Need Attention"),
        (3, 1, 2): ("Potential Loyalist", "About To Sleep"),
        (3, 2, 1): ("Potential Loyalist", "About To Sleep"),
        (1, 5, 4): ("At Risk", "Can't Lose Them"),
        (1, 4, 4): ("At Risk", "Can't Lose Them"),
        (1, 4, 5): ("At Risk", "Can't Lose Them"),
        (1, 5, 5): ("At Risk", "Can't Lose Them"),
        (1, 2, 2): ("At Risk", "Lost"),
        (1, 1, 1): ("Hibernating", "Lost"),
        (1, 1, 2): ("Hibernating", "Lost"),
        (1, 2, 1): ("Hibernating", "Lost"),
        (2, 1, 1): ("About To Sleep", "Hibernating"),
        (2, 1, 2): ("About To Sleep", "Hibernating"),
        (2, 2, 1): ("About To Sleep", "Hibernating"),
    }
    # cells the source left out go to the catch-alls of their recency level
    for c, name in source.items():
        if name is None:
            assert ours[c] == ("Potential Loyalist" if c[0] >= 3 else "At Risk")


@pytest.mark.parametrize(
    ("cell", "name"),
    [((5, 5, 5), "Champions"), ((3, 3, 3), "Loyal"), ((1, 5, 5), "Can't Lose Them"),
     ((5, 1, 1), "New"), ((3, 1, 1), "Promising"), ((2, 2, 2), "Need Attention"),
     ((3, 1, 2), "About To Sleep"), ((5, 5, 1), "Potential Loyalist"), ((1, 1, 1), "Lost"),
     ((2, 1, 1), "Hibernating"), ((1, 3, 3), "At Risk"), ((2, 1, 5), "At Risk")],
)
def test_named_cells(cell, name):
    frame = pd.DataFrame([cell], columns=["r_score", "f_score", "m_score"], index=["x"])
    seg = assign_segments(frame)
    assert seg.loc["x"] == name and seg.name == "segment"


def test_assign_from_rfm_scores_keeps_index():
    c = pd.DataFrame({"recency_days": [1, 400, 30], "n_orders": [9, 9, 1],
                      "total_spend": [900.0, 900.0, 5.0]}, index=[10, 20, 30])
    seg = assign_segments(rfm_scores(c))
    assert seg.index.tolist() == [10, 20, 30]
    with pytest.raises(InputError, match="n_bins=4"):
        assign_segments(rfm_scores(c, n_bins=4))


def test_bad_scores_rejected():
    with pytest.raises(InputError, match=r"\['m_score'\] not found"):
        assign_segments(pd.DataFrame({"r_score": [1], "f_score": [1]}))
    with pytest.raises(InputError, match=r"integers in 1\.\.5; 1 of 2"):
        assign_segments(pd.DataFrame({"r_score": [1, 6], "f_score": [1, 1], "m_score": [1, 1]}))
    with pytest.raises(InputError, match=r"integers in 1\.\.5"):
        assign_segments(pd.DataFrame({"r_score": [1.5], "f_score": [1], "m_score": [1]}))
    with pytest.raises(InputError, match="RFMScores or a DataFrame"):
        assign_segments([1, 2, 3])


def _small():
    c = pd.DataFrame({
        "customer_id": list("abcde"),
        "recency_days": [1, 3, 200, 10, 20],
        "n_orders": [10, 6, 1, 2, 4],
        "total_spend": [1000.0, 500.0, 20.0, 60.0, 20.0],
    })
    seg = pd.Series(pd.Categorical(["Champions", "Champions", "Lost", "New", "New"],
                                   categories=list(SEGMENT_NAMES)), name="segment")
    return c, seg


def test_segment_summary_hand_computed():
    c, seg = _small()
    before = c.copy(deep=True)
    out = segment_summary(c, seg)
    pd.testing.assert_frame_equal(c, before)
    assert out.columns.tolist() == [
        "segment", "n_customers", "share_customers", "revenue", "revenue_share",
        "mean_recency_days", "mean_n_orders", "mean_total_spend"]
    assert len(out) == 11
    assert out["segment"].tolist()[:3] == ["Champions", "New", "Lost"]
    top = out.iloc[0]
    assert top["n_customers"] == 2 and top["revenue"] == pytest.approx(1500.0)
    assert top["share_customers"] == pytest.approx(0.4)
    assert top["revenue_share"] == pytest.approx(1500 / 1600)
    assert top["mean_recency_days"] == pytest.approx(2.0)
    assert top["mean_n_orders"] == pytest.approx(8.0)
    assert top["mean_total_spend"] == pytest.approx(750.0)
    assert out["share_customers"].sum() == pytest.approx(1.0)
    assert out["revenue_share"].sum() == pytest.approx(1.0)
    assert out["revenue"].is_monotonic_decreasing
    empty = out[out["n_customers"] == 0]
    assert len(empty) == 8 and (empty["revenue"] == 0).all()
    assert (empty["share_customers"] == 0).all() and empty["mean_total_spend"].isna().all()
    # empty segments after the non-empty ones, in rule order
    assert empty["segment"].tolist() == [s for s in SEGMENT_NAMES
                                         if s not in ("Champions", "New", "Lost")]


def test_segment_summary_on_real_scores_and_plain_strings(rng):
    n = 400
    c = pd.DataFrame({"recency_days": rng.integers(0, 365, n), "n_orders": rng.geometric(0.4, n),
                      "total_spend": rng.lognormal(5, 1, n)})
    seg = assign_segments(rfm_scores(c))
    out = segment_summary(c, seg)
    assert out["n_customers"].sum() == n
    assert out["share_customers"].sum() == pytest.approx(1.0)
    assert out["revenue_share"].sum() == pytest.approx(1.0)
    assert out["revenue"].sum() == pytest.approx(c["total_spend"].sum())
    out_str = segment_summary(c, seg.astype(str))
    pd.testing.assert_frame_equal(out, out_str)
    other = segment_summary(c, pd.Series(np.where(c["n_orders"] > 1, "repeat", "once")))
    assert sorted(other["segment"]) == ["once", "repeat"]


def test_segment_summary_rejects_misaligned_segments():
    c, seg = _small()
    with pytest.raises(InputError, match="indexed exactly like"):
        segment_summary(c, seg.iloc[:3])
    with pytest.raises(InputError, match="1 customers have no segment"):
        segment_summary(c, pd.Series(["New", None, "New", "New", "New"]))


# ---------------------------------------------------------------- a log without prices


def test_without_m_the_rules_read_m_as_f():
    cells = pd.DataFrame(list(itertools.product(range(1, 6), repeat=2)),
                         columns=["r_score", "f_score"])
    scored = RFMScores(scores=cells, cut_points={}, notes=(),
                       columns={"recency": "recency_days", "frequency": "n_orders"})
    got = assign_segments(scored).astype(str).tolist()
    # first matching rule of the table, looked up directly with m = f
    want = [next(rule.name for rule in RFM_SEGMENT_RULES
                 if rule.r[0] <= r <= rule.r[1] and rule.f[0] <= f <= rule.f[1]
                 and rule.m[0] <= f <= rule.m[1])
            for r, f in cells.itertuples(index=False)]
    assert got == want
    assert got[-1] == "Champions" and got[0] == "Lost"  # (5, 5) and (1, 1)
    # a frame without m_score is still refused: only scores made without M read M as F
    with pytest.raises(InputError, match=r"monetary=None"):
        assign_segments(cells)


def test_segment_summary_without_money_has_no_revenue():
    c = pd.DataFrame({"recency_days": [1, 2, 30, 40, 50], "n_orders": [5, 4, 1, 1, 2]})
    seg = pd.Series(["A", "B", "A", "C", "A"], index=c.index)
    out = segment_summary(c, seg, monetary=None)
    assert list(out.columns) == ["segment", "n_customers", "share_customers",
                                 "mean_recency_days", "mean_n_orders"]
    assert out["segment"].tolist() == ["A", "B", "C"]  # by size, descending
    assert out["n_customers"].tolist() == [3, 1, 1]
    assert out["mean_recency_days"].tolist() == [(1 + 30 + 50) / 3, 2.0, 40.0]
    assert out["mean_n_orders"].tolist() == [(5 + 1 + 2) / 3, 4.0, 1.0]
