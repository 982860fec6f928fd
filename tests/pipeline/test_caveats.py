"""The run's caveats: one list, built once in the pipeline, that every surface shows
(review: the terminal, summary.json, the report, the store's ``runs.caveats`` and the
dashboard each said a different subset), and the caveats added with it: a short holdout
that chose the purchase model, K-means's k at the top of its range and clusters sharing a
name, the value regression's fit in plain words. Small generated logs; every figure a
caveat quotes is recomputed here from the log or the exports."""

from __future__ import annotations

import html
import io
import json
import re

import duckdb
import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from tests.pipeline._small_logs import START, make_log
from tests.report.test_report_text import _visible

import valuemax
from valuemax.cli._options import for_cli
from valuemax.cli._render import print_summary
from valuemax.pipeline import Caveat, customer_value
from valuemax.pipeline._caveats import caveats_by_step, cluster_caveats, value_caveats
from valuemax.report import render_report
from valuemax.report._format import plain


@pytest.fixture(scope="module")
def flat_run(tmp_path_factory):
    """300 customers over a year with order values drawn alike (Gamma-Gamma at its limit:
    the same expected spend for everyone) and 6 one-day high spenders; the whole output
    folder (report, summary.json, store)."""
    log = make_log(300, 365, seed=3)
    big = [{"customer_id": f"BIG{i}", "order_id": f"OBIG{i}",
            "order_ts": (START + pd.Timedelta(days=40 * i + 3, hours=10)).strftime(
                "%Y-%m-%d %H:%M:%S"), "product_id": "P5", "product_name": "item 5",
            "quantity": 200, "unit_price": 20.0} for i in range(6)]
    frame = pd.concat([log, pd.DataFrame(big)], ignore_index=True)
    out = tmp_path_factory.mktemp("caveats") / "out"
    return valuemax.analyze(frame, out=out, random_state=0, propensity=False)


def test_every_surface_shows_the_same_caveats(flat_run):
    res = flat_run
    codes = [c.code for c in res.caveats]
    assert {"same_spend", "one_day_high_spenders"} <= set(codes)  # this log's premise
    assert all(isinstance(c, Caveat) for c in res.caveats)
    # the figures quoted: the one-day high spenders counted from the log
    cust = pd.read_parquet(res.out / "customers.parquet")
    top = cust["total_spend"] >= cust["total_spend"].quantile(0.8)
    n = int((top & (cust["frequency"] == 0)).sum())
    assert n >= 6 and f"{n} high spenders (top 20% by total spend) bought on one day only" in \
        next(c.text for c in res.caveats if c.code == "one_day_high_spenders")
    # summary.json: every caveat, typed
    summary = json.loads((res.out / "summary.json").read_text(encoding="utf-8"))
    assert summary["caveats"] == [c.to_dict() for c in res.caveats]
    # the store's runs.caveats: the same texts per step
    with duckdb.connect(str(res.out / "valuemax.duckdb"), read_only=True) as con:
        stored = json.loads(con.execute("SELECT caveats FROM runs").fetchone()[0])
    assert stored == caveats_by_step(res.caveats)
    assert sum(len(v) for v in stored.values()) == len(res.caveats)
    # the terminal: one "caveat:" line each, options as CLI flags
    buf = io.StringIO()
    print_summary(Console(file=buf, width=500), res)
    out = " ".join(buf.getvalue().split())
    assert out.count("caveat:") == len(res.caveats)
    for c in res.caveats:
        assert "caveat: " + " ".join(for_cli(c.text).split()) in out, c.code
    # the report: each in its step's section, in plain words (the flag kept, the API
    # keyword left out)
    page = _visible((res.out / "report.html").read_text(encoding="utf-8"))
    for c in res.caveats:
        shown = plain(re.sub(r" \([a-z_]+=\)", "", c.text))
        assert shown in page, c.code
    assert "horizon_months=" not in page
    # the dashboard's overview (its page builder, no browser): every caveat of the run,
    # the same-spend one among them (review: it showed P(alive)'s warning only)
    from valuemax.dashboard import Filters, StoreView
    from valuemax.dashboard._pages import overview

    with StoreView(res.out / "valuemax.duckdb").session() as s:
        body = "".join(overview(s, Filters())[1])
    for c in res.caveats:
        assert html.escape(c.text, quote=True) in body, c.code
    assert "Every customer&#x27;s expected spend per purchase is about the same" in body


