"""run_step tells "does not apply" from "failed" (issue 11).

A ``StepNotApplicable`` is a skip with its reason and no traceback; an ``InputError`` raised
inside a step is no longer a quiet skip: it is named as a failure and keeps its traceback.
Real steps on real (small) inputs, no fakes.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import valuemax
from valuemax.pipeline import _analyze
from valuemax.pipeline._parts import run_basket, run_stats, run_step


@pytest.fixture
def short_log(tmp_path):
    """60 days of 2024, 40 customers buying on 1-3 days each (no products)."""
    rng = np.random.default_rng(3)
    rows = [(f"c{c}", (dt.date(2024, 1, 1) + dt.timedelta(days=int(d))).isoformat(), 10.0)
            for c in range(40)
            for d in sorted(rng.choice(60, size=int(rng.integers(1, 4)), replace=False))]
    path = tmp_path / "short.csv"
    pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).to_csv(path, index=False)
    return path


def test_a_log_without_products_does_not_apply_to_baskets():
    skipped: dict[str, str] = {}
    tracebacks: dict[str, str] = {}
    out = run_step("basket", skipped, tracebacks, run_basket, None,
                   {"customer_id": "id", "order_ts": "date", "amount": "total"}, skipped,
                   random_state=0)
    assert out is None
    assert skipped == {"basket": "the log has no product column (product_id or "
                                 "product_name): nothing to find in baskets"}
    assert tracebacks == {}


def test_an_input_error_inside_a_step_is_a_named_failure_with_its_traceback():
    customers = pd.DataFrame({"customer_id": ["a", "b"], "frequency": [1, 2]})
    skipped: dict[str, str] = {}
    tracebacks: dict[str, str] = {}
    assert run_step("stats", skipped, tracebacks, run_stats, customers) is None
    assert skipped["stats"].startswith("InputError: value_drivers needs a 'total_spend' or "
                                       "'clv_<horizon>' column")
    assert tracebacks["stats"].startswith("Traceback (most recent call last)")
    assert "value_drivers" in tracebacks["stats"] and "InputError" in tracebacks["stats"]


def test_analyze_reports_both_outcomes(short_log, monkeypatch):
    # a calibration end on the first purchase day is the caller's mistake, refused before
    # the job (test_value_step); past that guard the value step's own check refuses it: a
    # failure of the value step, named, with its traceback; the rest of the job runs
    monkeypatch.setattr(_analyze, "refuse_empty_calibration", lambda *a, **k: None)
    first = pd.read_csv(short_log)["date"].min()
    res = valuemax.analyze(str(short_log), calibration_end=first, clusters="none",
                           out=None, random_state=0)
    assert res.skipped["value"].startswith(f"InputError: calibration_end {first} must "
                                           "fall after the first purchase")
    assert "check_calibration_end" in res.tracebacks["value"]
    # the short log spans under two 90-day horizons: propensity does not apply (no trace)
    assert "fewer than two horizons" in res.skipped["propensity"]
    assert "propensity" not in res.tracebacks
    assert res.value is None and len(res.customers) == 40


def test_too_few_data_is_an_input_error_to_a_caller_and_a_skip_to_the_job():
    # 3 repeat buyers: Gamma-Gamma's floor is MIN_REPEAT_BUYERS_TO_FIT. A direct caller gets
    # an InputError (the data it passed cannot be fitted); run_step skips without a traceback
    from valuemax.clv import GammaGammaModel
    from valuemax.clv._btyd import MIN_REPEAT_BUYERS_TO_FIT
    from valuemax.exceptions import InputError, InsufficientData, StepNotApplicable

    frequency = np.array([1, 2, 3])
    monetary = np.array([10.0, 20.0, 15.0])
    with pytest.raises(InputError, match=f"3 repeat buyers to fit.*at least "
                                         f"{MIN_REPEAT_BUYERS_TO_FIT}") as info:
        GammaGammaModel().fit(frequency, monetary)
    assert isinstance(info.value, StepNotApplicable) and type(info.value) is InsufficientData
    skipped: dict[str, str] = {}
    tracebacks: dict[str, str] = {}
    assert run_step("spend", skipped, tracebacks, GammaGammaModel().fit, frequency,
                    monetary) is None
    assert skipped["spend"].startswith("GammaGammaModel.fit: 3 repeat buyers to fit")
    assert tracebacks == {}
