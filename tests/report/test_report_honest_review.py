"""A new user's review of the report's wording (CDNOW / Online Retail findings): each claim
is checked on small hand-built inputs, so that the text says only what its figures show."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from valuemax.report._sections_propensity import _verdict


def _prop(aucs: dict[str, float]) -> SimpleNamespace:
    """A propensity result with these holdout AUCs (the chosen model is the logit)."""
    metrics = pd.DataFrame({"model": list(aucs), "roc_auc": list(aucs.values())})
    return SimpleNamespace(metrics=metrics, chosen_model="logit")


def test_a_weak_bgnbd_baseline_is_not_read_as_the_chosen_models_p_alive():
    """CDNOW: the BG/NBD P(alive) baseline scored AUC 0.344, but the CLV step chose
    MBG/NBD, whose P(alive) is the one in customers.csv: the page must say the baseline is
    BG/NBD's, not the chosen model's."""
    res = _prop({"logit": 0.83, "recency": 0.80, "btyd_p_alive": 0.344,
                 "btyd_expected_purchases": 0.78})
    text = _verdict(res, "MBG/NBD")
    assert "BG/NBD P(alive) (AUC 0.344)" in text
    assert "not those of MBG/NBD" in text
    assert "say nothing about the P(alive) in the customer files" in text
    # the chosen purchase model is BG/NBD itself: no such sentence
    assert "not those of" not in _verdict(res, "BG/NBD")
    assert "not those of" not in _verdict(res)
