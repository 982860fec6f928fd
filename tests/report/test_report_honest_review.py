"""A new user's review of the report's wording (CDNOW / Online Retail findings): each claim
is checked on small hand-built inputs, so that the text says only what its figures show."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import numpy as np
import pandas as pd

from valuemax.report._sections_propensity import _verdict


def _prop(aucs: dict[str, float]) -> SimpleNamespace:
    """A propensity result with these holdout AUCs (the chosen model is the logit)."""
    metrics = pd.DataFrame({"model": list(aucs), "roc_auc": list(aucs.values())})
    return SimpleNamespace(metrics=metrics, chosen_model="logit")


def test_a_weak_bgnbd_baseline_is_not_read_as_the_chosen_models_p_alive():
    """CDNOW: the BG/NBD P(alive) baseline scored AUC 0.344, but the CLV step chose
    MBG/NBD, whose P(alive) is the one in customers.csv: the page must say the baseline is
    BG/NBD's, not the chosen model's."""
    res = _prop({"logit": 0.83, "recency": 0.80, "btyd_p_alive": 0.344,
                 "btyd_expected_purchases": 0.78})
    text = _verdict(res, "MBG/NBD")
    assert "BG/NBD P(alive) (AUC 0.344)" in text
    assert "not those of MBG/NBD" in text
    assert "say nothing about the P(alive) in the customer files" in text
    # the chosen purchase model is BG/NBD itself: no such sentence
    assert "not those of" not in _verdict(res, "BG/NBD")
    assert "not those of" not in _verdict(res)


def test_left_out_churn_risk_is_not_named_in_the_notes_and_the_shortfall_is_said():
    """CDNOW: churn_risk left out, yet a note said "(0 of them read Low churn risk)" (a
    column not in customers.csv), and "not
    informative" for an AUC of 0.831 against a recency baseline of 0.835."""
    from valuemax.cli._render import propensity_lines
    from valuemax.pipeline._parts import without_churn_risk
    from valuemax.propensity._fit import recency_beyond_note
    from valuemax.propensity._result import PropensityResult

    fit = pd.DataFrame({"recency_days": [3, 40, 100]})
    now = pd.DataFrame({"recency_days": [5, 150, 300]})
    scores = pd.DataFrame({"customer_id": ["a", "b", "c"], "p_buy_90d": [0.9, 0.3, 0.1],
                           "churn_risk": ["Low", "Medium", "High"],
                           "churn_risk_extrapolated": [False, True, True]})
    beyond = recency_beyond_note(fit, now, scores, 90)
    assert "churn_risk_extrapolated is True" in beyond  # the fit's note, as it was
    res = _prop({"logit": 0.831, "recency": 0.835, "btyd_p_alive": 0.344})
    found = PropensityResult(
        horizon_days=90, cutoff=datetime.date(2024, 1, 1), scores=scores,
        metrics=res.metrics, chosen_model="logit", calibration=pd.DataFrame(),
        gains=pd.DataFrame(), importance=pd.DataFrame(), notes=(beyond,))
    out = without_churn_risk(found)
    # the levels go; the flag of the customers whose kept score extrapolates stays, and
    # the note names it (review: on CDNOW the count was said with no column to find them)
    assert "churn_risk" not in out.scores
    assert out.scores["churn_risk_extrapolated"].tolist() == [False, True, True]
    text = " ".join(out.notes)
    assert "read Low churn risk" not in text
    assert "extrapolates beyond the training data; churn_risk_extrapolated is True for them" \
        in text
    assert "2 customers (66.7%) have been inactive longer" in text  # the rest stays
    said = "rank no better than the recency baseline (AUC 0.831 vs 0.835)"
    assert said in text and "not informative" not in text
    line, _ = propensity_lines(out)
    assert f"churn risk not given (the scores {said})" in line


def _value(pred: float, actual: float, n: int) -> SimpleNamespace:
    """A value result whose holdout check beats the naive rate, with these totals."""
    from valuemax.clv._holdout import HoldoutValidation

    v = HoldoutValidation(customers=pd.DataFrame({"actual": np.zeros(n)}),
                          by_frequency=pd.DataFrame(), mae=0.5, rmse=0.7, naive_mae=0.8,
                          naive_rmse=1.0, actual_total=actual, predicted_total=pred,
                          naive_total=actual)
    return SimpleNamespace(validation=v, horizon_months=12, indistinguishable=(),
                           model_name="MBG/NBD", model=SimpleNamespace(params_={},
                                                                       boundary_=()),
                           comparison=None, p_alive_informative=True, time_unit="D",
                           history_days=500)


