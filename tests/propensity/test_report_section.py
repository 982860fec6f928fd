"""The "Who buys next" report section renders from a real result, and says why it is absent."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from valuemax.report._sections_propensity import propensity_section


@pytest.fixture(scope="module")
def result(synth_fit):
    return synth_fit[1]


def test_section_renders_tables_and_three_plots(result):
    html, subs = propensity_section(SimpleNamespace(propensity=result))
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


def test_section_without_result_shows_the_reason():
    res = SimpleNamespace(propensity=None,
                          skipped={"propensity": "the log spans 100 days, fewer than two"})
    html, subs = propensity_section(res)
    assert "Propensity did not run: the log spans 100 days" in html
    assert subs == [] and "plotly-graph-div" not in html
    html, _ = propensity_section(SimpleNamespace())
    assert "no propensity result was recorded" in html
