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
