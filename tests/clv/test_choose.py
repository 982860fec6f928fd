"""choose_model: the model policy of valuemax.clv (issue 11), on the CDNOW sample.

The choice is recomputed here another way: the holdout choice equals compare_models' on the
same table, the BIC choice is the argmin of BICs of models fitted directly, and the model
returned equals a direct fit of the chosen model on the whole period.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from valuemax.clv import (
    MIN_REPEAT_BUYERS,
    ONE_RATE,
    ModelChoice,
    choose_model,
    compare_models,
    limit_effect,
)
from valuemax.clv._select import MODELS
from valuemax.exceptions import InputError, StepNotApplicable

from .conftest import CALIBRATION_END, btyd_summary

OBS_END = pd.Timestamp("1998-06-30")


@pytest.fixture(scope="module")
def whole(cdnow_tx) -> pd.DataFrame:
    """The whole 78 weeks in weeks, one row per customer."""
    return btyd_summary(cdnow_tx, OBS_END, 7.0)


@pytest.fixture(scope="module")
def calibration(cdnow_tx, cdnow_rfm) -> pd.DataFrame:
    """The 39-week calibration table with the holdout purchase days (39 weeks)."""
    hold = cdnow_tx[(cdnow_tx["date"] > CALIBRATION_END) & (cdnow_tx["date"] <= OBS_END)]
    days = hold.groupby("customer_id")["date"].nunique()
    return cdnow_rfm.assign(
        frequency_holdout=days.reindex(cdnow_rfm.index, fill_value=0).astype(np.int64),
        duration_holdout=(OBS_END - CALIBRATION_END).days / 7.0)


def test_holdout_choice_is_compare_models_choice_refitted_on_the_whole_period(whole,
                                                                              calibration):
    choice = choose_model(whole["frequency"], whole["recency"], whole["T"],
                          calibration=calibration, calibration_end=CALIBRATION_END.date(),
                          time_unit="W", random_state=0, n_starts=2)
    assert isinstance(choice, ModelChoice)
    direct = compare_models(calibration["frequency"], calibration["recency"],
                            calibration["T"], calibration["frequency_holdout"],
                            calibration["duration_holdout"], time_unit="W", random_state=0,
                            n_starts=2)
    assert choice.comparison is not None
    assert choice.comparison.chosen == direct.chosen == choice.name
    refit = MODELS[choice.name](time_unit="W", random_state=0, n_starts=2).fit(
        whole["frequency"], whole["recency"], whole["T"])
    for name, value in refit.params_.items():
        assert choice.model.params_[name] == pytest.approx(value, rel=1e-9)
    assert choice.limits == direct.boundary
    # no customer of the sample is first seen on the last day; nothing failed to converge
    assert not any("T = 0" in n or "did not converge" in n for n in choice.notes)


def test_without_a_holdout_the_lowest_bic_on_the_whole_period_is_chosen(whole):
    choice = choose_model(whole["frequency"], whole["recency"], whole["T"], time_unit="W",
                          random_state=0, n_starts=2, no_holdout="the span is short")
    bics = {name: cls(time_unit="W", random_state=0, n_starts=2).fit(
        whole["frequency"], whole["recency"], whole["T"]).summary().bic
        for name, cls in MODELS.items()}
    assert choice.name == min(bics, key=bics.get)
    assert choice.comparison is None
    assert choice.rule == (f"lowest BIC on the observation period ({choice.name}); "
                           "the span is short")
    assert set(choice.limits) == set(MODELS)


def test_too_few_repeat_buyers_by_the_calibration_end_falls_back_to_bic(whole, calibration):
    cal = calibration.copy()
    keep = cal.index[cal["frequency"] > 0][: MIN_REPEAT_BUYERS - 1]
    cal.loc[~cal.index.isin(keep), ["frequency", "recency"]] = 0
    choice = choose_model(whole["frequency"], whole["recency"], whole["T"], calibration=cal,
                          calibration_end=CALIBRATION_END.date(), time_unit="W",
                          model="bgnbd", n_starts=2)
    assert choice.comparison is None and choice.name == "BG/NBD"
    assert (f"no holdout comparison: only {MIN_REPEAT_BUYERS - 1} repeat buyers by the "
            "calibration end 1997-09-30") in choice.notes[0]
    assert "too few repeat buyers by the calibration end 1997-09-30" in choice.rule


def test_customers_new_at_the_calibration_end_are_prior_only_in_the_holdout_check(
        whole, calibration):
    """Review: the note on customers first seen on the calibration end said they "are
    scored as new customers", while the delivered scores use their whole history."""
    cal = calibration.copy()
    keep = cal.index[cal["frequency"] > 0][: MIN_REPEAT_BUYERS - 1]
    cal.loc[~cal.index.isin(keep), ["frequency", "recency"]] = 0
    new = cal.index[cal["frequency"] == 0][:3]
    cal.loc[new, "T"] = 0.0
    choice = choose_model(whole["frequency"], whole["recency"], whole["T"], calibration=cal,
                          calibration_end=CALIBRATION_END.date(), time_unit="W",
                          model="bgnbd", n_starts=2)
    said = [n for n in choice.notes if "first bought on calibration end" in n]
    assert len(said) == 1 and said[0].startswith(
        f"{int((cal['T'] <= 0).sum())} customers first bought on calibration end 1997-09-30")
    assert said[0].endswith("(the population's prior) in the holdout check only (the "
                            "delivered scores use their whole history)")


