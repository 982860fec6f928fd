"""Plain words in the visible page, technical details in collapsed "Model diagnostics" parts."""

from __future__ import annotations

import dataclasses
import re

import pytest

from valuemax.pipeline import StageStatus
from valuemax.report import render_report
from valuemax.report._format import LABELS, TECHNICAL, TERMS, fmt_num, is_technical, plain
from valuemax.report._html import diagnostics, split_notes
from valuemax.report._sections_basket import axis_names
from valuemax.report._sections_stats import fmt_p

DIAG = re.compile(r'<details class="diagnostics">.*?</details>', re.S)
CONVERGENCE = ("ConvergenceError: BetaGeoModel.expected_purchases: the prediction is not finite "
               "for 30 of 30 values at parameters [34457.427721, 2026706.448963, 0.004073, "
               "1330.813655] (a special function overflowed). Refit with a small penalizer.")


def _outside(html: str) -> str:
    return DIAG.sub("", html)


def test_every_known_machine_name_has_plain_words():
    for name, words in TERMS.items():
        if "_" in name:
            assert TECHNICAL.search(name), name      # the pattern sees it ...
        assert not is_technical(words), (name, words)  # ... and its words pass
        assert plain(f"({name}, x)") == f"({words}, x)"
    for name, words in LABELS.items():  # fit statistics appear only in the diagnostics
        if name not in ("loglik", "bic"):
            assert not is_technical(words), (name, words)
    assert plain("clv_6 and expected_purchases_24 and p_buy_30d") == (
        "6-month CLV and expected purchases, 24 months and P(buy within 30 days)")


@pytest.mark.parametrize("text", [
    "ABNORMAL: line search failed", "converged_=False", "p = 2.7e-11", "4.69e-296",
    "estimates [7.403106, 62.789574, 0.0, 2e-06]", "ConvergenceError: overflow",
    "hgb beats top_k_recall", "BetaGeoModel.expected_purchases failed",
    "probability calibration: CalibratedClassifierCV", "BetaGeoModel ran to a bound",
    "|0.6745 (log amount - median) / MAD| > 3.5", "BTYD summary (Fader & Hardie)",
    "no purchase-rate heterogeneity", "beta at the search bound", "the same log-likelihood",
    "the one with the lowest BIC", "Gamma-Gamma independence assumption",
    "NaN policy: gradient boosting handles NaN natively", "mean CV ROC AUC 0.7946",
    "sigmoid calibration over 3 folds", "dropped feature 'spend trend'",
    "e^β = ×0.994585 (-0.542%)", "MAE per customer", "standard errors HC3", "VIF above 5",
    "Holm-adjusted", "conviction is +inf (parquet keeps inf; JSON writes null)"])
def test_technical_text_is_recognised(text):
    assert is_technical(text)


@pytest.mark.parametrize("text", [
    "12,054 of 23,570 customers have no repeat purchase; they are valued at 36.09.",
    "the mean gap between purchases is 36.7 days", "P(alive) is 0.83 on average",
    "BG/NBD and Pareto/NBD give the same holdout error (0.532)"])
def test_plain_text_is_left_visible(text):
    assert not is_technical(text)
    assert split_notes([text]) == ([text], [])


def test_tiny_numbers_and_p_values_are_never_raw_floats():
    assert fmt_num(2.7e-11) == "≈0" and fmt_num(-3e-7) == "≈0" and fmt_num(0.0) == "0"
    # new user: a regression SE of about 8e-5 beside a coefficient of -0.000607 read "≈0"
    assert fmt_num(8.3e-5) == "0.000083" and fmt_num(-1.05e-6) == "-0.0000010"
    assert float(fmt_num(8.3e-5)) == pytest.approx(8.3e-5, rel=0.01)
    assert fmt_num(0.000239) == "0.000239" and fmt_num(0.05) == "0.05"
    assert fmt_p(4.69e-296) == "< 0.001" and fmt_p(0.0) == "< 0.001"
    assert fmt_p(0.00123) == "0.00123" and fmt_p(0.5) == "0.5"


def test_diagnostics_is_closed_and_empty_when_nothing_is_technical():
    assert diagnostics(["", ""]) == ""
    part = diagnostics(["<p>x</p>"], what="fits")
    assert part.startswith('<details class="diagnostics"><summary>Model diagnostics — fits')
    assert " open" not in part


@pytest.mark.parametrize("step, heading", [("value", "Customer value was skipped"),
                                           ("stats", "The statistics did not run"),
                                           ("propensity", "Propensity did not run"),
                                           ("basket", "Basket analysis did not run")])
def test_a_technical_skip_reason_is_told_plainly_and_kept_in_diagnostics(
        small_run, step, heading):
    # the step failed with that exception, as the pipeline records it
    res = dataclasses.replace(small_run, **{step: None}, stages={
        **small_run.stages, step: StageStatus("failed", CONVERGENCE, "ConvergenceError")},
        skipped={step: CONVERGENCE})
    html = render_report(res, sections=(step,))
    outside = _outside(html)
    assert f"{heading}: the models could not be fitted reliably on this log" in outside
    assert "ConvergenceError" not in outside and "34457" not in outside
    inside = "".join(DIAG.findall(html))
    assert "ConvergenceError: BetaGeoModel.expected_purchases" in inside
    assert "[34457.427721, 2026706.448963, 0.004073, 1330.813655]" in inside


def test_a_plain_skip_reason_is_shown_as_written(small_run):
    why = "the log spans 100 days, fewer than two horizons of 90 days"
    res = dataclasses.replace(small_run, propensity=None, stages={
        **small_run.stages, "propensity": StageStatus("skipped", why)},
        skipped={"propensity": why})
    outside = _outside(render_report(res, sections=("propensity",)))
    assert ("Propensity did not run: the log spans 100 days, fewer than two "
            "horizons of 90 days") in outside


def test_report_shows_no_machine_name_outside_diagnostics(small_run):
    html = _outside(render_report(small_run))
    body = html[html.index("<main>"):html.index("</main>")]
    body = re.sub(r"<script.*?</script>|<[^>]+>", " ", body, flags=re.S)
    body = re.sub(r'"[^"]*"', " ", body)
    user = {"Country", "StockCode", "UnitPrice", "InvoiceDate", "Quantity"}
    leaks = {m.group(0) for m in TECHNICAL.finditer(body)} - user
    assert not leaks, sorted(leaks)


def test_heat_map_labels_are_short_distinct_product_names():
    names = {"22383": "LUNCH BAG SUKI  DESIGN ", "1": "A" * 40, "2": "A" * 40 + " B",
             "P9": "绿茶礼盒"}
    labels = axis_names(["22383", "1", "2", "P9", "X7"], names)
    cut = "A" * 27 + "…"
    assert labels == ["LUNCH BAG SUKI DESIGN", f"{cut} (1)", f"{cut} (2)", "绿茶礼盒", "X7"]
    assert len(set(labels)) == len(labels)
