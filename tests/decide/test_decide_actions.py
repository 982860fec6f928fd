"""segment_actions and cluster_actions."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

import valuemax.decide
from valuemax.decide import SEGMENT_ACTIONS, cluster_actions, segment_actions
from valuemax.exceptions import InputError
from valuemax.segment import SEGMENT_NAMES, kmeans_segments


def test_exports():
    assert sorted(valuemax.decide.__all__) == [
        "AT_RISK_ACTION", "AT_RISK_SEGMENTS", "HOLDOUT_ARM", "HoldoutCurve", "PROFIT_FORMULA",
        "SEGMENT_ACTIONS", "TARGET_COLUMNS", "TargetResult", "choose_targets", "cluster_actions",
        "high_value_at_risk", "holdout_assignments", "holdout_profit_curve", "segment_actions", "value_at_risk_summary"]


def test_every_segment_has_one_action_and_a_one_sentence_rationale():
    a = segment_actions()
    assert a.columns.tolist() == ["segment", "action", "rationale"]
    assert a["segment"].tolist() == list(SEGMENT_NAMES)
    assert set(SEGMENT_ACTIONS) == set(SEGMENT_NAMES)
    for row in a.itertuples(index=False):
        assert len(row.action) > 30 and row.action.endswith(".")
        assert row.rationale.endswith(".") and ". " not in row.rationale.rstrip(".")
        assert any(tag in row.rationale for tag in ("R ", "R = ", "R, F", "F, M"))
    champions = a.set_index("segment").loc["Champions", "action"]
    assert "no discounts" in champions and "referral" in champions
    assert "strong offer" in a.set_index("segment").loc["At Risk", "action"]


def test_cluster_actions_follow_the_rfm_pattern():
    levels = ["high", "mid", "low"]
    profile = pd.DataFrame(list(itertools.product(levels, repeat=3)),
                           columns=["r_level", "f_level", "m_level"])
    profile.insert(0, "cluster", range(1, len(profile) + 1))
    out = cluster_actions(profile)
    assert out.columns.tolist() == ["cluster", "action", "rationale"]
    assert out["cluster"].tolist() == profile["cluster"].tolist()
    by_levels = dict(zip(map(tuple, profile[["r_level", "f_level", "m_level"]].to_numpy()),
                         out["action"], strict=True))
    expected = {
        ("high", "high", "high"): "Champions", ("low", "high", "high"): "Can't Lose Them",
        ("high", "low", "low"): "New", ("mid", "low", "low"): "Promising",
        ("low", "low", "low"): "Lost", ("low", "mid", "mid"): "At Risk",
        ("mid", "mid", "mid"): "Loyal", ("high", "high", "low"): "Potential Loyalist",
    }
    for lv, seg in expected.items():
        assert by_levels[lv] == SEGMENT_ACTIONS[seg][0]
    first = out.iloc[0]["rationale"]
    assert first.startswith("Customers here are recent, frequent and high-spending")
    assert "treated like Champions (RFM cell 555" in first


def test_cluster_actions_on_a_kmeans_profile(rng):
    n = 40
    c = pd.DataFrame({
        "recency_days": list(rng.integers(1, 6, n)) + list(rng.integers(250, 300, n)),
        "n_orders": list(rng.integers(20, 30, n)) + [1] * n,
        "total_spend": list(rng.uniform(5000, 6000, n)) + list(rng.uniform(10, 20, n)),
    })
    km = kmeans_segments(c, k_max=3)
    out = cluster_actions(km.profile)
    assert km.k == 2
    assert out["action"].tolist() == [SEGMENT_ACTIONS["Champions"][0], SEGMENT_ACTIONS["Lost"][0]]


def test_cluster_actions_bad_profile():
    with pytest.raises(InputError, match=r"\['r_level'\] not found; available columns"):
        cluster_actions(pd.DataFrame({"cluster": [1], "f_level": ["high"], "m_level": ["low"]}))
    with pytest.raises(InputError, match="one of"):
        cluster_actions(pd.DataFrame({"cluster": [1], "r_level": ["top"], "f_level": ["high"],
                                      "m_level": ["low"]}))


def test_a_mixed_cluster_gets_no_cluster_wide_action():
    """New user: the demo's second cluster (centre like Lost: "suppress them from paid
    campaigns") held New, Potential Loyalist and Loyal customers. With the members given, a
    cluster where under half the customers share the centre's action is "mixed"."""
    profile = pd.DataFrame({"cluster": [1, 2], "r_level": ["high", "low"],
                            "f_level": ["high", "low"], "m_level": ["high", "low"]})
    # cluster 1: 3 Champions of 4 (75%: kept); cluster 2: 2 Lost, 1 Hibernating, 3 New,
    # 4 Potential Loyalist = 10, of which only the 2 Lost share Lost's action (20%)
    members = pd.DataFrame({
        "cluster": [1] * 4 + [2] * 10,
        "segment": ["Champions"] * 3 + ["Loyal"] + ["Lost"] * 2 + ["Hibernating"]
        + ["New"] * 3 + ["Potential Loyalist"] * 4})
    out = cluster_actions(profile, members=members)
    assert out.columns.tolist() == ["cluster", "action", "rationale", "share_same_action"]
    assert out["share_same_action"].tolist() == [0.75, 0.2]
    assert out["action"].iloc[0] == SEGMENT_ACTIONS["Champions"][0]
    assert out["action"].iloc[1] == (
        "Mixed cluster: act on each customer's RFM segment (here mostly Potential Loyalist "
        "40%, New 30%, Lost 20%); no one action fits it.")
    assert out["rationale"].iloc[1] == (
        "Its centre is lapsed, infrequent and low-spending relative to the overall median, "
        "like Lost (RFM cell 111), but only 2 of its 10 customers (20%) are in segments with "
        "that action, so one cluster-wide action would treat most of them wrongly.")
    # a cluster with no member sharing the centre's action says so in words, not "0%"
    # (a 40-customer log: "only 0% of its 7 customers")
    none = cluster_actions(profile, members=members.assign(
        segment=["Champions"] * 3 + ["Loyal"] + ["New"] * 6 + ["Potential Loyalist"] * 4))
    assert none["share_same_action"].tolist() == [0.75, 0.0]
    assert "but none of its 10 customers is in a segment with that action, so one " \
           "cluster-wide action would treat all of them wrongly." in none["rationale"].iloc[1]
    assert "0%" not in none["rationale"].iloc[1]
    # without members: the centre's action, as before
    assert cluster_actions(profile)["action"].tolist() == [SEGMENT_ACTIONS["Champions"][0],
                                                           SEGMENT_ACTIONS["Lost"][0]]


