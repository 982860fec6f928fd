"""Bad input to the readout (issue 13): a clear message, a count, a defined result."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from valuemax.exceptions import DataLossWarning, InputError
from valuemax.experiment import readout, srm_test


def _table(rng, sizes: dict[str, int], rate: float = 0.2) -> pd.DataFrame:
    arms = np.repeat(list(sizes), list(sizes.values()))
    n = arms.size
    return pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "arm": arms,
                         "buy": (rng.random(n) < rate).astype(int),
                         "spend": rng.gamma(1.0, 10.0, n), "pre": rng.normal(50, 10, n)})


def test_one_arm(rng):
    df = _table(rng, {"A": 50})
    with pytest.raises(InputError, match=r"holds one arm only \(\['A'\]\)"):
        readout(df, arm="arm", control="A", metrics=["buy"])


def test_control_not_found_lists_arms(rng):
    df = _table(rng, {"A": 50, "B": 50})
    with pytest.raises(InputError, match=r"control arm 'ctrl' is not in column 'arm'; its arms "
                                         r"are \['A', 'B'\]"):
        readout(df, arm="arm", control="ctrl", metrics=["buy"])


def test_missing_column_lists_available(rng):
    df = _table(rng, {"A": 50, "B": 50})
    with pytest.raises(InputError, match=r"revenue \(metric\); available: customer_id, arm"):
        readout(df, arm="arm", control="A", metrics=["revenue"])


def test_zero_conversions_in_an_arm(rng):
    df = _table(rng, {"A": 300, "B": 300})
    df.loc[df.arm == "B", "buy"] = 0
    row = readout(df, arm="arm", control="A", metrics=["buy"]).to_frame().iloc[0]
    assert row.treatment_mean == 0.0 and row.relative_lift == -1.0
    values = row[["absolute_ci_low", "absolute_ci_high", "p_value", "relative_ci_low",
                  "relative_ci_high"]].to_numpy(float)
    assert np.isfinite(values).all() and row.absolute_ci_high < 0


def test_zero_conversions_in_control_says_why_relative_is_undefined(rng):
    df = _table(rng, {"A": 300, "B": 300}, rate=0.05)
    df.loc[df.arm == "A", "buy"] = 0
    r = readout(df, arm="arm", control="A", metrics=["buy"])
    row = r.to_frame().iloc[0]
    assert math.isfinite(row.absolute_ci_low) and math.isnan(row.relative_lift)
    assert "control mean is 0" in row.note and any("control mean is 0" in n for n in r.notes)


def test_95_5_design_needs_its_shares(rng):
    df = _table(rng, {"A": 9_480, "B": 520})
    r = readout(df, arm="arm", control="A", metrics=["buy"], shares={"A": 95, "B": 5})
    chi2, p = stats.chisquare([9_480, 520], f_exp=[9_500, 500])
    assert r.srm.p_value == pytest.approx(p) and r.srm.chi2 == pytest.approx(chi2)
    assert not r.srm.alert and not r.notes
    # the same table read as an equal split is (correctly) a mismatch
    equal = readout(df, arm="arm", control="A", metrics=["buy"])
    assert equal.srm.alert and "SAMPLE RATIO MISMATCH" in equal.notes[0]


def test_shares_must_name_every_arm():
    with pytest.raises(InputError, match=r"missing \['B'\], not in the data \['C'\]"):
        srm_test({"A": 10, "B": 12}, shares={"A": 0.5, "C": 0.5})
    with pytest.raises(InputError, match="positive numbers"):
        srm_test({"A": 10, "B": 12}, shares={"A": 1.0, "B": -1.0})


def test_arm_too_small_gives_counts(rng):
    df = _table(rng, {"A": 40, "B": 1})
    with pytest.raises(InputError, match=r"arm\(s\) \['B'\] have fewer than 2 .*A: 40, B: 1"):
        readout(df, arm="arm", control="A", metrics=["spend"])


def test_assigned_twice_or_to_two_arms_quarantined(rng):
    df = _table(rng, {"A": 200, "B": 200})
    twice = df.iloc[[3]]                                  # c3 again, same arm
    other = df.iloc[[5]].assign(arm="B")                  # c5 also in B
    no_arm = df.iloc[[7]].assign(arm=None, customer_id="c-new")
    no_id = df.iloc[[8, 9]].assign(customer_id=None)      # two rows without an id
    dirty = pd.concat([df, twice, other, no_arm, no_id], ignore_index=True)
    r = readout(dirty, arm="arm", control="A", metrics=["spend"], id_column="customer_id")
    q = r.quarantine.sort_values(["reason", "arm"]).reset_index(drop=True)
    assert q.reason.value_counts().to_dict() == {"assigned_twice_same_arm": 2,
                                                 "assigned_to_several_arms": 2,
                                                 "arm_missing": 1,
                                                 "customer_id_missing": 2}
    assert set(q.customer_id.dropna()) == {"c3", "c5", "c-new"}
    assert r.srm.observed == (200 - 2, 200)               # both customers left arm A
    assert "quarantined" in r.notes[0] and r.to_dict()["quarantine"]["n_rows"] == 7
    clean = df[~df.customer_id.isin(["c3", "c5"])]
    a, b = (clean.spend[clean.arm == x] for x in "AB")
    assert r.to_frame().iloc[0].p_value == pytest.approx(
        stats.ttest_ind(b, a, equal_var=False).pvalue)


def test_missing_outcomes_counted_not_dropped(rng):
    df = _table(rng, {"A": 200, "B": 200})
    df["spend"] = df["spend"].astype(float)
    df.loc[[1, 2, 250], "spend"] = np.nan
    with pytest.raises(InputError, match=r"'spend' is missing for 3 of 400 assigned customers "
                                         r"\(A: 2, B: 1\).*missing='exclude'"):
        readout(df, arm="arm", control="A", metrics=["spend", "buy"])
    with pytest.warns(DataLossWarning, match="excluded metric 'spend' is missing for 3"):
        r = readout(df, arm="arm", control="A", metrics=["spend", "buy"], missing="exclude")
    t = r.arm_table.set_index(["metric", "arm"])
    assert t.loc[("spend", "A"), ["n_assigned", "n", "n_missing"]].tolist() == [200, 198, 2]
    assert t.loc[("buy", "A"), "n"] == 200
    assert any("missing for 3" in n for n in r.notes)


@pytest.mark.parametrize(("values", "fragment"), [([0, 1, -1], "-1"), ([0, 1, 2], "2")])
def test_rate_with_values_other_than_0_1(rng, values, fragment):
    df = _table(rng, {"A": 100, "B": 100})
    df.loc[:2, "buy"] = values
    with pytest.raises(InputError, match=rf"'buy' is read as a rate .* 1 of 200 outcomes are "
                                         rf"not 0 or 1 .*buy=-?{fragment}"):
        readout(df, arm="arm", control="A", metrics=["buy"], kinds={"buy": "proportion"},
                id_column="customer_id")


def test_non_numeric_outcome(rng):
    df = _table(rng, {"A": 100, "B": 100}).assign(buy=lambda d: d.buy.map({0: "no", 1: "yes"}))
    with pytest.raises(InputError, match=r"metric 'buy' must be numeric .* it is string"):
        readout(df, arm="arm", control="A", metrics=["buy"])


def test_bad_options(rng):
    df = _table(rng, {"A": 100, "B": 100})
    with pytest.raises(InputError, match="correction='bonferroni' is not supported"):
        readout(df, arm="arm", control="A", metrics=["buy"], correction="bonferroni")
    with pytest.raises(InputError, match="covariate 'pre' is missing for 1 of 200"):
        readout(df.assign(pre=df.pre.where(df.index != 4)), arm="arm", control="A",
                metrics=["buy"], covariates=["pre"])
    with pytest.raises(InputError, match=r"\['k'\] constant within every arm"):
        readout(df.assign(k=1.0), arm="arm", control="A", metrics=["spend"], covariates=["k"])


def test_the_metric_cannot_be_its_own_covariate(rng):
    """CUPED on the outcome itself removes the whole effect (the breaker got lift 2.8e-17,
    p = 1, exit 0): refused."""
    t = _table(rng, {"A": 200, "B": 200})
    with pytest.raises(InputError, match=r"\['buy'\] named both as metric and as "
                                         r"covariate"):
        readout(t, arm="arm", metrics=["buy"], covariates=["buy"], control="A")


@pytest.mark.parametrize("bad", [np.inf, -np.inf, 1e200])
def test_an_infinite_or_overflowing_covariate_is_named_with_its_row(rng, bad):
    """inf gave numpy's "SVD did not converge" traceback; 1e200 squares to inf."""
    t = _table(rng, {"A": 200, "B": 200}).assign(history=rng.normal(5, 1, 400),
                                                 customer_id=[f"c{i:03d}" for i in range(400)])
    t.loc[17, "history"] = bad
    with pytest.raises(InputError, match=r"covariate 'history' has 1 infinite values or "
                                         r"values of magnitude >= 1e\+150 .*c017"):
        readout(t, arm="arm", metrics=["buy"], covariates=["history"], control="A",
                id_column="customer_id")


