"""Published values on CDNOW_sample (39-week calibration, weeks), STYLE.md e.

Sources: BG/NBD and Pareto/NBD: Fader, Hardie & Lee (2005), "Counting your customers" the
easy way, Marketing Science 24(2), and Fader & Hardie's Pareto/NBD note; MBG/NBD
(Batislam, Denizel & Filiztekin 2007's model) on the same data: the values in issue 3's table;
Gamma-Gamma: Fader, Hardie & Lee (2005), JMR 42(4), and Hardie note 025. The calibration
summary is built from the raw file in conftest.py. Tolerances: 1e-3 relative plus half a unit
of the last published digit.
"""

from __future__ import annotations

import pytest

from valuemax.clv import BetaGeoModel, GammaGammaModel, ModifiedBetaGeoModel, ParetoNBDModel

PUBLISHED = {
    BetaGeoModel: ({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, -9582.4),
    ModifiedBetaGeoModel: ({"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}, -9582.1),
    ParetoNBDModel: ({"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}, -9595.0),
}


def test_calibration_summary_counts(cdnow_rfm):
    assert len(cdnow_rfm) == 2357
    assert int((cdnow_rfm["frequency"] == 0).sum()) == 1411
    assert int((cdnow_rfm["frequency"] > 0).sum()) == 946


@pytest.mark.parametrize("cls", list(PUBLISHED), ids=lambda c: c.__name__)
def test_purchase_models_reproduce_published_estimates(cls, cdnow_rfm):
    params, loglik = PUBLISHED[cls]
    m = cls(random_state=0).fit(cdnow_rfm["frequency"], cdnow_rfm["recency"], cdnow_rfm["T"])
    for name, value in params.items():
        assert m.params_[name] == pytest.approx(value, rel=1e-3, abs=5e-4), name
    assert m.loglik_ == pytest.approx(loglik, abs=0.05)
    assert m.converged_
    assert m.n_customers_ == 2357
    assert m.n_unique_ < 2357  # fitted on the compressed rows
    s = m.summary()
    assert s.aic == pytest.approx(2 * 4 - 2 * m.loglik_)
    ci = s.conf_int()
    assert (ci["lower"] < s.estimates).all() and (s.estimates < ci["upper"]).all()


def test_gamma_gamma_reproduces_published_estimates(cdnow_rfm):
    repeat = cdnow_rfm[cdnow_rfm["frequency"] > 0]
    assert len(repeat) == 946
    m = GammaGammaModel(random_state=0).fit(repeat["frequency"], repeat["monetary_value"])
    published = {"p": 6.25, "q": 3.74, "gamma": 15.44}
    for name, value in published.items():
        assert m.params_[name] == pytest.approx(value, rel=1e-3, abs=5e-3), name
    assert m.n_customers_ == 946


def test_bg_nbd_conditional_expectation_of_published_example():
    # FHL (2005), section 5: x=2, t_x=30.43, T=38.86 -> 1.226 purchases in weeks 40-78
    m = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    value = m.expected_purchases(39, [2], [30.43], [38.86])
    assert value.shape == (1,)
    assert value[0] == pytest.approx(1.226, abs=5e-4)
