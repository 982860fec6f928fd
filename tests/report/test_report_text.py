"""The report's words follow the data: real runs on small generated logs (QA findings)."""

from __future__ import annotations

import html as htmllib
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import valuemax
from valuemax.report import render_report
from valuemax.report._format import count, plural
from valuemax.report._plots_basket import lift_colorbar
from valuemax.report._sections_data import strip_step
from valuemax.report._sections_propensity import _verdict as buy_verdict
from valuemax.report._sections_value import NEW_FLAG, new_customers

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipeline"))
from _small_logs import make_log

DIAG = re.compile(r'<details class="diagnostics">.*?</details>', re.S)


def _visible(page: str) -> str:
    """The page's visible text outside the collapsed diagnostics, tags and scripts removed."""
    page = re.sub(r"<script.*?</script>|<style.*?</style>", "", DIAG.sub("", page), flags=re.S)
    return htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """15 customers over 119 days: clustering and value are skipped."""
    src = tmp_path_factory.mktemp("small") / "small.csv"
    make_log(15, 119, seed=1).to_csv(src, index=False)
    res = valuemax.analyze(str(src), random_state=0, propensity=False)
    return res, render_report(res)


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    """60 customers over 20 days plus one big one-time buyer on the last day."""
    log = make_log(60, 20, seed=2)
    last = pd.Timestamp(log["order_ts"].max()).strftime("%Y-%m-%d 18:00:00")
    new = {"customer_id": "NEW1", "order_id": "ONEW1", "order_ts": last, "product_id": "P1",
           "product_name": "item 1", "quantity": 3, "unit_price": 500.0}
    src = tmp_path_factory.mktemp("short") / "short.csv"
    pd.concat([log, pd.DataFrame([new])], ignore_index=True).to_csv(src, index=False)
    res = valuemax.analyze(str(src), random_state=0, propensity=False)
    return res, render_report(res)


def test_skip_texts_have_no_step_key(small_run):
    res, page = small_run
    text = _visible(page)
    assert {"kmeans", "value"} <= set(res.skipped)
    assert "Clustering was skipped:" in text and "Customer value was skipped:" in text
    assert not re.search(r"(skipped|did not run|not run): *(kmeans|value|propensity|clusters|"
                         r"stats|basket|rules|ward|hierarchy):", text)
    # the skipped value section does not describe a chosen model
    start = text.index("Customer value was skipped")  # the section, not the contents
    start = text.rindex("Customer value", 0, start)
    value = text[start:text.index("What goes with value", start)]
    assert "chosen on a holdout" not in value and "did not run" in value


def test_strip_step_keeps_the_reason():
    assert strip_step("value: value: only 10 repeat buyers", "value") == "only 10 repeat buyers"
    assert strip_step("too few: 3 of 20", "kmeans") == "too few: 3 of 20"


def test_small_log_says_the_evidence_is_thin(small_run):
    res, page = small_run
    text = _visible(page)
    n = len(res.customers)
    assert n < 100
    assert "thousands of customers" not in text
    assert f"with only {n} customers the evidence is thin" in text


def test_singular_and_plural_everywhere(small_run, short_run):
    for _, page in (small_run, short_run):
        text = _visible(page)  # table cells such as "p = 1 | orders" are not counts
        assert not re.search(r"\(1 (customers|baskets|orders|days|items)\)", text)
        assert not re.search(r"\b(only|of|from) 1 (customers|baskets|days)\b", text)
    assert [plural(k, "customer") for k in (0, 1, 2)] == ["customers", "customer", "customers"]
    assert count(1, "day") == "1 day" and count(12345, "day") == "12,345 days"


def test_value_verdict_follows_the_result(short_run):
    res, page = short_run
    text = _visible(page)
    v = res.value
    assert v is not None and v.history_days is not None and v.history_days <= 21
    start = text.index("What to trust")
    verdict = text[start:start + 900]
    if v.validation is None:
        assert "predicts the holdout better" not in verdict
    if any(v.model_name in g for g in v.indistinguishable):
        assert "no purchase model is better than the others" in verdict
    # one rate for everyone only at the limit of no purchase-rate heterogeneity (r >= 100),
    # said in those terms, not "the naive rate" (the holdout's baseline, each customer's own)
    one_rate = v.model.params_.get("r", 0.0) >= 100
    assert ("is at its limit of no purchase-rate heterogeneity" in verdict) is one_rate
    assert "naive" not in verdict
    # 12 months from about 20 days of history: an extrapolation, and said so
    assert "extrapolations" in verdict and f"{v.history_days} days of history" in verdict


