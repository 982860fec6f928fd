"""The report section "What goes with value" renders the statistics, or says why it cannot."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

from valuemax.pipeline import StageStatus
from valuemax.report._sections_stats import stats_section
from valuemax.stats import value_drivers


@pytest.fixture(scope="module")
def small_drivers():
    rng = np.random.default_rng(0)
    n = 300
    orders = rng.integers(1, 20, n)
    aov = rng.lognormal(3, 0.5, n)
    cust = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)],
                         "recency_days": rng.integers(0, 365, n),
                         "tenure_days": rng.integers(365, 730, n), "n_orders": orders,
                         "n_lines": orders * rng.integers(1, 9, n), "total_spend": orders * aov,
                         "avg_order_value": aov, "<b>x</b>": rng.normal(size=n)})
    return value_drivers(cust, features=["recency_days", "n_orders", "total_spend",
                                         "avg_order_value", "<b>x</b>"])


def page_of(section_html: str) -> str:
    import plotly.offline

    from valuemax.report._html import page

    return page(title="stats", plotlyjs=plotly.offline.get_plotlyjs(), facts=[],
                toc=[("stats", "What goes with value", [])], sections=[section_html],
                footer="test")


RAN = StageStatus("ran")


def _with_stats(run, stats, status=RAN, skipped=None):
    """The real run with another statistics result (and the stage status that goes with)."""
    return dataclasses.replace(run, stats=stats, stages={**run.stages, "stats": status},
                               skipped=skipped or {})


def test_section_has_heatmap_table_plots_and_reading(small_run, small_drivers):
    html, subs = stats_section(_with_stats(small_run, small_drivers))
    assert [a for a, _ in subs] == ["stats-corr", "stats-reg", "stats-reading"]
    assert html.count("Plotly.newPlot(") == 3  # heat map, residuals vs fitted, Q-Q
    r = small_drivers.correlations.r.loc["n_orders", "total_spend"]
    assert f"{r:.2f}***" in html  # r printed in its cell, significance starred
    assert "associations, not causes" in html.lower()
    from valuemax.report._format import plain  # the page names predictors in plain words

    for term in small_drivers.predictors:
        assert plain(term) in html
    # the VIF column under its plain name, and the excluded predictor with its reason
    assert "overlap with other predictors" in html and "average order value" in html
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html  # escaped
    assert re.search(r"HC3", html)


def test_missing_stats_gives_a_visible_reason(small_run):
    why = "fewer than 10 customers"
    html, subs = stats_section(_with_stats(small_run, None, StageStatus("skipped", why),
                                           {"stats": why}))
    assert subs == [] and 'class="note warn"' in html
    assert "The statistics did not run: fewer than 10 customers" in html
    html, _ = stats_section(_with_stats(small_run, None, StageStatus("skipped")))
    assert "no statistics result was recorded" in html


def test_section_without_regression(small_run, small_drivers):
    vd = dataclasses.replace(small_drivers, regression=None, target="log(total_spend)",
                             excluded={}, notes=["regression not fitted: too few rows"])
    html, _ = stats_section(_with_stats(small_run, vd))
    assert "No regression: regression not fitted: too few rows" in html
    assert html.count("Plotly.newPlot(") == 1


@pytest.mark.browser
def test_section_renders_in_chromium(small_run, retail_customers, tmp_path,
                                    check_report_in_browser):
    html, _ = stats_section(_with_stats(small_run, value_drivers(retail_customers)),
                            title="3. What goes with value")
    path = tmp_path / "stats.html"
    path.write_text(page_of(html), encoding="utf-8")
    seen = check_report_in_browser(path)
    assert seen["n_plots"] == 3
    assert "3. What goes with value" in seen["text"]
    assert "log(total spend)" in seen["text"]  # the outcome, in plain words
