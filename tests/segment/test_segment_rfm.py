"""rfm_scores: hand-computed quantile cut points, ties, reversal, validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from valuemax.exceptions import InputError
from valuemax.segment import RFMScores, rfm_scores


def _customers(recency, n_orders, spend, ids=None) -> pd.DataFrame:
    n = len(recency)
    return pd.DataFrame(
        {
            "customer_id": ids if ids is not None else [f"c{i}" for i in range(n)],
            "recency_days": recency,
            "n_orders": n_orders,
            "total_spend": spend,
        }
    )


def test_hand_computed_cut_points_and_scores():
    # sorted [1, 3, 5, 7, 9]; type-7 quantile at p sits at position 4p:
    # q20 = 1 + 0.8*2 = 2.6, q40 = 3 + 0.6*2 = 4.2, q60 = 5 + 0.4*2 = 5.8, q80 = 7 + 0.2*2 = 7.4
    c = _customers([5, 1, 9, 3, 7], [5, 1, 9, 3, 7], [5.0, 1.0, 9.0, 3.0, 7.0])
    res = rfm_scores(c)
    for dim in ("recency", "frequency", "monetary"):
        np.testing.assert_allclose(res.cut_points[dim], (2.6, 4.2, 5.8, 7.4), rtol=1e-12)
    # F, M: 1 + #cuts strictly below; R: 5 - #cuts strictly below (fewer days = better)
    assert res.scores["f_score"].tolist() == [3, 1, 5, 2, 4]
    assert res.scores["m_score"].tolist() == [3, 1, 5, 2, 4]
    assert res.scores["r_score"].tolist() == [3, 5, 1, 4, 2]
    assert res.scores["rfm_cell"].tolist() == ["333", "511", "155", "422", "244"]
    assert res.notes == ()
    assert isinstance(res, RFMScores)
    assert res.scores.index.equals(c.index)
    assert str(res.scores["r_score"].dtype) == "int8"


def test_value_equal_to_a_cut_point_goes_to_the_lower_bin():
    # 1..10: cuts 2.8, 4.6, 6.4, 8.2 -> values pair up two per bin
    c = _customers(list(range(1, 11)), list(range(1, 11)), [float(v) for v in range(1, 11)])
    res = rfm_scores(c)
    assert res.scores["m_score"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert res.scores["r_score"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    # 6 values: positions 5p = 1, 2, 3, 4 exactly, so the cuts are the data values 2, 3, 4, 5
    # and each of those values sits on a cut point -> it takes the bin of the lower values
    # (right-closed): the lower score for spend, the higher (more recent) one for recency
    c2 = _customers([1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    res2 = rfm_scores(c2)
    assert res2.cut_points["monetary"] == (2.0, 3.0, 4.0, 5.0)
    assert res2.scores["m_score"].tolist() == [1, 1, 2, 3, 4, 5]
    assert res2.scores["r_score"].tolist() == [5, 5, 4, 3, 2, 1]
    assert len(res2.notes) == 0


def test_matches_pandas_qcut_without_ties(rng):
    spend = rng.lognormal(5, 1, size=997)
    c = _customers(rng.permutation(997), rng.permutation(997) + 1, spend)
    res = rfm_scores(c)
    expected = pd.qcut(spend, 5, labels=False) + 1
    np.testing.assert_array_equal(res.scores["m_score"].to_numpy(), expected)
    # recency reversed: score = 6 - quintile of recency_days
    expected_r = 5 - pd.qcut(c["recency_days"], 5, labels=False).to_numpy()
    np.testing.assert_array_equal(res.scores["r_score"].to_numpy(), expected_r)


def test_heavy_ties_sixty_percent_bought_once():
    # sorted n_orders [1]*6 + [2, 3, 4, 5]: q20 = q40 = 1 (positions 1.8, 3.6),
    # q60 at 5.4 = 1 + 0.4*(2 - 1) = 1.4, q80 at 7.2 = 3 + 0.2*(4 - 3) = 3.2
    n_orders = [1, 1, 1, 1, 1, 1, 2, 3, 4, 5]
    c = _customers(list(range(10)), n_orders, [float(v) for v in range(10)])
    res = rfm_scores(c)
    np.testing.assert_allclose(res.cut_points["frequency"], (1.0, 1.0, 1.4, 3.2))
    assert res.scores["f_score"].tolist() == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    (note,) = [n for n in res.notes if n.startswith("frequency")]
    assert "score(s) 2, 3" in note
    assert "60.0% of customers have n_orders == 1" in note
    assert "20% and 40% quantiles are both 1" in note


def test_customers_who_bought_on_the_observation_end_get_the_top_recency_score():
    """Recency 0 (a purchase on the observation end) is the most recent a customer can be:
    R = 5 also when ties put cut points at 0. A one-day export: every cut point 0, every R
    was 1 ('Lost', 'At Risk' with win-back actions); a quarter of customers on the last day
    (q20 = 0): they were R = 4 and no customer R = 5."""
    one_day = rfm_scores(_customers([0] * 8, [1, 1, 2, 1, 3, 1, 1, 2],
                                    [5.0, 7, 9, 2, 4, 6, 8, 3]))
    assert one_day.cut_points["recency"] == (0.0, 0.0, 0.0, 0.0)
    assert one_day.scores["r_score"].tolist() == [5] * 8
    recency = [0] * 25 + list(range(1, 76))
    quarter = rfm_scores(_customers(recency, [1] * 100, [1.0] * 100))
    assert quarter.cut_points["recency"][0] == 0.0  # q20 falls among the 25 zeros
    r = quarter.scores["r_score"].to_numpy()
    assert (r[:25] == 5).all()
    # the rest: 5 - #cuts strictly below, by hand from the cut points
    cuts = np.array(quarter.cut_points["recency"])
    assert r[25:].tolist() == [5 - int((cuts < x).sum()) for x in recency[25:]]


def test_equal_values_always_get_equal_scores(rng):
    c = _customers(rng.integers(0, 6, 500), rng.integers(1, 4, 500),
                   rng.integers(0, 5, 500).astype(float))
    s = rfm_scores(c).scores
    for col, score in (("recency_days", "r_score"), ("n_orders", "f_score"),
                       ("total_spend", "m_score")):
        per_value = s[score].groupby(c[col]).nunique()
        assert (per_value == 1).all()
    # monotone: a higher value never gets a lower F/M score, nor a higher R score
    order = np.argsort(c["n_orders"].to_numpy(), kind="stable")
    assert np.all(np.diff(s["f_score"].to_numpy()[order]) >= 0)
    order = np.argsort(c["recency_days"].to_numpy(), kind="stable")
    assert np.all(np.diff(s["r_score"].to_numpy()[order]) <= 0)


def test_all_values_equal():
    c = _customers([7] * 4, [2] * 4, [10.0] * 4)
    res = rfm_scores(c)
    assert res.cut_points["monetary"] == (10.0, 10.0, 10.0, 10.0)
    # every value on every cut point: scored with the lower values, the most recent for R
    assert res.scores["rfm_cell"].tolist() == ["511"] * 4
    # one recency for everyone: said first, in plain words (the names' recency part is void)
    assert len(res.notes) == 4
    assert res.notes[0].startswith("Every customer last bought the same number of days "
                                   "before the observation end (7;")
    unused = {n.split(" ", 1)[0]: n for n in res.notes[1:]}
    assert "score(s) 1, 2, 3, 4 of 1..5" in unused["recency"]
    assert all("score(s) 2, 3, 4, 5 of 1..5" in unused[d] for d in ("frequency", "monetary"))
    assert all("100.0%" in n for n in res.notes[1:])


def test_single_customer_and_n_bins():
    res = rfm_scores(_customers([3], [2], [5.0]))
    assert res.scores["rfm_cell"].tolist() == ["511"]
    res3 = rfm_scores(_customers([1, 2, 3], [1, 2, 3], [1.0, 2.0, 3.0]), n_bins=3)
    assert res3.scores["m_score"].tolist() == [1, 2, 3]
    assert res3.scores["r_score"].tolist() == [3, 2, 1]
    np.testing.assert_allclose(res3.quantiles, (1 / 3, 2 / 3))
    frame = res3.to_frame()
    assert frame.columns.tolist() == ["dimension", "column", "q33", "q67"]
    assert frame["dimension"].tolist() == ["recency", "frequency", "monetary"]


def test_custom_column_names_and_to_frame():
    c = pd.DataFrame({"days": [1, 2], "orders": [1, 2], "spend": [1.0, 2.0]})
    res = rfm_scores(c, recency="days", frequency="orders", monetary="spend")
    assert res.columns == {"recency": "days", "frequency": "orders", "monetary": "spend"}
    assert res.to_frame().shape == (3, 6)


def test_input_not_mutated(rng):
    c = _customers(rng.integers(0, 100, 50), rng.integers(1, 9, 50), rng.random(50) * 100)
    before = c.copy(deep=True)
    rfm_scores(c)
    pd.testing.assert_frame_equal(c, before)


def test_missing_columns_listed():
    c = pd.DataFrame({"customer_id": ["a"], "recency_days": [1]})
    with pytest.raises(InputError, match=r"\['n_orders', 'total_spend'\] not found; available "
                                          r"columns: \['customer_id', 'recency_days'\]"):
        rfm_scores(c)


def test_nan_negative_and_zero_orders_reported_with_counts_and_ids():
    c = _customers([1, 2, 3], [1, 2, 3], [1.0, np.nan, np.nan], ids=["a", "b", "c"])
    with pytest.raises(InputError, match=r"missing for 2 of 3 customers \(customer_id b, c\)"):
        rfm_scores(c)
    c = _customers([1, 2, 3], [1, 2, 3], [1.0, -5.0, 3.0], ids=["a", "b", "c"])
    with pytest.raises(InputError, match=r"total_spend.*>= 0; 1 of 3 .*customer_id b.*"
                                          r"preset='standard'"):
        rfm_scores(c)
    c = _customers([1, 2, 3], [0, 2, 0], [1.0, 2.0, 3.0], ids=["a", "b", "c"])
    with pytest.raises(InputError, match=r"n_orders.*>= 1; 2 of 3 .*customer_id a, c"):
        rfm_scores(c)
    c = _customers([-1, 2, 3], [1, 2, 3], [1.0, 2.0, 3.0])
    with pytest.raises(InputError, match=r"recency_days.*>= 0; 1 of 3"):
        rfm_scores(c)
    c = _customers([1, 2], [1, 2], [1.0, np.inf])
    with pytest.raises(InputError, match="infinite for 1 of 2"):
        rfm_scores(c)


def test_bad_tables_and_arguments():
    with pytest.raises(InputError, match="at least 1 customer"):
        rfm_scores(_customers([], [], []))
    with pytest.raises(InputError, match="pandas DataFrame"):
        rfm_scores({"recency_days": [1]})
    c = _customers([1], [1], ["x"])
    with pytest.raises(InputError, match="must be numeric"):
        rfm_scores(c)
    for bad in (1, 10, 2.5, True):
        with pytest.raises(InputError, match="n_bins"):
            rfm_scores(_customers([1], [1], [1.0]), n_bins=bad)


# ---------------------------------------------------------------- a log without prices


def test_no_monetary_scores_r_and_f_as_with_it():
    rng = np.random.default_rng(3)
    c = pd.DataFrame({"recency_days": rng.integers(0, 300, 200),
                      "n_orders": rng.integers(1, 12, 200),
                      "total_spend": rng.gamma(2.0, 50.0, 200)})
    full = rfm_scores(c)
    rf = rfm_scores(c.drop(columns=["total_spend"]), monetary=None)
    assert list(rf.scores.columns) == ["r_score", "f_score", "rfm_cell"]
    pd.testing.assert_frame_equal(rf.scores[["r_score", "f_score"]],
                                  full.scores[["r_score", "f_score"]])
    assert (rf.scores["rfm_cell"] == full.scores["rfm_cell"].str[:2]).all()
    assert set(rf.cut_points) == {"recency", "frequency"}