def test_new_customers_are_marked_in_the_top_clv_table(short_run):
    res, page = short_run
    cust = res.customers
    # independently: one order (no repeat) and first seen 0-7 days before the end
    days_seen = cust["T"].astype(float) * (7.0 if res.value.time_unit == "W" else 1.0)
    mine = (cust["frequency"] == 0) & (days_seen <= 7)
    assert new_customers(cust, res.value.time_unit).equals(mine)
    assert bool(mine[cust["customer_id"] == "NEW1"].iloc[0])
    col = f"clv_{res.value.horizon_months}"
    top = cust.sort_values(col, ascending=False, kind="stable").head(50)
    n_new_top = int(mine.loc[top.index].sum())
    assert n_new_top >= 1
    assert _visible(page).count(NEW_FLAG) >= n_new_top
    verdict = _visible(page)[_visible(page).index("What to trust"):][:1200]
    assert "prior" in verdict and "do not rank them by CLV" in verdict
    # the run's caveat list (terminal, summary.json, store, API) says it too, with their
    # CLV range against the median (review: said in the report only)
    said = [c.text for c in res.caveats if c.code == "new_prior_only"]
    clv = cust[col].astype(float)
    n = int(mine.sum())
    assert len(said) == 1 and said[0].startswith(
        f"{n:,} customer{'' if n == 1 else 's'} first seen in the last 7 days, with "
        f"purchases on one day only,")
    lo, hi = f"{clv[mine].min():,.2f}", f"{clv[mine].max():,.2f}"
    span = lo if lo == hi else f"{lo} to {hi}"
    assert (f"({span}, against a median CLV of {clv.median():,.2f} for all "
            "customers)") in said[0]


def test_lift_colour_bar_reads_plain_lift():
    bar = lift_colorbar(np.log10(4.0))
    assert "log10" not in bar["title"]["text"]
    for val, label in zip(bar["tickvals"], bar["ticktext"], strict=True):
        assert 10 ** val == pytest.approx(float(label))
    assert float(min(bar["ticktext"], key=float)) >= 0.25 - 1e-9
    assert max(map(float, bar["ticktext"])) <= 4.0


def _metrics(**auc):
    return pd.DataFrame({"model": list(auc), "roc_auc": list(auc.values())})


class _Res:
    def __init__(self, chosen, metrics):
        self.chosen_model, self.metrics = chosen, metrics


def test_buy_again_text_ignores_baselines_below_chance():
    text = buy_verdict(_Res("logit", _metrics(logit=0.70, recency=0.62, btyd_p_alive=0.215)))
    assert "beats the best baseline, recency alone (AUC 0.620)" in text
    assert "It beats the baseline BG/NBD P(alive)" not in text
    # new user: "AUC 0.356 ranks no better than chance" undersold a backwards ranking
    assert ("BG/NBD P(alive) (AUC 0.215) ranks worse than chance on this log (an AUC below "
            "0.5: the higher the score, the less likely the purchase), so beating them means "
            "nothing.") in text
    assert "do not use these scores" not in text


@pytest.mark.parametrize("auc, recency", [(0.54, 0.50), (0.66, 0.70)])
def test_buy_again_text_says_not_to_target_with_a_useless_model(auc, recency):
    text = buy_verdict(_Res("hgb", _metrics(hgb=auc, recency=recency)))
    assert "do not use these scores to pick whom to contact" in text


def test_recency_has_two_distinct_names_and_cut_points_are_whole(small_run):
    res, page = small_run
    text = _visible(page)
    assert "recency (days)" not in text and "Fader & Hardie" not in text
    assert "days between first and last purchase" in text
    assert "days since last purchase" in text
    assert "quintile boundaries" in text
    # the cut points of the whole-number columns, rounded independently with numpy
    cols = res.rfm.columns
    for dim in ("recency", "frequency"):
        cuts = res.rfm.cut_points[dim]
        assert np.all(res.customers[cols[dim]] == np.round(res.customers[cols[dim]]))
        shown = ", ".join(f"{int(np.rint(x)):,}" for x in cuts)
        assert shown in text, (dim, shown)


def test_holdout_error_is_rounded_and_plain(short_run):
    _, page = short_run
    text = _visible(page)
    assert "MAE per customer" not in text and "RMSE per customer" not in text
    assert not re.search(r"\d\.\d{4}\b", text[text.index("What to trust"):][:3000])


def test_no_jargon_outside_the_diagnostics(small_run, short_run):
    from valuemax.report._format import TECHNICAL, plain
    for _, page in (small_run, short_run):
        hits = [m.group(0) for m in TECHNICAL.finditer(plain(_visible(page)))]
        assert hits == []


def test_the_bare_field_name_t_is_not_shown(short_run):
    text = _visible(short_run[1])
    assert not re.search(r"\(T\s*=", text) and "first bought on the observation end" in text