def test_a_one_day_holdout_is_said_with_its_length():
    """Review: a 1-day holdout chose the CLV model with no caveat. The note and the caveat
    give the holdout's length and its repeat purchases (counted here from the log); the
    default split (a third of the span) gets none."""
    frame = make_log(300, 300, seed=2)
    days = pd.to_datetime(frame["order_ts"]).dt.normalize()
    last = days.max()
    cal_end = last - pd.Timedelta(days=1)
    value = customer_value(frame, calibration_end=cal_end.date().isoformat())
    per_day = pd.DataFrame({"c": frame["customer_id"], "d": days}).drop_duplicates()
    first = per_day.groupby("c")["d"].min()
    cohort = first.index[first <= cal_end]
    repeat = int(((per_day["d"] == last) & per_day["c"].isin(cohort)).sum())
    assert value.validation.actual_total == repeat and len(cohort) == 300
    said = [n for n in value.notes if "holdout of only" in n]
    assert said == [
        f"the purchase model ({value.model_name}) was chosen on a holdout of only 1 day "
        f"({last.date().isoformat()}), with {repeat:,} repeat "
        f"{'purchase' if repeat == 1 else 'purchases'} among 300 customers "
        f"({repeat / 300:.2f} each): the choice rests on that short holdout and may not hold "
        "over the CLV horizon; hold out more days with --calibration-end (calibration_end=)"]
    caveats = value_caveats(value, None, last.date())
    assert [c.text for c in caveats if c.code == "short_holdout"] == [
        said[0][:1].upper() + said[0][1:] + "."]
    default = customer_value(frame)
    held = (last - pd.Timestamp(default.calibration_end)).days
    assert held >= 7 and default.validation.actual_total / len(default.validation.customers) > 0.1
    assert not any("holdout of only" in n for n in default.notes)


def _one_day_log(seed: int = 1) -> pd.DataFrame:
    """100 customers, one order each on the same day, at 12 price points."""
    rng = np.random.default_rng(seed)
    prices = [5, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80]
    return pd.DataFrame({"customer_id": [f"C{i}" for i in range(100)],
                         "order_id": [f"O{i}" for i in range(100)],
                         "order_ts": "2024-03-01 10:00:00",
                         "amount": rng.choice(prices, 100).astype(float)})


def test_k_at_the_top_of_its_range_and_shared_names_are_said():
    """Review: a one-day log of 100 customers picked k = 10, the top of the range, with
    several clusters of one name ("High-value (high spend) #1" to "#4"), unsaid. The
    clusters stay as computed; caveats say it, in the terminal and the report too."""
    res = valuemax.analyze(_one_day_log(), out=None, random_state=0, propensity=False)
    km = res.clusters
    sel = km.selection.set_index("k")["silhouette"]
    assert km.k == sel.index.max() == 10 and sel.idxmax() == 10  # the premise
    said = [c for c in res.caveats if c.step == "clusters"]
    assert said == cluster_caveats(km)
    assert said[0].code == "k_at_top" and said[0].text.startswith(
        "K-means chose k = 10, the largest number of clusters tried (2 to 10)")
    base = km.profile["name"].str.replace(r" #\d+$", "", regex=True)
    groups = {name: list(km.profile["cluster"][base == name]) for name in base.unique()
              if (base == name).sum() > 1}
    assert len(groups) >= 2
    same = [c.text for c in said if c.code == "same_name"]
    assert len(same) == len(groups)
    for name, members in groups.items():
        which = ", ".join(map(str, members[:-1])) + f" and {members[-1]}"
        assert f"Clusters {which} share the name '{name}'" in " ".join(same)
    buf = io.StringIO()
    print_summary(Console(file=buf, width=500), res)
    out = " ".join(buf.getvalue().split())
    for c in said:
        assert f"caveat: {c.text}" in out
    page = _visible(render_report(res, sections=("clusters",)))
    for c in said:
        assert plain(c.text) in page


def test_the_value_regression_is_said_in_plain_words(flat_run):
    """Review: "log(clv_12) explained with R² 0.88 by ..." is jargon: the terminal and the
    report say which features together explain what share of the spread."""
    res = flat_run
    reg = res.stats.regression
    share = f"{reg.r_squared:.0%}"
    buf = io.StringIO()
    print_summary(Console(file=buf, width=500), res)
    out = " ".join(buf.getvalue().split())
    assert "explained with R²" not in out
    assert ("what goes with value: together, " in out and
            f" explain {share} of the spread in (log) 12-month CLV between customers "
            f"(R² {reg.r_squared:.2f}; associations, not causes)" in out)
    page = _visible((res.out / "report.html").read_text(encoding="utf-8"))
    assert (f"explain {share} of the spread in (log) 12-month CLV between customers"
            in page)


def test_the_horizon_caveat_fires_only_past_the_span(flat_run):
    """Reviews: "the 12-month CLV horizon is 1.0x the observed span" on a year of log, then
    the warning on 362 days of history that 365 days did not get. A 12-month horizon is
    365 days (12 x 365.25 / 12, rounded); CLV is called a rough order of magnitude only
    from 1.5 times the span on (365 / 1.5 = 243.3: 243 days of history and fewer)."""
    import dataclasses

    value = flat_run.value
    days = pd.to_datetime(make_log(300, 365, seed=3)["order_ts"]).dt.normalize()
    assert value.history_days == (days.max() - days.min()).days  # this log's span

    def horizon(span: int) -> list[str]:
        v = dataclasses.replace(value, history_days=span)
        return [c.text for c in value_caveats(v, None) if c.code == "horizon"]

    assert horizon(365) == horizon(362) == horizon(244) == []
    assert horizon(243) == [
        f"The 12-month CLV horizon is {365 / 243:.1f}x the observed span (12 months ahead "
        "from only 243 days): read CLV as a rough order of magnitude, or shorten it "
        "with --horizon-months (horizon_months=)."]
    said = [c.text for c in flat_run.caveats if c.code == "horizon"]
    assert said == horizon(value.history_days)
    assert not any("1.0x" in c.text for c in flat_run.caveats)
