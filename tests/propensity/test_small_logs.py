"""fit_propensity on small and odd logs: the simpler set-up it states, or a clear InputError.

The logs are built day by day so that each window's buyers and non-buyers are known by
construction; the expected counts below are derived from the spec, not from the code.
Day 0 is 2022-01-01; the logs end on day 239, so with H = 60 the holdout cutoff is day 179
(the end minus 60 days; label window days 179-238) and the training origins are days 119 and
59 (label windows 119-178 and 59-118).
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest

from valuemax.clean import clean
from valuemax.exceptions import ConvergenceError, InputError
from valuemax.io import read_transactions
from valuemax.propensity import SeparationWarning, build_training_frame
from valuemax.propensity import _metrics as metrics_mod
from valuemax.propensity import fit_propensity as _fit_propensity
from valuemax.propensity._models import HGB_MIN_CLASS_ROWS, HGB_MIN_ROWS, calibration_plan

START = dt.date(2022, 1, 1)
END_DAY = 239
CUT = START + dt.timedelta(179)


def fit_propensity(*args, **kwargs):
    """``fit_propensity`` with its SeparationWarning kept in the notes only (as the pipeline
    does): the constructed logs are often perfectly separable."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SeparationWarning)
        return _fit_propensity(*args, **kwargs)


def _amount(i: int, d: int) -> float:
    return float(5 + (7 * i + 3 * d) % 23)


def _rows(spec: dict[str, list[int]]) -> pd.DataFrame:
    rows = [(c, f"{c}-{d}", pd.Timestamp(START + dt.timedelta(d)), _amount(k, d))
            for k, (c, days) in enumerate(spec.items()) for d in days]
    df = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_ts", "amount"])
    return df.assign(order_ts=df["order_ts"].astype("datetime64[us]"))


def _shop(n_lapsed: int, n_regular: int = 40, n_mid: int = 9) -> dict[str, list[int]]:
    """Regulars buy every 10 days to day 239 (buyers in every window); "lapsed" customers
    buy on days 3 and 20 only (non-buyers everywhere); C buy on 10+i, 130+i, 200+i
    (non-buyers at origin 59, buyers after 119 and in the holdout); D buy on 12+i,
    100+i, 190+i (buyers after 59, non-buyers after 119, buyers in the holdout)."""
    spec = {f"r{i:02d}": list(range(i % 10, END_DAY + 1, 10)) for i in range(n_regular)}
    spec["r00"].append(END_DAY)                         # the log ends on day 239
    spec |= {f"l{i:02d}": [3, 20] for i in range(n_lapsed)}
    spec |= {f"c{i:02d}": [10 + i, 130 + i, 200 + i] for i in range(n_mid)}
    spec |= {f"d{i:02d}": [12 + i, 100 + i, 190 + i] for i in range(n_mid)}
    return spec


def _amount_only_csv(tmp_path, spec: dict[str, list[int]]) -> str:
    path = tmp_path / "shop.csv"
    _rows(spec).to_csv(path, index=False, date_format="%Y-%m-%d %H:%M:%S")
    return str(path)


@pytest.fixture(scope="module")
def shop60(con, tmp_path_factory):
    """The 60-customer amount-only log through the standard cleaning (returns netted):
    2 lapsed customers, so the holdout has exactly 2 non-buyers."""
    spec = _shop(n_lapsed=2)
    assert len(spec) == 60
    path = _amount_only_csv(tmp_path_factory.mktemp("shop60"), spec)
    ing = read_transactions(path, con=con, table_name="shop60_raw")
    cleaned = clean(ing, returns="net")
    res = fit_propensity(cleaned.transactions, horizon_days=60,
                         observation_end=cleaned.observation_end, random_state=0)
    return spec, cleaned, res


def test_amount_only_60_customers_fits_logit_only_with_2_fold_refit(shop60):
    spec, _, res = shop60
    # training rows: all 60 customers at origins 59 and 119; buyers 40 regulars + 9 (D at
    # origin 59, C at origin 119) per origin, non-buyers 2 lapsed + 9 per origin
    assert res.origins == (START + dt.timedelta(119), START + dt.timedelta(59))
    assert res.cutoff == CUT and res.n_train == 120 and res.n_holdout == 60
    assert res.n_train < HGB_MIN_ROWS
    assert res.setup["models"] == ["logit"] and res.chosen_model == "logit"
    assert "120 training rows with 98 buyers and 22 non-buyers" in res.left_out["hgb"]
    assert set(res.metrics["model"]) >= {"logit", "recency"} and "hgb" not in set(
        res.metrics["model"])
    assert res.setup["cv"] == "time-ordered" and res.setup["cv_folds"] == 1
    assert res.setup["calibration"] == {"logit": {"method": "sigmoid", "folds": 3}}
    # holdout: 58 buyers, the 2 lapsed customers are the only non-buyers -> 2 folds
    assert res.base_rate == pytest.approx(58 / 60)
    assert res.setup["refit"] == "holdout"
    assert res.setup["refit_calibration"] == {"method": "sigmoid", "folds": 2}
    s = res.scores
    assert len(s) == 60 and set(s["customer_id"]) == set(spec)
    assert np.isfinite(s["p_buy_60d"]).all() and s["p_buy_60d"].between(0, 1).all()


