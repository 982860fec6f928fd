"""The report of real runs, as a marketer sees it in headless chromium.

One ``analyze`` run per data set (session fixtures in conftest.py): UCI Online Retail,
CDNOW_master and a small Chinese tea-shop log. On each report: no machine name, optimiser
message or raw float is visible outside the collapsed "Model diagnostics" parts; every
table fits its card; no plot toolbar covers a legend; no axis title, legend entry or table
header is empty; product names, not codes, label the products.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pytest

from valuemax.report._format import TECHNICAL, fmt_num
from valuemax.report._sections_value import PEAK_RATIO, holdout_peak

RUNS = ("retail_run", "cdnow_run", "chinese_run")
#: File names and paths are the user's own: not machine names of valuemax.
FILES = re.compile(r"\S*[/\\]\S*|\S+\.(?:csv|gz|txt|parquet|json|duckdb|html)\b")


def _overlaps(a: dict[str, float] | None, b: dict[str, float] | None) -> bool:
    if not a or not b:
        return False
    return (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
            and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"])


@pytest.fixture(scope="module")
def seen(request: pytest.FixtureRequest, page_facts: Any,
         tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, dict[str, Any]]]:
    """Per data set: (result, what the browser shows); full-page screenshots saved."""
    shots = tmp_path_factory.mktemp("report_screenshots")
    runs = {name: request.getfixturevalue(name) for name in RUNS}
    facts = page_facts.many([(path, shots / f"{name}.png") for name, (_, path) in runs.items()])
    for name in RUNS:
        assert (shots / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return {name: (runs[name][0], f) for name, f in zip(RUNS, facts, strict=True)}


def _user_words(result: Any) -> set[str]:
    """Names the user chose: the source's column names (shown in the column mapping)."""
    ing = getattr(result, "ingest", None) or {}
    names = {str(v) for v in (ing.get("mapping") or {}).values() if v}
    return names | {str(c) for c in (ing.get("extra_columns") or ())}


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("run", RUNS)
def test_no_internal_name_or_raw_float_is_visible(seen, run):
    result, facts = seen[run]
    allowed = _user_words(result)
    leaks = []
    for text in [facts["text"], *facts["svgText"]]:
        for m in TECHNICAL.finditer(FILES.sub(" ", text)):
            if m.group(0) not in allowed:
                leaks.append(m.group(0))
    assert not leaks, f"{run}: technical text outside Model diagnostics: {sorted(set(leaks))}"
    for raw in ("ABNORMAL", "converged_", "ConvergenceError", "e-0", "e-1", "e-2"):
        assert raw not in facts["text"]


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("run", RUNS)
def test_every_table_fits_its_card(seen, run):
    _, facts = seen[run]
    assert len(facts["tables"]) >= 8
    wide = [t for t in facts["tables"] if t["scrollWidth"] > t["clientWidth"]]
    assert not wide, f"{run}: tables wider than their card: {wide}"


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("run", RUNS)
def test_no_toolbar_covers_a_legend_and_no_label_is_empty(seen, run):
    _, facts = seen[run]
    plots = facts["plots"]
    with_legend = [p for p in plots if p["legend"]]
    assert len(with_legend) >= 3 and all(p["modebar"] for p in plots)
    covered = [p["caption"] for p in with_legend if _overlaps(p["legend"], p["modebar"])]
    assert not covered, f"{run}: the plot toolbar covers the legend of {covered}"
    untitled = [(p["caption"], a["axis"]) for p in plots for a in p["axes"] if not a["title"]]
    assert not untitled, f"{run}: axes without a title: {untitled}"
    unnamed = [p["caption"] for p in plots if any(not n for n in p["legendNames"])]
    assert not unnamed, f"{run}: legend entries without a name in {unnamed}"
    assert not facts["emptyHeaders"], f"{run}: empty table headers in {facts['emptyHeaders']}"


@pytest.mark.browser
@pytest.mark.slow
def test_products_are_named_not_coded(seen):
    for run in ("retail_run", "chinese_run"):
        result, facts = seen[run]
        names = dict(result.basket.item_names)
        codes = [str(c) for c in result.basket.item_lift.index]
        assert len(codes) >= 5 and set(codes) <= set(names)
        drawn = {t.strip() for t in facts["svgText"]}
        # the heat map's axes carry the (cut) names; no code is a label of its own
        for code in codes:
            name = " ".join(str(names[code]).split())  # blanks closed up, as drawn
            label = name if len(name) <= 28 else name[:27] + "…"
            assert label in drawn or f"{label} ({code})" in drawn, (run, code, name)
        assert not drawn & set(codes), (run, sorted(drawn & set(codes))[:5])
    _, facts = seen["chinese_run"]
    assert not re.search(r"\bP10\d\d\b", facts["text"])  # codes only in CSVs and hovers
    assert "绿茶礼盒" in facts["text"]  # suggestions per segment by name


