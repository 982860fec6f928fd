"""choose_model: the model policy of valuemax.clv (issue 11), on the CDNOW sample.

The choice is recomputed here another way: the holdout choice equals compare_models' on the
same table, the BIC choice is the argmin of BICs of models fitted directly, and the model
returned equals a direct fit of the chosen model on the whole period.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from valuemax.clv import MIN_REPEAT_BUYERS, ModelChoice, choose_model, compare_models
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