def test_too_few_repeat_buyers_does_not_apply_and_builds_no_table():
    built = []
    freq = [1] * (MIN_REPEAT_BUYERS - 1) + [0] * 50
    n = len(freq)
    with pytest.raises(StepNotApplicable, match=rf"only {MIN_REPEAT_BUYERS - 1} repeat buyers"
                       rf".* at least {MIN_REPEAT_BUYERS}") as info:
        choose_model(freq, [1.0] * n, [5.0] * n,
                     calibration=lambda: built.append(1) or pd.DataFrame())
    assert not isinstance(info.value, InputError)
    assert built == []  # the (costly) calibration table is never built
    assert MIN_REPEAT_BUYERS == 20  # the main job's threshold, unchanged (issue 11)


def test_a_calibration_table_without_its_columns_is_refused(whole):
    with pytest.raises(InputError, match=r"lacks column\(s\) \['frequency_holdout', "
                                         r"'duration_holdout'\]"):
        choose_model(whole["frequency"], whole["recency"], whole["T"], time_unit="W",
                     calibration=whole[["frequency", "recency", "T"]])
    with pytest.raises(InputError, match=r"model='best' is not a valid option; choose one of "
                                         r"'auto', 'bgnbd', 'mbgnbd', 'pareto'"):
        choose_model(whole["frequency"], whole["recency"], whole["T"], model="best")


def _nbd_log(n: int, r: float, alpha: float, seed: int, one_rate: bool = False):
    """Weekly (frequency, recency, T) of a Poisson purchase process with gamma(r, alpha)
    rates (or one rate r/alpha for everyone) and nobody leaving: the NBD, the no-drop-out
    limit of every purchase model."""
    rng = np.random.default_rng(seed)
    T = rng.uniform(20, 52, n)
    lam = np.full(n, r / alpha) if one_rate else rng.gamma(r, 1 / alpha, n)
    x = rng.poisson(lam * T)
    rec = np.array([rng.uniform(0, t, k).max() if k else 0.0 for t, k in zip(T, x, strict=True)])
    return pd.Series(x), pd.Series(rec), pd.Series(T)


@pytest.mark.filterwarnings("ignore::valuemax.exceptions.ConvergenceWarning")
def test_every_model_at_the_no_drop_out_limit_is_not_called_the_naive_rate():
    """User's log: every model at a limit printed "stands in for the naive purchase rate",
    though at the no-drop-out limit the predictions follow each customer's own rate (the
    NBD's (r + x) / (alpha + T) per week), not one rate. Only the limit of no purchase-rate
    heterogeneity gives everyone the same rate."""
    f, rec, T = _nbd_log(1500, 0.7, 10.0, seed=1)
    choice = choose_model(f, rec, T, time_unit="W", n_starts=2)
    assert choice.degenerate and all(v == ("no drop-out",) for v in choice.limits.values())
    assert ONE_RATE not in choice.model.boundary_
    assert "naive" not in choice.rule and "no model can be crowned" not in choice.rule
    assert "nobody leaves in the model" in choice.rule
    assert "each customer's own purchase rate" in choice.rule
    # what the sentence claims, computed independently: the NBD's conditional expectation
    p = choice.model.params_
    nbd = (p["r"] + f) / (p["alpha"] + T) * 26.0
    got = choice.model.expected_purchases(26.0, f, rec, T)
    np.testing.assert_allclose(got, nbd, rtol=1e-3)
    assert np.std(got) > 0.5  # individual: far from one value for everyone
    assert limit_effect(()) is None


@pytest.mark.filterwarnings("ignore::valuemax.exceptions.ConvergenceWarning")
def test_one_purchase_rate_for_everyone_is_said_as_such():
    f, rec, T = _nbd_log(1500, 0.7, 10.0, seed=1, one_rate=True)
    choice = choose_model(f, rec, T, time_unit="W", n_starts=2)
    assert choice.degenerate and ONE_RATE in choice.model.boundary_
    assert choice.rule.startswith("no model can be crowned on buying patterns")
    assert "every customer gets about the same expected purchases" in choice.rule
    # true of the predictions: within 1% for every customer, at the Poisson rate sum x / sum T
    got = choice.model.expected_purchases(26.0, f, rec, T)
    assert np.ptp(got) < 0.01 * got.mean()
    assert got.mean() == pytest.approx(26.0 * f.sum() / T.sum(), rel=1e-2)
