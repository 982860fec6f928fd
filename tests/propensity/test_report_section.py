"""The "Who buys next" report section renders from a real result, and says why it is absent."""

from __future__ import annotations

import dataclasses

import pytest

from valuemax.pipeline import StageStatus
from valuemax.report import PartReport
from valuemax.report._sections_propensity import propensity_section


@pytest.fixture(scope="module")
def result(synth_fit):
    return synth_fit[1]


def test_section_renders_tables_and_three_plots(small_run, result):
    html, subs = propensity_section(dataclasses.replace(small_run, propensity=result))
    assert "Who buys next" in html
    assert html.count('class="plotly-graph-div"') == 3     # calibration, gains, importance
    assert [a for a, _ in subs] == ["prop-metrics", "prop-curves", "prop-importance",
                                    "prop-churn"]
    for text in ("recency alone", "BG/NBD expected purchases", "p &lt; 0.2", "p &gt;= 0.5",
                 f"{result.metrics.set_index('model').loc['recency', 'roc_auc']:.3f}"):
        assert text in html
    chosen = result.chosen_model
    shown = {"logit": "logistic regression", "hgb": "gradient boosting"}[chosen]
    assert f"The chosen model ({shown})" in html


def test_section_without_result_shows_the_reason(small_run):
    why = "the log spans 100 days, fewer than two"
    res = dataclasses.replace(small_run, propensity=None, skipped={"propensity": why},
                              stages={**small_run.stages,
                                      "propensity": StageStatus("skipped", why)})
    html, subs = propensity_section(res)
    assert "Propensity did not run: the log spans 100 days" in html
    assert subs == [] and "plotly-graph-div" not in html
    # a one-part report without a propensity result records no reason
    html, _ = propensity_section(PartReport(source="orders.csv"))
    assert "no propensity result was recorded" in html
