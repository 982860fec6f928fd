"""Report section "Did it work?": figures recomputed with pandas/scipy/statsmodels, plain words."""

from __future__ import annotations

import html as htmllib
import json
import re

import numpy as np
import pandas as pd
import pytest

from valuemax.experiment import readout
from valuemax.report import PartReport, render_report
from valuemax.report._format import TECHNICAL
from valuemax.report._plots_experiment import lift_intervals

DIAG = re.compile(r'<details class="diagnostics">.*?</details>', re.S)


def _visible(html: str) -> str:
    body = DIAG.sub("", html)
    body = body[body.index("<main>"):body.index("</main>")]
    body = re.sub(r"<script.*?</script>|<[^>]+>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", htmllib.unescape(body))


def _diagnostics(html: str) -> str:
    return htmllib.unescape(" ".join(DIAG.findall(html)))


@pytest.fixture
def table(rng):
    """3,000 customers: 'big' lifts buying and spend, 'null' changes nothing; spend follows
    the pre-period spend ``pre``."""
    n = 3000
    arm = rng.choice(["control", "big", "null"], size=n)
    pre = rng.gamma(2.0, 20.0, n)
    spend = np.maximum(0.0, 0.6 * pre + rng.normal(0, 6, n) + 5.0 * (arm == "big"))
    buy = (rng.random(n) < 0.2 + 0.1 * (arm == "big")).astype(int)
    return pd.DataFrame({"arm": arm, "buy": buy, "spend": spend, "pre": pre})


def _render(result) -> str:
    return render_report(PartReport(source="exp.csv", experiment=result),
                         sections=("experiment",))


def test_sentences_give_the_levels_and_the_verdicts(table):
    r = readout(table, arm="arm", control="control", metrics=["buy", "spend"])
    text = _visible(_render(r))
    means = table.groupby("arm")[["buy", "spend"]].mean()
    # rates in percent, means in the metric's unit, each beside the control's
    assert (f"buy: big {100 * means.loc['big', 'buy']:.1f}% against control "
            f"{100 * means.loc['control', 'buy']:.1f}% (rate per customer)") in text
    lift = 100 * (means.loc["big", "buy"] - means.loc["control", "buy"])
    assert f"lift {lift:+.2f} percentage points" in text
    comp = r.to_frame().set_index(["metric", "arm"])
    assert comp.loc[("spend", "big"), "significant"]
    assert not comp.loc[("spend", "null"), "significant"]
    assert re.search(r"spend: big [\d.]+ against control [\d.]+ \(mean per customer\); lift "
                     r"\+[\d.]+, 95% interval .*?A clear increase \(adjusted p", text)
    assert re.search(r"spend: null .*?Not clear: a difference this size could be chance "
                     r"\(adjusted p = [\d.]+\); do not count on it\.", text)
    # the correction is stated: how many comparisons, what it guarantees; named in diagnostics
    assert "adjusted for testing 4 comparisons at once" in text
    assert 'the chance of even one false "it worked" among them stays at 5%' in text
    assert "Holm (1979) step-down" in _diagnostics(_render(r))
    bh = readout(table, arm="arm", control="control", metrics=["buy", "spend"],
                 correction="bh")
    assert "false-discovery-rate adjustment" in _visible(_render(bh))
    assert "Benjamini-Hochberg" in _diagnostics(_render(bh))


def test_the_page_has_no_machine_words_outside_the_diagnostics(table):
    r = readout(table, arm="arm", control="control", metrics=["buy", "spend"],
                covariates=["pre"])
    html = _render(r)
    body = DIAG.sub("", html)
    body = body[body.index("<main>"):body.index("</main>")]
    body = re.sub(r"<script.*?</script>|<[^>]+>", " ", body, flags=re.S)
    body = re.sub(r'"[^"]*"', " ", body)
    assert not {m.group(0) for m in TECHNICAL.finditer(body)}


def test_cuped_variance_reduction_is_the_within_arm_r2_of_statsmodels(table):
    import statsmodels.formula.api as smf

    r = readout(table, arm="arm", control="control", metrics=["spend"], covariates=["pre"])
    fit = smf.ols("spend ~ C(arm) + pre", data=table).fit()
    within = float(sum(((g - g.mean()) ** 2).sum() for _, g in table.groupby("arm")["spend"]))
    expected = 1.0 - fit.ssr / within
    assert r.variance_reduction["spend"] == pytest.approx(expected, rel=1e-9)
    assert expected > 0.5  # pre explains most of spend here
    text = _visible(_render(r))
    assert f"spend: {100 * expected:.1f}% of the customer-to-customer variation removed" in text
    assert "adjusted for their earlier behaviour (pre)" in text
    # without covariates the page says no adjustment was made
    plain_r = readout(table, arm="arm", control="control", metrics=["spend"])
    assert plain_r.variance_reduction == {}
    assert "No adjustment for earlier behaviour was made" in _visible(_render(plain_r))
    # the summary carries it too
    assert json.loads(json.dumps(r.to_dict()))["variance_reduction"]["spend"] == \
        pytest.approx(expected, rel=1e-9)