def test_an_overflowing_metric_is_named_with_its_row(rng):
    t = _table(rng, {"A": 200, "B": 200}).assign(
        customer_id=[f"c{i:03d}" for i in range(400)])
    t.loc[3, "spend"] = 1e200
    with pytest.raises(InputError, match=r"metric 'spend' has 1 infinite values or values of "
                                         r"magnitude >= 1e\+150.*c003"):
        readout(t, arm="arm", metrics=["spend"], control="A", id_column="customer_id")


def test_fractions_that_do_not_sum_to_one_are_refused():
    """0.5 and 0.6 were renormalised silently to 0.4545/0.5455; ratios stay accepted and give
    the same test as the fractions they mean."""
    with pytest.raises(InputError, match=r"look like fractions but sum to 1\.1, not 1"):
        srm_test({"A": 10, "B": 12}, shares={"A": 0.5, "B": 0.6})
    by_ratio = srm_test({"A": 90, "B": 14}, shares={"A": 9, "B": 1})
    by_share = srm_test({"A": 90, "B": 14}, shares={"A": 0.9, "B": 0.1})
    assert by_ratio.p_value == pytest.approx(by_share.p_value, rel=1e-12)
    assert by_ratio.p_value == pytest.approx(stats.chisquare([90, 14], [93.6, 10.4]).pvalue,
                                             rel=1e-9)


@pytest.mark.parametrize("content", ["", "arm,visit\n"])
def test_an_empty_or_header_only_file_says_it_has_no_rows(tmp_path, content):
    """Before: "available: column0" (empty) and "metric 'visit' must be numeric ... string"
    (header only)."""
    path = tmp_path / "exp.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=r"^the experiment table has no rows"):
        readout(str(path), arm="arm", metrics=["visit"], control="A")