def test_size_budgets_only_when_the_holdout_total_is_right():
    """CDNOW: "so CLV can rank customers and size budgets" beside 245 predicted against 163
    actual holdout purchases (+50%) on 80 customers."""
    from valuemax.report._sections_value import _verdict as value_verdict

    cust = pd.DataFrame({"frequency": [1, 2], "T": [400.0, 400.0]})
    off = value_verdict(_value(245, 163, 80), cust)
    assert "size budgets" not in off
    assert "over-forecasts the holdout total by 50%" in off  # 245 / 163 - 1 = 0.503
    under = value_verdict(_value(100, 163, 5000), cust)
    assert "under-forecasts the holdout total by 39%" in under and "size budgets" not in under
    few = value_verdict(_value(170, 163, 80), cust)  # +4%, but 80 customers
    assert "size budgets" not in few and "only 80 customers in the holdout check" in few
    ok = value_verdict(_value(170, 163, 5000), cust)
    assert "so CLV can rank customers and size budgets (its holdout total is within 20%" in ok


def test_churn_note_does_not_point_to_p_alive_when_p_alive_cannot_rank():
    """The CLV warning said P(alive) cannot rank customers (use the RFM segments), while the
    propensity note said "Read them with their RFM segment and P(alive)"."""
    from valuemax.pipeline._parts import with_p_alive_caveat
    from valuemax.propensity._fit import recency_beyond_note
    from valuemax.propensity._result import PropensityResult

    fit = pd.DataFrame({"recency_days": [3, 40, 100]})
    now = pd.DataFrame({"recency_days": [5, 150, 300]})
    scores = pd.DataFrame({"p_buy_90d": [0.9, 0.3, 0.1],
                           "churn_risk": ["Low", "Medium", "High"]})
    note = recency_beyond_note(fit, now, scores, 90)
    assert "RFM segment and P(alive)" in note  # the fit's advice, as it was
    found = PropensityResult(
        horizon_days=90, cutoff=datetime.date(2024, 1, 1), scores=scores,
        metrics=pd.DataFrame(), chosen_model="logit", calibration=pd.DataFrame(),
        gains=pd.DataFrame(), importance=pd.DataFrame(), notes=("other", note))
    warned = SimpleNamespace(p_alive_warning="P(alive) is not informative here: ...")
    out = with_p_alive_caveat(found, warned)
    text = " ".join(out.notes)
    assert "P(alive), not the score" not in text and "other" in out.notes
    assert "Read them with their RFM segment, not the score alone (P(alive) cannot" in text
    # P(alive) usable: the advice stays
    assert with_p_alive_caveat(found, SimpleNamespace(p_alive_warning=None)) is found



def test_churn_and_segments_disagreeing_is_said_both_ways():
    """CDNOW: 1,857 of 6,321 Champions read High churn risk, unsaid (only lapsed segments
    reading Low churn risk had the note)."""
    from tests.report.test_report_text import _visible

    from valuemax.propensity._result import PropensityResult
    from valuemax.report._sections_propensity import _churn

    seg = ["Champions"] * 5 + ["At Risk"] * 3 + ["Lost"] * 2
    risk = ["High", "High", "Low", "Medium", "Low", "Low", "High", "High", "High", "High"]
    cust = pd.DataFrame({"customer_id": [f"c{i}" for i in range(10)], "segment": seg,
                         "churn_risk": risk})
    found = PropensityResult(
        horizon_days=90, cutoff=datetime.date(2024, 1, 1), scores=cust[["customer_id",
                                                                        "churn_risk"]],
        metrics=pd.DataFrame(), chosen_model="logit", calibration=pd.DataFrame(),
        gains=pd.DataFrame(), importance=pd.DataFrame())
    text = _visible(_churn(found, cust))
    assert "2 of 5 Champions read High churn risk" in text
    assert "1 of 3 At Risk read Low churn risk" in text
    # no Champion at High: no such note
    calm = cust.assign(churn_risk=["Low"] * 5 + risk[5:])
    assert "Champions read High" not in _visible(_churn(found, calm))


def test_the_degenerate_rule_reads_as_two_sentences():
    """summary.json ``clv.rule`` read "...reached none (The chosen model has the lowest
    holdout MAE ...)": a sentence inside parentheses, run on."""
    from valuemax.clv._choose import _degenerate_rule
    from valuemax.clv._select import RULE

    for boundary in ((), ("no drop-out",)):
        text = _degenerate_rule("MBG/NBD", boundary, RULE)
        assert "(The" not in text
        assert text.endswith(". " + RULE)


def test_one_day_high_spenders_count_only_the_rows_shown():
    """Online Retail: "158 high spenders (...; 158 of them in the table above)" under a table
    showing 50 of 1,383 rows."""
    from tests.report.test_report_text import _visible

    from valuemax.decide import high_value_at_risk
    from valuemax.report._sections_value import _at_risk

    n = 1000
    spend = np.arange(1, n + 1, dtype=float)  # top 20%: 801 and up
    cust = pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(n)], "total_spend": spend,
        "p_alive": np.where(spend > 800, 0.2, 0.9),  # every top spender at risk: 200 rows
        "frequency": np.where((spend > 800) & (spend <= 830), 0, 3),  # 30 bought on one day
        "expected_avg_value": 10.0, "recency_days": 100, "n_orders": 2, "clv_12": 5.0,
        "segment": "At Risk"})
    risk = high_value_at_risk(cust)
    assert len(risk) == 200  # computed here: ids with spend 801..1000
    shown = set(risk["customer_id"].head(50))
    one_day = cust.loc[cust["frequency"] == 0, "customer_id"]
    assert len(one_day) == 30 and not one_day.isin(shown).any()  # the smallest of them
    text = _visible(_at_risk(cust, "clv_12"))
    assert "30 high spenders (top 20% by total spend; 0 of them among the 50 rows shown " \
           "above, 30 in the whole at-risk list (CSV))" in text
    assert "30 of them in the table above" not in text