def test_srm_verdict_against_the_designed_shares(rng):
    """A 95/5 design: with its shares the split matches (scipy's p shown); read as an equal
    split it is an alarm, shown as an alert box before the lifts."""
    from scipy.stats import chisquare

    n = 4000
    arm = np.where(rng.random(n) < 0.95, "mail", "holdout")
    df = pd.DataFrame({"arm": arm, "buy": (rng.random(n) < 0.1).astype(int)})
    counts = df["arm"].value_counts().reindex(["holdout", "mail"]).to_numpy()
    ok = readout(df, arm="arm", control="holdout", metrics=["buy"],
                 shares={"mail": 0.95, "holdout": 0.05})
    p = chisquare(counts, f_exp=counts.sum() * np.array([0.05, 0.95])).pvalue
    text = _visible(_render(ok))
    assert "The arm sizes match the planned split" in text
    assert f"happens by chance with probability {p:.3g}" in text
    assert 'role="alert"' not in _render(ok)
    bad = _render(readout(df, arm="arm", control="holdout", metrics=["buy"]))
    assert 'role="alert"' in bad
    text = _visible(bad)
    assert "The arm sizes do not match the planned split" in text
    assert text.index("do not match the planned split") < text.index("What changed")
    assert "holdout" in text and "(50.0% planned)" in text


def test_lift_figure_draws_the_relative_lifts_and_their_intervals(table):
    r = readout(table, arm="arm", control="control", metrics=["buy", "spend"])
    c = r.to_frame()
    labels = [f"{m} · {a}" for m, a in zip(c["metric"], c["arm"], strict=True)]
    fig = lift_intervals(labels, c["relative_lift"], c["relative_ci_low"],
                         c["relative_ci_high"], c["significant"], confidence=0.95)
    means = table.groupby("arm")[["buy", "spend"]].mean()
    drawn = {}
    for trace in fig.data:
        for y, x, plus, minus in zip(trace.y, trace.x, trace.error_x.array,
                                     trace.error_x.arrayminus, strict=True):
            drawn[y] = (x, x - minus, x + plus, trace.name)
    for m, a in (("buy", "big"), ("spend", "big"), ("spend", "null")):
        x, lo, hi, name = drawn[f"{m} · {a}"]
        assert x == pytest.approx(100 * (means.loc[a, m] / means.loc["control", m] - 1))
        row = c.set_index(["metric", "arm"]).loc[(m, a)]
        assert (lo, hi) == pytest.approx((100 * row.relative_ci_low, 100 * row.relative_ci_high))
        assert lo < x < hi
        assert name.startswith("clear" if row.significant else "not clear")
    # an undefined relative lift (control level 0) is left out, not drawn at NaN
    assert lift_intervals(["a"], [float("nan")], [0.0], [1.0], [True], confidence=0.95) is None


def test_section_only_when_an_experiment_is_present(table):
    r = readout(table, arm="arm", control="control", metrics=["buy"])
    assert "Did it work?" not in render_report(PartReport(source="x"))
    assert "Did it work?" in render_report(PartReport(source="x", experiment=r))
    asked = _visible(render_report(PartReport(source="x"), sections=("experiment",)))
    assert "No experiment readout: no assignment file was given." in asked


def test_quarantined_rows_are_counted_in_the_page(rng):
    df = pd.DataFrame({"cid": [f"c{i}" for i in range(40)] + ["c0", "c1"],
                       "arm": ["a", "b"] * 20 + ["a", "a"], "buy": rng.integers(0, 2, 42)})
    r = readout(df, arm="arm", control="a", metrics=["buy"], id_column="cid")
    text = _visible(_render(r))
    # c0 (arm a twice) and c1 (arms b and a): 4 rows out
    counts = r.quarantine["reason"].value_counts().to_dict()
    assert counts == {"assigned_twice_same_arm": 2, "assigned_to_several_arms": 2}
    assert "Left out of every arm: 2 rows assigned twice same arm, 2 rows assigned to " \
           "several arms" in text
