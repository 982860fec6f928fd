"""The drift sentence after ``--refit`` says the models were refitted, not to refit them."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from valuemax.clv import BetaGeoModel
from valuemax.pipeline._rescore import StoredModels, drift_check

# BG/NBD on the CDNOW sample in weeks, as published by Fader, Hardie & Lee (2005)
CDNOW_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def _drifted(refitted: bool):
    model = BetaGeoModel.from_params(**CDNOW_BGNBD, time_unit="W")
    models = StoredModels("BG/NBD", model, None, {"BG/NBD": CDNOW_BGNBD})
    before = pd.DataFrame({"customer_id": [f"c{i}" for i in range(200)],
                           "frequency": 2.0, "recency": 20.0, "T": 30.0})
    old_end, new_end = dt.date(2024, 1, 1), dt.date(2024, 7, 1)
    weeks = (new_end - old_end).days / 7
    expected = np.asarray(model.expected_purchases(weeks, before["frequency"],
                                                   before["recency"], before["T"]))
    # every customer buys three times what the model expects: a drift of about +200 %
    new_days = pd.Series(np.round(3 * expected), index=before["customer_id"])
    return drift_check(models, before, new_days, old_end, new_end, (0.0, 0.0), "W",
                       refitted=refitted), expected.sum()


def test_drift_after_a_refit_says_refitted():
    check, expected = _drifted(refitted=True)
    assert check.predicted == pytest.approx(expected)
    assert check.refit_advised and check.relative_error > 1.5
    assert "refit it" not in check.message and "refitted" in check.message


def test_drift_without_a_refit_advises_one():
    check, _ = _drifted(refitted=False)
    assert check.refit_advised
    assert ("refit it with the next file of new lines (--refit or refit=True; a file already "
            "applied changes nothing), or run analyze on the whole log now") in check.message


def _scaled(factor: float, dispersion: float):
    """The drift check when the customers buy ``factor`` times the published BG/NBD's
    forecast over half a year (200 customers: frequency 2, recency 20, T 30 weeks)."""
    model = BetaGeoModel.from_params(**CDNOW_BGNBD, time_unit="W")
    models = StoredModels("BG/NBD", model, None, {"BG/NBD": CDNOW_BGNBD})
    before = pd.DataFrame({"customer_id": [f"c{i}" for i in range(200)],
                           "frequency": 2.0, "recency": 20.0, "T": 30.0})
    old_end, new_end = dt.date(2024, 1, 1), dt.date(2024, 7, 1)
    expected = np.asarray(model.expected_purchases((new_end - old_end).days / 7,
                                                   before["frequency"], before["recency"],
                                                   before["T"]))
    new_days = pd.Series(factor * expected, index=before["customer_id"])
    return drift_check(models, before, new_days, old_end, new_end, (0.0, 0.0), "W",
                       dispersion=dispersion), float(expected.sum())


@pytest.mark.parametrize(("factor", "dispersion", "words"), [
    (1.15, 1.0, "is within the threshold (±{thr}), though beyond the noise allowance "
                "(±{allow}): no refit needed"),
    (1.30, 50.0, "is beyond the threshold (±{thr}) but within the noise allowance "
                 "(±{allow}): no refit needed"),
])
def test_the_sentence_says_which_bound_held(factor, dispersion, words):
    check, expected = _scaled(factor, dispersion)
    gap, thr = (factor - 1) * expected, 0.2 * expected
    allow = 1.96 * np.sqrt(dispersion * expected)
    assert expected >= 20  # the premise: enough predicted to judge (MIN_EXPECTED)
    assert not check.refit_advised
    assert check.message.endswith(
        f"the gap of {gap:,.1f} " + words.format(thr=f"{thr:,.1f}", allow=f"{allow:,.1f}"))
    assert "since the fit on 2024-01-01 (182 days)" in check.message


@pytest.mark.parametrize(("days", "dispersion", "said"), [
    (3, 1.0, "1.0 being chance's variance, assumed: the log has 3 days before the stored "
             "end, fewer than the 14 needed to measure how much its daily repeat purchases "
             "vary"),
    (40, 1.0, "1.0 being chance's variance: this log's daily repeat purchases vary no more "
              "than chance over the 40 days before the stored end"),
    (56, 6.5, "6.5 being how many times chance's variance this log's daily repeat purchases "
              "show over the 56 days before the stored end"),
])
def test_the_dispersion_is_said_as_measured(days, dispersion, said):
    """Review: a 3-day log's drift line said its dispersion was measured "over the 56 days
    before the stored end" (it was assumed, 1, for lack of days). The sentence says over how
    many days it was measured, or that chance's variance was assumed."""
    model = BetaGeoModel.from_params(**CDNOW_BGNBD, time_unit="W")
    models = StoredModels("BG/NBD", model, None, {"BG/NBD": CDNOW_BGNBD})
    before = pd.DataFrame({"customer_id": [f"c{i}" for i in range(200)],
                           "frequency": 2.0, "recency": 20.0, "T": 30.0})
    new_days = pd.Series(1.0, index=before["customer_id"])
    check = drift_check(models, before, new_days, dt.date(2024, 1, 1), dt.date(2024, 7, 1),
                        (0.0, 0.0), "W", dispersion=dispersion, dispersion_days=days)
    assert said in check.message
