"""The readout on the Hillstrom (MineThatData 2008) e-mail experiment, 64,000 customers.

Reference figures: datasets README and issue 13 (counted on the published file). Every other
figure is recomputed here from the rows with pandas, scipy or statsmodels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

from valuemax.experiment import arm_statistics, compare_means, readout
from valuemax.experiment._table import as_table

ARMS = ["Mens E-Mail", "Womens E-Mail", "No E-Mail"]
CONTROL = "No E-Mail"


@pytest.fixture(scope="module")
def result(hillstrom_path):
    return readout(hillstrom_path, arm="segment", control=CONTROL,
                   metrics=["visit", "conversion", "spend"])


def _arm(result, metric):
    t = result.arm_table
    return t[t.metric == metric].set_index("arm").loc[ARMS]


def test_published_arm_figures(result):
    visit, conv, spend = (_arm(result, m) for m in ("visit", "conversion", "spend"))
    assert visit["n_assigned"].tolist() == [21_307, 21_387, 21_306]
    assert visit["mean"].to_numpy() == pytest.approx([0.182757, 0.151400, 0.106167], abs=5e-7)
    assert conv["mean"].to_numpy() * 100 == pytest.approx([1.2531, 0.8837, 0.5726], abs=5e-5)
    assert spend["mean"].to_numpy() == pytest.approx([1.422617, 1.077202, 0.652789], abs=5e-7)
    assert (visit["kind"] == "proportion").all() and (spend["kind"] == "mean").all()
    assert (visit["n_missing"] == 0).all()


def test_sd_matches_pandas(result, hillstrom):
    sd = hillstrom.groupby("segment")["spend"].std(ddof=1).loc[ARMS]
    assert _arm(result, "spend")["sd"].to_numpy() == pytest.approx(sd.to_numpy(), rel=1e-9)
    rate = hillstrom.groupby("segment")["visit"].mean().loc[ARMS].to_numpy()
    assert _arm(result, "visit")["sd"].to_numpy() == pytest.approx(np.sqrt(rate * (1 - rate)))


def test_student_t_spend_mens_vs_no_email(hillstrom_path, hillstrom):
    s = arm_statistics(as_table(hillstrom_path), arm="segment", metric="spend")
    i0, i1 = s.arms.index(CONTROL), s.arms.index("Mens E-Mail")
    c = compare_means(int(s.n[i0]), s.total[i0], s.total_sq[i0], int(s.n[i1]), s.total[i1],
                      s.total_sq[i1], equal_var=True)
    assert c.statistic == pytest.approx(5.300090, abs=5e-7)
    assert c.p_value == pytest.approx(1.1632e-07, rel=5e-5)
    ref = stats.ttest_ind(hillstrom.spend[hillstrom.segment == "Mens E-Mail"],
                          hillstrom.spend[hillstrom.segment == CONTROL])
    assert c.statistic == pytest.approx(ref.statistic, rel=1e-8)
    assert c.p_value == pytest.approx(ref.pvalue, rel=1e-7)


def test_welch_and_newcombe_match_scipy_statsmodels(result, hillstrom):
    frame = result.to_frame().set_index(["metric", "arm"])
    control = hillstrom[hillstrom.segment == CONTROL]
    for a in ("Mens E-Mail", "Womens E-Mail"):
        treated = hillstrom[hillstrom.segment == a]
        row = frame.loc[("spend", a)]
        ref = stats.ttest_ind(treated.spend, control.spend, equal_var=False)
        assert row.p_value == pytest.approx(ref.pvalue, rel=1e-7)
        assert (row.absolute_ci_low, row.absolute_ci_high) == pytest.approx(
            tuple(ref.confidence_interval(0.95)), rel=1e-8)
        row = frame.loc[("conversion", a)]
        lo, hi = confint_proportions_2indep(treated.conversion.sum(), len(treated),
                                            control.conversion.sum(), len(control),
                                            method="newcomb")
        assert (row.absolute_ci_low, row.absolute_ci_high) == pytest.approx((lo, hi), rel=1e-9)
        _, p, _, _ = stats.chi2_contingency(pd.crosstab(
            pd.concat([treated, control]).segment, pd.concat([treated, control]).conversion),
            correction=False)
        assert row.p_value == pytest.approx(p, rel=1e-8)


def test_holm_correction_by_hand(result):
    frame = result.to_frame()
    p = frame["p_value"].to_numpy()
    m = p.size
    order = np.argsort(p)
    holm = np.empty(m)
    holm[order] = np.minimum(1.0, np.maximum.accumulate(p[order] * (m - np.arange(m))))
    assert frame["p_adjusted"].to_numpy() == pytest.approx(holm, rel=1e-12)
    assert result.correction == "holm" and "Holm" in result.correction_method
    assert "6 (arm, metric) tests" in result.correction_method


def test_bh_correction_by_hand(hillstrom_path):
    frame = readout(hillstrom_path, arm="segment", control=CONTROL,
                    metrics=["conversion", "spend"], correction="bh").to_frame()
    p = frame["p_value"].to_numpy()
    m = p.size
    order = np.argsort(p)[::-1]
    bh = np.empty(m)
    bh[order] = np.minimum(1.0, np.minimum.accumulate(p[order] * m / (m - np.arange(m))))
    assert frame["p_adjusted"].to_numpy() == pytest.approx(bh, rel=1e-12)


def test_srm_equal_shares(result):
    counts = [21_307, 21_306, 21_387]  # sorted arms: Mens, No, Womens
    chi2, p = stats.chisquare(counts)
    assert result.srm.arms == ("Mens E-Mail", "No E-Mail", "Womens E-Mail")
    assert result.srm.chi2 == pytest.approx(chi2) and result.srm.p_value == pytest.approx(p)
    assert not result.srm.alert and result.notes == ()


def test_cuped_equals_ols_with_covariates(hillstrom_path, hillstrom):
    r = readout(hillstrom_path, arm="segment", control=CONTROL, metrics=["spend", "visit"],
                covariates=["history", "recency"])
    frame = r.to_frame().set_index(["metric", "arm"])
    arms = r.arm_table.set_index(["metric", "arm"])
    for metric in ("spend", "visit"):
        fit = smf.ols(f"{metric} ~ C(segment, Treatment('{CONTROL}')) + history + recency",
                      data=hillstrom).fit()
        base = smf.ols(f"{metric} ~ C(segment)", data=hillstrom).fit()
        for a in ("Mens E-Mail", "Womens E-Mail"):
            coef = fit.params[f"C(segment, Treatment('{CONTROL}'))[T.{a}]"]
            assert frame.loc[(metric, a), "absolute_lift"] == pytest.approx(coef, rel=1e-8)
        # pooled within-arm variance reduction = 1 - SSR(arm + x) / SSR(arm)
        within = 1 - fit.ssr / base.ssr
        ss = hillstrom.groupby("segment")[metric].var(ddof=1) * (
            hillstrom.groupby("segment").size() - 1)
        per_arm = arms.loc[metric, "variance_reduction"]
        pooled = float((per_arm * ss.loc[per_arm.index]).sum() / ss.sum())
        assert pooled == pytest.approx(within, rel=1e-6)
        assert (per_arm > 0).all()
        assert f"variance reduced by {within:.2%}" in frame.loc[(metric, "Mens E-Mail"),
                                                                "adjustment"]
    assert "CUPED on history" in frame["adjustment"].iloc[0]


def test_table_input_kinds_agree(hillstrom_path, hillstrom, result):
    from_frame = readout(hillstrom, arm="segment", control=CONTROL,
                         metrics=["visit", "conversion", "spend"])
    pd.testing.assert_frame_equal(from_frame.to_frame(), result.to_frame(), rtol=1e-10)
    assert result.to_dict()["srm"]["alert"] is False