@pytest.mark.browser
@pytest.mark.slow
def test_technical_details_sit_in_closed_diagnostics_parts(retail_run, cdnow_run):
    for result, path in (retail_run, cdnow_run):
        html = path.read_text(encoding="utf-8")
        parts = re.findall(r'<details class="diagnostics">(.*?)</details>', html, re.S)
        assert len(parts) >= 3 and "<details class=\"diagnostics\" open" not in html
        inside = "".join(parts)
        # the model's parameters and the comparison's log-likelihoods are kept, folded away
        assert "clv_parameters.csv" in inside and "log-likelihood" in inside
        outside = re.sub(r'<details class="diagnostics">.*?</details>', "", html, flags=re.S)
        assert "clv_parameters.csv" not in outside and "log-likelihood" not in outside
        s = result.value.model.summary()
        est = float(np.asarray(s.estimates)[0])
        assert f">{fmt_num(est)}</td>" in inside  # the first parameter, folded away


def _weekly(tracking: pd.DataFrame) -> pd.Series:
    return tracking["actual"].astype(float).diff().fillna(float(tracking["actual"].iloc[0]))


@pytest.mark.slow
def test_holiday_peak_is_named_only_where_the_holdout_has_one(retail_run, cdnow_run):
    retail, _ = retail_run
    cdnow, _ = cdnow_run
    # Online Retail: the busiest holdout week is in the November 2011 pre-Christmas rush
    t = retail.value.tracking
    w, hold = _weekly(t), t["holdout"].astype(bool)
    busiest = w[hold].idxmax()
    ratio = w[busiest] / w[~hold][w[~hold].cumsum() > 0].median()
    assert ratio >= PEAK_RATIO
    text = holdout_peak(t)
    week = pd.Timestamp(t.loc[busiest, "week_end"])
    assert week.year == 2011 and week.month in (11, 12)
    assert f"week ending {week.date().isoformat()} had {ratio:.1f} times" in text
    # CDNOW's holdout has no such week: no peak is claimed, in the page or in the text
    assert holdout_peak(cdnow.value.tracking) == ""
    t = cdnow.value.tracking
    w, hold = _weekly(t), t["holdout"].astype(bool)
    assert w[hold].max() / w[~hold][w[~hold].cumsum() > 0].median() < PEAK_RATIO


def test_holdout_peak_on_hand_made_weeks():
    weeks = pd.date_range("2024-01-07", periods=12, freq="7D")
    weekly = np.array([0, 10, 10, 12, 8, 10, 10, 10, 11, 10, 35, 10], dtype=float)
    frame = pd.DataFrame({"week_end": weeks, "actual": weekly.cumsum(),
                          "holdout": [False] * 8 + [True] * 4})
    # calibration weeks after the first purchase: 10, 10, 12, 8, 10, 10, 10 -> median 10
    assert holdout_peak(frame) == ("this log's holdout has such a peak: the week ending "
                                   "2024-03-17 had 3.5 times the typical weekly repeat "
                                   "purchases of the calibration period.")
    weekly[10] = 14.0  # 1.4 times the median: not a peak
    assert holdout_peak(frame.assign(actual=weekly.cumsum())) == ""
    assert holdout_peak(frame.assign(holdout=False)) == ""
    assert holdout_peak(None) == ""


def test_online_retail_value_and_churn_say_what_they_rest_on(retail_run):
    """New user on Online Retail: BG/NBD loses to the naive rate on the holdout and the CLV
    total had no caveat; every model at its no-drop-out limit was called "the naive purchase
    rate" (the NBD predicts each customer's own rate); churn risk read Low for 17 of the 18
    "Can't Lose Them" without a word."""
    from tests.report.test_report_text import _visible

    result, path = retail_run
    text = _visible(path.read_text(encoding="utf-8"))
    value, cust = result.value, result.customers
    v = value.validation
    assert not v.mae < v.naive_mae  # the case of this test
    beside = text[text.index("12-month CLV", text.index("P(alive) is not drawn")):
                  text.index("total CLV")]
    assert "does not predict the holdout better than each customer's past purchase rate" \
        in beside
    # the limits reached are drop-out ones: no "naive rate" for them
    assert all(set(b) == {"no drop-out"} for b in value.boundary.values())
    trust = text[text.index("What to trust"):][:700]
    assert "naive" not in trust and "rests on the naive purchase rate" not in text
    # churn risk against the lapsed RFM segments, counted here
    lapsed = cust[cust["segment"].isin(["At Risk", "Can't Lose Them"])]
    low = lapsed[lapsed["churn_risk"] == "Low"].groupby("segment").size()
    total = lapsed.groupby("segment").size()
    for seg in ("At Risk", "Can't Lose Them"):
        assert f"{low.get(seg, 0):,} of {total[seg]:,} {seg}" in text
    assert "Low at p >= 0.5, Medium at 0.2 <= p < 0.5, High at p < 0.2" in text
    # high spenders with every order on one day, valued at the population's mean spend
    top = cust["total_spend"] >= cust["total_spend"].quantile(0.8)
    n = int((top & (cust["frequency"] == 0)).sum())
    assert n > 0 and f"{n} high spenders (top 20% by total spend" in text