def test_cluster_actions_bad_members():
    profile = pd.DataFrame({"cluster": [1], "r_level": ["high"], "f_level": ["high"],
                            "m_level": ["high"]})
    with pytest.raises(InputError, match=r"members lacks column\(s\) \['segment'\]"):
        cluster_actions(profile, members=pd.DataFrame({"cluster": [1]}))
    with pytest.raises(InputError, match=r"segment\(s\) \['VIP'\] that are not RFM"):
        cluster_actions(profile, members=pd.DataFrame({"cluster": [1], "segment": ["VIP"]}))
    with pytest.raises(InputError, match="no customer in cluster 1"):
        cluster_actions(profile, members=pd.DataFrame({"cluster": [2], "segment": ["Lost"]}))


def test_share_same_action_matches_a_per_cluster_count():
    """Many customers, a nullable cluster column with missing values and string segments:
    each share is the count of the cluster's customers whose segment has the centre's
    action over the cluster's customers, counted here with a pandas group-by."""
    import numpy as np

    rng = np.random.default_rng(7)
    n = 20_000
    levels = ["high", "mid", "low"]
    profile = pd.DataFrame({"cluster": [1, 2, 3], "r_level": levels, "f_level": levels,
                            "m_level": ["high", "low", "mid"]})
    members = pd.DataFrame({
        "cluster": pd.array(rng.integers(1, 4, n), dtype="Int64"),
        "segment": pd.array(rng.choice(list(SEGMENT_NAMES), n), dtype="string")})
    members.loc[members.index[:50], "cluster"] = pd.NA  # dropped, as before
    out = cluster_actions(profile, members=members)
    centre = cluster_actions(profile).set_index("cluster")["action"]
    known = members.dropna()
    same = known["segment"].map(lambda s: SEGMENT_ACTIONS[s][0]) == known["cluster"].map(centre)
    expected = same.groupby(known["cluster"]).mean()
    assert out["share_same_action"].tolist() == [float(expected[c]) for c in (1, 2, 3)]
    assert all(0.0 < s < 0.5 for s in out["share_same_action"])  # all mixed here
    assert all(a.startswith("Mixed cluster") for a in out["action"])