def test_amount_only_log_leaves_out_features_without_information(shop60):
    _, cleaned, res = shop60
    # the cleaned log carries product_id (all NULL) and returned_quantity (netting)
    assert {"product_id", "returned_quantity"} <= set(cleaned.transactions.columns)
    frame = build_training_frame(cleaned.transactions, cutoffs=[CUT], horizon_days=60,
                                 return_rate=True)
    assert {"product_diversity", "return_rate"}.isdisjoint(frame.columns)
    assert {"product_diversity", "return_rate"}.isdisjoint(res.features)
    used = next(n for n in res.notes if n.startswith("features used"))
    assert used == f"features used ({len(res.features)}): {', '.join(res.features)}."
    assert {"recency_days", "frequency", "ipt_mean"} <= set(res.features)
    assert res.to_dict()["features"] == list(res.features)


def test_one_holdout_non_buyer_scores_with_the_training_model(con, to_table):
    res = fit_propensity(to_table(_rows(_shop(n_lapsed=1))), horizon_days=60,
                         btyd_baseline=False)
    # 1 non-buyer in the holdout: too few to calibrate a refit (each class needs >= 2)
    assert res.base_rate == pytest.approx(58 / 59)
    assert res.setup["refit"] == "training" and res.setup["refit_calibration"] is None
    assert any("no refit on the holdout rows" in n and "58 buyers and 1 non-buyers" in n
               for n in res.notes)
    p = res.scores["p_buy_60d"]
    assert len(p) == 59 and p.between(0, 1).all()


def test_single_origin_uses_stratified_folds(to_table):
    res = fit_propensity(to_table(_rows(_shop(n_lapsed=2))), horizon_days=60, n_origins=1,
                         btyd_baseline=False)
    assert res.origins == (START + dt.timedelta(119),)
    assert res.n_train == 60
    assert res.setup["cv"] == "stratified" and res.setup["cv_folds"] == 3
    assert res.scores["p_buy_60d"].between(0, 1).all()


def test_five_customers_fit_logit_only(to_table):
    # 2 regulars, one C, one D, one lapsed: per origin 3 buyers and 2 non-buyers (6 and 4 in
    # all); the holdout has the lapsed customer as its only non-buyer
    spec = _shop(n_lapsed=1, n_regular=2, n_mid=1)
    res = fit_propensity(to_table(_rows(spec)), horizon_days=60, btyd_baseline=False)
    assert res.n_train == 10 and res.n_holdout == 5 and res.base_rate == pytest.approx(0.8)
    assert res.setup["models"] == ["logit"] and res.setup["cv"] == "time-ordered"
    assert res.setup["calibration"]["logit"] == {"method": "sigmoid", "folds": 3}
    assert res.setup["refit"] == "training"
    assert len(res.scores) == 5 and res.scores["p_buy_60d"].between(0, 1).all()


def test_five_customers_with_two_non_buyers_need_cv_folds_2(to_table):
    # 2 regulars, one C, one D and "e" (days 15, 70, 125): training 8 buyers, 2 non-buyers
    spec = _shop(n_lapsed=0, n_regular=2, n_mid=1) | {"e": [15, 70, 125]}
    t = to_table(_rows(spec))
    with pytest.raises(InputError, match=r"8 buyers and 2 non-buyers in the 60 days after "
                                         r"the training origins \(each class needs >= 3\); "
                                         r"use a longer log, more customers or cv_folds=2"):
        fit_propensity(t, horizon_days=60, btyd_baseline=False)
    # with cv_folds=2 (the message's advice) it fits: calibration over 2 folds
    res = fit_propensity(t, horizon_days=60, cv_folds=2, btyd_baseline=False)
    assert res.setup["calibration"]["logit"] == {"method": "sigmoid", "folds": 2}
    assert res.setup["refit"] == "training"        # "e" is the only holdout non-buyer
    assert len(res.scores) == 5 and res.scores["p_buy_60d"].between(0, 1).all()


def test_everyone_buys_again_in_training_is_not_applicable(to_table):
    spec = {f"r{i:02d}": list(range(i % 10, END_DAY + 1, 10)) for i in range(20)}
    spec |= {f"s{i}": list(range(i, 170, 10)) for i in range(3)}   # stop before the holdout
    spec["r00"].append(END_DAY)
    with pytest.raises(InputError, match=r"23 buyers and 0 non-buyers \(everyone bought "
                                         r"again\).*each class needs >= 3"):
        fit_propensity(to_table(_rows(spec)), horizon_days=60, n_origins=1)