def test_cdnow_summary_and_report_carry_the_counts(cdnow_master_analysis):
    """CDNOW (the shared session run): summary.json has the terminal's "high value at
    risk" count (top-20% spenders with P(alive) < 0.5), and the report says how many
    Champions read High churn risk; both recomputed here from customers.parquet."""
    import json
    import math

    from tests.report.test_report_text import _visible

    res = cdnow_master_analysis
    cust = pd.read_parquet(res.out / "customers.parquet")
    summary = json.loads((res.out / "summary.json").read_text(encoding="utf-8"))
    got = summary["clv"]["high_value_at_risk"]
    if res.value.p_alive_informative:
        spend = np.sort(cust["total_spend"].to_numpy(dtype=float))[::-1]
        threshold = spend[math.ceil(0.2 * len(spend)) - 1]
        mine = int(((cust["total_spend"] >= threshold) & (cust["p_alive"] < 0.5)).sum())
        assert got["n_customers"] == mine and mine > 0
        assert got["p_alive_below"] == 0.5
    else:
        assert "skipped" in got
    text = _visible((res.out / "report.html").read_text(encoding="utf-8"))
    if "churn_risk" in cust:
        champ = cust[cust["segment"] == "Champions"]
        n_high = int((champ["churn_risk"] == "High").sum())
        said = f"{n_high:,} of {len(champ):,} Champions read High churn risk"
        assert (said in text) is (n_high > 0)


def test_cdnow_recent_segments_say_how_far_back_recent_reaches(cdnow_master_analysis):
    """Review (CDNOW): the R quintile cuts are 141, 432, 485 and 512 days, so "Champions"
    ("bought recently") and "Promising" ("bought fairly recently") hold customers gone over
    a year (2,007 of 6,321 Champions inactive over 180 days), unsaid. The segments stay the
    field's standard quintile names; the caveat says how far back "recent" reaches, with the
    counts, on every surface: the run's list, summary.json, the report's segments section,
    the store's runs.caveats and the terminal. Figures recomputed from customers.parquet."""
    import io
    import json

    import duckdb
    from rich.console import Console
    from tests.report.test_report_text import _visible

    from valuemax.cli._render import print_summary
    from valuemax.report._format import plain

    res = cdnow_master_analysis
    cust = pd.read_parquet(res.out / "customers.parquet")
    cuts = np.quantile(cust["recency_days"].to_numpy(dtype=float), [0.2, 0.4, 0.6, 0.8])
    assert np.round(cuts).tolist() == [141, 432, 485, 512]
    champ = cust[cust["segment"] == "Champions"]
    gone = int((champ["recency_days"] > 180).sum())
    assert (gone, len(champ)) == (2007, 6321)
    assert champ["recency_days"].max() <= cuts[1]  # R 4 or 5: within 432 days
    said = [c for c in res.caveats if c.code == "recent_reach"]
    assert len(said) == 1 and said[0].step == "segments"
    text = said[0].text
    assert "the R score's top quintile reaches back 141 days and its R score of 4 432 days" in text
    assert "Champions, reaching back 432 days: 2,007 of 6,321" in text
    promising = cust[cust["segment"] == "Promising"]
    n_p = int((promising["recency_days"] > 180).sum())
    assert (f"Promising, reaching back 485 days: {n_p:,} of {len(promising):,}" in text) is \
        (n_p > 0)
    summary = json.loads((res.out / "summary.json").read_text(encoding="utf-8"))
    assert {"step": "segments", "code": "recent_reach", "text": text} in summary["caveats"]
    page = _visible((res.out / "report.html").read_text(encoding="utf-8"))
    start = page.index("3. Segments (RFM)", page.index("3. Segments (RFM)") + 1)  # not the TOC
    segments = page[start:page.index("4. Clusters", start)]
    assert plain(text) in segments
    with duckdb.connect(str(res.out / "valuemax.duckdb"), read_only=True) as con:
        stored = json.loads(con.execute("SELECT caveats FROM runs").fetchone()[0])
    assert stored["segments"] == [text]
    buf = io.StringIO()
    print_summary(Console(file=buf, width=400), res)
    out = " ".join(buf.getvalue().split())
    assert f"caveat: {text}" in out
    assert out.index("RFM segments") < out.index(f"caveat: {text}") < out.index("K-means")
