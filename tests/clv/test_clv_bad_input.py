"""Bad input to the CLV models: a clear, typed error naming what, how much and the fix."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from valuemax.clv import BetaGeoModel, GammaGammaModel, ModifiedBetaGeoModel, ParetoNBDModel
from valuemax.exceptions import ConvergenceError, DataLossWarning, InputError

ALL = pytest.mark.parametrize("cls", [BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel],
                              ids=lambda c: c.__name__)


@ALL
@pytest.mark.parametrize(("frequency", "recency", "T", "match"), [
    ([0, 1.5, 2], [0, 1, 2], [3, 3, 3], r"frequency is not an integer for 1 of 3 customers "
                                         r"\(rows 1\)"),
    ([0, -1, 2], [0, 1, 2], [3, 3, 3], r"frequency is negative for 1 of 3"),
    ([0, 1, 2], [0, 4, 5], [3, 3, 3], r"recency exceeds T for 2 of 3 customers \(rows 1, 2\)"),
    ([0, 1, 2], [0, np.nan, 2], [3, 3, 3], r"recency is NaN or infinite for 1 of 3"),
    ([0, 1], [0, 1, 2], [3, 3, 3], r"lengths differ"),
    ([0, 1, 2], [1, 1, 2], [3, 3, 3], r"recency is not 0 where frequency == 0"),
    ([0, 1, 2], [0, -1, 2], [3, 3, 3], r"recency is negative"),
    ([0, 1, 2], [0, 0, 0], [3, -1, 3], r"T is negative for 1 of 3 customers \(rows 1\)"),
    ([0, 1, 2], [0, 0, 0], [3, 0, 3], r"frequency is above 0 where T == 0 .*rows 1"),
    (["0", "1"], [0, 1], [3, 3], r"frequency must be numeric"),
    ([], [], [], r"got 0 customers"),
])
def test_fit_rejects_bad_rfm(cls, frequency, recency, T, match):
    with pytest.raises(InputError, match=match):
        cls().fit(frequency, recency, T)


def test_messages_name_series_labels_and_predictions_check_too():
    idx = pd.Index(["c1", "c2", "c3"], name="customer_id")
    x = pd.Series([0, 1, 2], index=idx)
    tx = pd.Series([0.0, 5.0, 1.0], index=idx)
    T = pd.Series([3.0, 3.0, 3.0], index=idx)
    m = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    with pytest.raises(InputError, match=r"BetaGeoModel.p_alive: recency exceeds T .*customer_id c2"):
        m.p_alive(x, tx, T)
    with pytest.raises(InputError, match=r"t must be finite and >= 0"):
        m.expected_purchases(-1, [1], [1.0], [2.0])
    with pytest.raises(InputError, match=r"t must be finite and >= 0"):
        m.expected_purchases_new([1.0, np.inf])


def test_weights_must_be_non_negative():
    with pytest.raises(InputError, match=r"weights is negative for 1 of 2"):
        BetaGeoModel().fit([0, 1], [0, 1.0], [2.0, 2.0], weights=[1, -1])


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"time_unit": "M"}, r"time_unit='M' is not a valid option; choose one of 'D', 'W'"),
    ({"penalizer": -1.0}, r"penalizer must be a finite number >= 0"),
    ({"n_starts": 0}, r"n_starts must be an integer >= 1"),
])
def test_bad_hyper_parameters_raise_at_fit(kwargs, match):
    model = BetaGeoModel(**kwargs)  # stored unvalidated (STYLE b.1)
    with pytest.raises(ValueError, match=match):
        model.fit([0, 1], [0, 1.0], [2.0, 2.0])


def test_from_params_rejects_non_positive():
    with pytest.raises(ValueError, match=r"finite and > 0"):
        BetaGeoModel.from_params(r=0.2, alpha=-1.0, a=0.8, b=2.4)


def test_convergence_error_gives_last_estimates(monkeypatch):
    import valuemax.clv._base as base

    class Failed:
        x = np.zeros(4)
        fun = 1.0
        jac = np.ones(4)
        success = False
        nit = 1000

    monkeypatch.setattr(base, "minimize", lambda *a, **k: Failed())
    with pytest.raises(ConvergenceError, match=r"did not converge from 2 start\(s\); last "
                                               r"estimates \[1.0, 1.0, 1.0, 1.0\]"):
        BetaGeoModel(n_starts=2).fit([0, 1, 2], [0, 1.0, 2.0], [3.0, 3.0, 3.0],
                                     weights=[10, 10, 10])


@pytest.mark.parametrize("cls", [BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel])
def test_too_few_repeat_buyers_is_an_error_with_count_and_minimum(cls):
    x = [0] * 50 + [1] * 9
    t_x = [0.0] * 50 + [2.0] * 9
    with pytest.raises(InputError, match=r"9 repeat buyers .* of 59; .* at least 10"):
        cls().fit(x, t_x, [5.0] * 59)


@pytest.mark.parametrize("cls", [BetaGeoModel, ModifiedBetaGeoModel])
def test_expectations_are_smooth_through_a_equal_one(cls):
    # the closed forms are 0/0 at a = 1: the value there sits between its neighbours
    vals = [cls.from_params(r=0.5, alpha=5.0, a=a, b=2.0).expected_purchases(
        10.0, [2, 0], [5.0, 0.0], [20.0, 20.0]) for a in (1 - 1e-3, 1.0, 1 + 1e-3)]
    assert np.isfinite(vals).all()
    np.testing.assert_allclose(vals[1], (vals[0] + vals[2]) / 2, rtol=1e-6)
    new = [float(cls.from_params(r=0.5, alpha=5.0, a=a, b=2.0).expected_purchases_new(10.0))
           for a in (1 - 1e-3, 1.0, 1 + 1e-3)]
    assert new[0] > new[1] > new[2] > 0


def test_series_with_different_indexes_are_refused():
    m = BetaGeoModel.from_params(r=0.5, alpha=5.0, a=0.8, b=2.0)
    f = pd.Series([1, 0], index=["a", "b"])
    with pytest.raises(InputError, match="different indexes"):
        m.p_alive(f, pd.Series([2.0, 0.0], index=["b", "a"]), pd.Series([5.0, 5.0], index=f.index))


def test_gamma_gamma_rejects_non_repeat_buyers(cdnow_rfm):
    x, m = cdnow_rfm["frequency"], cdnow_rfm["monetary_value"]
    with pytest.raises(InputError, match=r"1,411 of 2,357 rows have frequency == 0 .*"
                                         r"on_invalid='drop'"):
        GammaGammaModel().fit(x, m)
    with pytest.warns(DataLossWarning, match=r"dropped 1,411 rows \(59.9%\)"):
        dropped = GammaGammaModel(on_invalid="drop", random_state=0).fit(x, m)
    assert dropped.n_dropped_ == 1411 and dropped.n_customers_ == 946


def test_gamma_gamma_too_few_repeat_buyers():
    with pytest.raises(InputError, match=r"3 repeat buyers to fit; GammaGammaModel needs at "
                                         r"least 10"):
        GammaGammaModel().fit([1, 2, 3], [10.0, 20.0, 30.0])


def test_gamma_gamma_bad_values():
    with pytest.raises(InputError, match=r"frequency is not an integer for 1 of 2"):
        GammaGammaModel().fit([1, 2.5], [10.0, 20.0])
    with pytest.raises(InputError, match=r"1 of 2 rows have monetary_value <= 0 \(rows 1\)"):
        GammaGammaModel().fit([1, 2], [10.0, -5.0])
    ids = pd.Index(["c1", "c2", "c3"], name="customer_id")
    with pytest.raises(InputError, match=r"1 of 3 rows have frequency == 0 \(customer_id c2\) "
                                         r"and 1 of 3 rows have monetary_value <= 0 "
                                         r"\(customer_id c3\)"):
        GammaGammaModel().fit(pd.Series([1, 0, 2], index=ids),
                              pd.Series([10.0, 0.0, -5.0], index=ids))
    m = GammaGammaModel.from_params(p=6.25, q=3.74, gamma=15.44)
    with pytest.raises(InputError, match=r"monetary_value <= 0 where frequency >= 1 for 1 of 2 "
                                         r"customers \(rows 0\)"):
        m.expected_average_value([1, 2], [0.0, 5.0])
    with pytest.raises(ValueError, match=r"on_invalid must be one of"):
        GammaGammaModel(on_invalid="skip").fit([1], [1.0])


def test_unidentified_parameter_warns_at_the_bound():
    # every customer identical and far from heterogeneous: r and alpha run to the bound
    from valuemax.exceptions import ConvergenceWarning

    with pytest.warns(ConvergenceWarning, match=r"ran to the search bound"):
        ParetoNBDModel(n_starts=1).fit([3] * 50, [30.0] * 50, [39.0] * 50)


def test_gamma_gamma_infinite_mean_is_refused_not_negative():
    m = GammaGammaModel.from_params(p=2.0, q=0.5, gamma=3.0)
    assert float(m.expected_average_value([5], [10.0])[0]) > 0  # p x + q - 1 > 0: defined
    with pytest.raises(InputError, match=r"undefined .* q = 0.5 <= 1"):
        m.expected_average_value([0, 5], [0.0, 10.0])


def test_from_params_refuses_booleans_and_text_and_takes_numpy_numbers():
    with pytest.raises(ValueError, match="finite and > 0"):
        BetaGeoModel.from_params(r=True, alpha=1.0, a=1.0, b=1.0)
    with pytest.raises(ValueError, match="finite and > 0"):
        BetaGeoModel.from_params(r="1", alpha=1.0, a=1.0, b=1.0)
    m = BetaGeoModel.from_params(r=np.float32(0.5), alpha=np.int64(4), a=0.8, b=2.0)
    assert m.params_["alpha"] == 4.0
    BetaGeoModel(penalizer=np.float64(0.01))._check_hyper()


@pytest.mark.parametrize("bad", [-1, 1.5, np.nan, [0, 2.5]])
def test_counts_and_periods_share_one_wording(bad):
    """Every count or period argument (BG/BB, sBG, P(X(t)=n) of the continuous models) is
    refused with the same sentence: name, unit, lower bound, how many values, never rounded."""
    from valuemax.clv import BetaGeoBetaBinomModel, ShiftedBetaGeoModel

    n_bad = int(np.sum(np.isnan(bad) | (np.asarray(bad) < 0)
                       | (np.asarray(bad) != np.floor(bad))))
    size = np.size(bad)
    tail = rf"; {n_bad} of {size} values are not \(never rounded\)\."
    calls = [
        (lambda: ShiftedBetaGeoModel.from_params(alpha=0.7, beta=1.2).survival(bad),
         r"ShiftedBetaGeoModel.survival: t must be whole numbers of periods >= 0"),
        (lambda: BetaGeoBetaBinomModel.from_params(alpha=1.2, beta=0.75, gamma=0.66, delta=2.8)
         .expected_purchases_new(bad),
         r"BetaGeoBetaBinomModel.expected_purchases_new: n_periods must be whole numbers of "
         r"opportunities >= 0"),
        (lambda: ParetoNBDModel.from_params(r=0.55, alpha=10.6, s=0.61, beta=11.7)
         .probability_of_n_purchases(39.0, bad),
         r"ParetoNBDModel.probability_of_n_purchases: n must be whole numbers of purchases >= 0"),
    ]
    for call, head in calls:
        with pytest.raises(InputError, match="^" + head + tail + "$"):
            call()


@pytest.mark.parametrize("value", [0, -3, 2.0, True, "5", None])
def test_integer_arguments_refuse_non_integers_and_zero(value):
    """n_customers, n_starts, max_frequency, horizon_months...: an int >= 1, never coerced."""
    with pytest.raises(ValueError, match=r"n_customers must be an integer >= 1; got "
                                         + re.escape(repr(value))):
        BetaGeoModel.from_params(r=0.24, alpha=4.4, a=0.79, b=2.4).simulate(value, 39.0)
    with pytest.raises(ValueError, match=r"n_starts must be an integer >= 1"):
        BetaGeoModel(n_starts=value).fit([0, 1], [0.0, 1.0], [3.0, 3.0])