def test_nobody_buys_again_in_training_is_not_applicable(to_table):
    spec = {f"o{i:02d}": [i] for i in range(20)}                    # one-time buyers
    spec |= {f"n{i}": [130 + i, 200 + i] for i in range(5)}        # new, buy in the holdout
    spec["o00"].append(END_DAY)
    with pytest.raises(InputError, match=r"1 buyers and 19 non-buyers .*each class needs >= 3"
                                         r"|0 buyers and \d+ non-buyers \(nobody bought again\)"):
        fit_propensity(to_table(_rows(spec)), horizon_days=60, n_origins=1)


def test_identical_histories_are_not_applicable(to_table):
    # 10 customers with the same lines before origin 119 (n_origins=1): every feature is
    # constant there; the 5 "a" customers buy again (days 130 and 200), the 5 "b" do not
    same = list(range(0, 120, 10))
    spec = {f"a{i}": [*same, 130, 200] for i in range(5)} | {f"b{i}": same for i in range(5)}
    spec["a0"].append(END_DAY)
    df = _rows(spec).assign(amount=10.0)
    with pytest.raises(InputError, match=r"constant or missing in the 10 training rows: 0 of "
                                         r"\d+ features vary \(at least 1 is needed\)"):
        fit_propensity(to_table(df), horizon_days=60, n_origins=1)


def test_holdout_with_one_class_names_the_count_and_minimum(to_table):
    spec = {f"r{i:02d}": list(range(i % 10, END_DAY + 1, 10)) for i in range(20)}
    with pytest.raises(InputError, match=r"only buyers: 20 of 20 customers.*0 non-buyers; "
                                         r"each class needs >= 1"):
        fit_propensity(to_table(_rows(spec)), horizon_days=60)


class _FailingPredictions(metrics_mod.BetaGeoModel):
    def expected_purchases(self, *args, **kwargs):
        raise ConvergenceError("BetaGeoModel.expected_purchases: the prediction is not finite "
                               "for 37 of 37 values")


class _FailingFit(metrics_mod.BetaGeoModel):
    def fit(self, *args, **kwargs):
        raise ConvergenceError("the optimiser did not converge")


@pytest.mark.parametrize(("model", "left"), [
    (_FailingPredictions, {"btyd_expected_purchases"}),
    (_FailingFit, {"btyd_expected_purchases", "btyd_p_alive"}),
])
def test_a_failing_btyd_baseline_is_left_out_with_its_reason(monkeypatch, to_table, model,
                                                             left):
    monkeypatch.setattr(metrics_mod, "BetaGeoModel", model)
    res = fit_propensity(to_table(_rows(_shop(n_lapsed=2))), horizon_days=60)
    assert set(res.left_out) - {"hgb"} == left
    assert all("ConvergenceError" not in r and ("not finite" in r or "did not converge" in r)
               for k, r in res.left_out.items() if k != "hgb")
    models = set(res.metrics["model"])
    assert left.isdisjoint(models) and "recency" in models
    assert ({"btyd_p_alive"} - left) <= models
    assert set(res.to_dict()["left_out"]) == set(res.left_out)
    assert res.scores["p_buy_60d"].between(0, 1).all()


def test_200_customers_set_up_follows_the_stated_thresholds(make_synthetic, to_table):
    log = make_synthetic(200, seed=1, days=365)
    t = to_table(log)
    res = fit_propensity(t, horizon_days=60, btyd_baseline=False)
    # the training rows counted independently from the frame at the same origins
    frame = build_training_frame(t, cutoffs=list(res.origins), horizon_days=res.label_days)
    n1 = int(frame["label"].sum())
    n0 = len(frame) - n1
    assert res.n_train == len(frame)
    both = len(frame) >= HGB_MIN_ROWS and min(n0, n1) >= HGB_MIN_CLASS_ROWS
    assert res.setup["models"] == (["logit", "hgb"] if both else ["logit"])
    assert ("hgb" in res.left_out) is not both
    assert len(res.scores) == log["customer_id"].nunique() == 200
    assert res.scores["p_buy_60d"].between(0, 1).all()
    method = "isotonic" if min(n0, n1) >= 500 else "sigmoid"
    assert all(c == {"method": method, "folds": 3} for c in res.setup["calibration"].values())


def test_calibration_plan_minimum():
    with pytest.raises(InputError, match=r"1 buyers and 9 non-buyers \(each class needs >= 2"):
        calibration_plan(np.array([1] + [0] * 9))
    assert calibration_plan(np.array([1, 1] + [0] * 9)) == ("sigmoid", 2)
    from sklearn.ensemble import HistGradientBoostingClassifier

    assert HistGradientBoostingClassifier().min_samples_leaf == HGB_MIN_CLASS_ROWS
