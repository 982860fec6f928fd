"""The customer-value step on real data: published CDNOW estimates from the raw file, the
per-customer table, the tracking series, new customers, options and skips."""

from __future__ import annotations

import datetime as dt
import json
import warnings

import numpy as np
import pandas as pd
import pytest

import valuemax
from valuemax.cli import app
from valuemax.clv import BetaGeoModel
from valuemax.exceptions import ConvergenceWarning, InputError
from valuemax.pipeline import _analyze, customer_value
from valuemax.pipeline._value import calibration_unused, refuse_empty_calibration

CDNOW_COLUMNS = ["customer_id", "customer_index", "date", "quantity", "amount"]
#: Fader, Hardie & Lee (2005) and the issue's table: CDNOW 1/10 sample, 39-week calibration.
PUBLISHED = {
    "BG/NBD": ({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, -9582.4),
    "MBG/NBD": ({"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}, -9582.1),
    "Pareto/NBD": ({"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}, -9595.0),
}


@pytest.fixture(scope="module")
def cdnow_value(datasets):
    return customer_value(datasets("cdnow/CDNOW_sample.txt"), columns=CDNOW_COLUMNS,
                          calibration_end="1997-09-30", time_unit="W")


def test_reproduces_the_published_calibration_fits_from_the_raw_file(cdnow_value):
    comp = cdnow_value.comparison
    table = comp.table.set_index("model")
    for name, (params, loglik) in PUBLISHED.items():
        fitted = comp.models[name].params_
        for key, value in params.items():
            assert fitted[key] == pytest.approx(value, abs=6e-4), (name, key)
        assert table.loc[name, "loglik"] == pytest.approx(loglik, abs=0.05)
    spend = cdnow_value.spend_model_calibration
    assert spend.n_customers_ == 946
    assert [round(spend.params_[k], 2) for k in ("p", "q", "gamma")] == [6.25, 3.74, 15.44]
    # the chosen model has the lowest holdout MAE (no other model within 1% of it)
    best = table["holdout_mae"].idxmin()
    assert comp.chosen == cdnow_value.model_name == best
    assert table.loc[best, "actual_total"] == 1_882  # repeat purchase days, 1997-10..1998-06
    assert cdnow_value.p_alive_informative  # CDNOW has drop-out the models can see


def test_tracking_series_matches_the_calibration_counts(cdnow_value, datasets):
    track = cdnow_value.tracking
    v = cdnow_value.validation
    cal = track.loc[~track["holdout"], "actual"].iloc[-1]
    end = track["actual"].iloc[-1]
    assert end - cal == v.actual_total  # every holdout repeat purchase is in the series
    assert track["actual"].is_monotonic_increasing
    assert track["expected"].is_monotonic_increasing
    assert track["week_end"].iloc[-1] == dt.date(1998, 6, 30)
    # expected at the last calibration week's end = sum over customers of E[X(age_i)],
    # ages from the raw file's first purchase dates (independent of the pipeline)
    raw = pd.read_csv(datasets("cdnow/CDNOW_sample.txt"), sep=r"\s+", header=None,
                      names=CDNOW_COLUMNS, dtype={"customer_id": str, "date": str})
    births = pd.to_datetime(raw.groupby("customer_id")["date"].min(), format="%Y%m%d")
    model = cdnow_value.comparison.models[cdnow_value.model_name]
    week = track.loc[~track["holdout"]].iloc[-1]
    ages = ((pd.Timestamp(week["week_end"]) - births).dt.days / 7.0).clip(lower=0)
    independent = sum(float(model.expected_purchases_new(a)) for a in ages if a > 0)
    assert week["expected"] == pytest.approx(independent, rel=1e-9)
    assert week["week_end"] <= dt.date(1997, 9, 30)


def test_customer_table_is_complete_and_non_negative(cdnow_value):
    t = cdnow_value.table
    assert len(t) == t["customer_id"].nunique() == 2_357
    assert list(t.columns) == ["customer_id", "p_alive", "expected_purchases_12",
                               "expected_avg_value", "clv_12", "clv_from_prior_only"]
    assert t.notna().all().all()
    assert ((t["p_alive"] >= 0) & (t["p_alive"] <= 1)).all()
    assert (t["clv_12"] >= 0).all() and (t["expected_purchases_12"] >= 0).all()
    d = json.loads(json.dumps(cdnow_value.to_dict(), default=str))
    assert d["model"] == cdnow_value.model_name and d["total_clv"] == pytest.approx(
        t["clv_12"].sum())
    assert set(d["params"]) == set(cdnow_value.model.params_)


def test_margin_and_discount_scale_clv(datasets):
    kw = dict(columns=CDNOW_COLUMNS, calibration_end="1997-09-30", time_unit="W",
              clv_model="bgnbd")
    path = datasets("cdnow/CDNOW_sample.txt")
    base = customer_value(path, **kw, discount_rate=0.0).table
    half = customer_value(path, **kw, discount_rate=0.0, margin=0.5).table
    disc = customer_value(path, **kw, discount_rate=0.05).table
    # two separate fits: equal to the optimiser's tolerance (BLAS summation order may differ)
    np.testing.assert_allclose(half["clv_12"], 0.5 * base["clv_12"], rtol=1e-6)
    # without discounting, CLV = spend per purchase x expected purchases over the horizon
    np.testing.assert_allclose(base["clv_12"],
                               base["expected_avg_value"] * base["expected_purchases_12"],
                               rtol=1e-9)
    assert (disc["clv_12"] <= base["clv_12"] + 1e-12).all()
    assert disc["clv_12"].sum() < 0.95 * base["clv_12"].sum()


def test_customers_first_seen_on_the_last_day_are_scored_as_new(tmp_path):
    rng = np.random.default_rng(7)
    rows = []
    start = dt.date(2023, 1, 1)
    for c in range(300):  # enough repeat buyers to fit
        n = int(rng.integers(1, 6))
        days = sorted(rng.choice(300, size=n, replace=False))
        rows += [(f"c{c}", (start + dt.timedelta(days=int(d))).isoformat(),
                  float(rng.integers(5, 50))) for d in days]
    last = (start + dt.timedelta(days=300)).isoformat()
    rows.append(("newbie", last, 20.0))
    path = tmp_path / "log.csv"
    pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).to_csv(path, index=False)
    value = customer_value(path, clv_model="bgnbd")
    row = value.table.set_index("customer_id").loc["newbie"]
    assert row["p_alive"] == pytest.approx(1.0)
    new = value.model.expected_purchases_new(12 * 365.25 / 12)
    assert row["expected_purchases_12"] == pytest.approx(float(new), rel=1e-6)
    assert any("first bought on the observation end (T = 0)" in n for n in value.notes)
    assert isinstance(value.model, BetaGeoModel)


@pytest.mark.parametrize(("kw", "match"), [
    ({"horizon_months": 0}, "whole number of months"),
    ({"discount_rate": 1.5}, "monthly rate"),
    ({"margin": 0}, "share of revenue"),
    ({"clv_model": "gamma"}, "clv_model='gamma' is not a valid option"),
])
def test_bad_options_are_refused_before_reading(kw, match):
    with pytest.raises(InputError, match=match):
        customer_value("does-not-matter.csv", **kw)


def test_too_few_repeat_buyers_is_a_clear_error(tmp_path):
    path = tmp_path / "few.csv"
    path.write_text("customer_id,date,amount\na,2024-01-01,5\na,2024-02-01,6\n"
                    "b,2024-01-03,7\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"only 1 repeat buyers .* at least 20"):
        customer_value(path)


def test_cli_clv_json_reproduces_cdnow(cli_runner, datasets):
    res = cli_runner.invoke(app, [
        "clv", str(datasets("cdnow/CDNOW_sample.txt")),
        "--columns", ",".join(CDNOW_COLUMNS), "--calibration-end", "1997-09-30",
        "--time-unit", "W", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    for name, (params, _) in PUBLISHED.items():
        got = d["comparison"]["params"][name]
        assert {k: round(got[k], 3) for k in params} == pytest.approx(params, abs=1.1e-3)
    assert d["spend_model_calibration"]["n_customers"] == 946
    for name, (params, loglik) in PUBLISHED.items():
        fit = d["calibration_fits"][name]
        assert fit["loglik"] == pytest.approx(loglik, abs=0.05)
        assert {k: round(fit["params"][k], 3) for k in params} == pytest.approx(params,
                                                                                abs=1.1e-3)
    assert d["holdout"]["actual_total"] == 1_882


def test_cli_clv_bad_option_exits_2(cli_runner, datasets):
    res = cli_runner.invoke(app, ["clv", str(datasets("cdnow/CDNOW_sample.txt")),
                                  "--margin", "1.5"])
    assert res.exit_code == 2
    assert "share of revenue" in res.output


@pytest.fixture
def short_log(tmp_path):
    """60 days, 60 customers, one customer first seen on the last day: no holdout (BIC)."""
    rng = np.random.default_rng(3)
    rows = [(f"c{c}", (dt.date(2024, 1, 1) + dt.timedelta(days=int(d))).isoformat(), 10.0)
            for c in range(60)
            for d in sorted(rng.choice(60, size=int(rng.integers(1, 4)), replace=False))]
    rows.append(("late", "2024-03-01", 5.0))
    path = tmp_path / "short.csv"
    pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).to_csv(path, index=False)
    return path


def test_short_log_is_chosen_by_bic_and_scores_the_newcomer(short_log):
    # 60 customers buying at random days of 60: one purchase rate, no drop-out, so every
    # purchase model runs to a limit (the fits of issue 9 that crashed on fresh machines)
    value = customer_value(short_log)
    assert value.comparison is None and value.calibration_end is None
    assert "lowest bic" in value.rule.lower()  # its own sentence after the limit one
    t = value.table.set_index("customer_id")
    assert t.loc["late", "p_alive"] == pytest.approx(1.0)
    assert t.notna().all().all() and len(t) == 61
    assert np.isfinite(t.to_numpy(dtype=float)).all()
    # the customer first seen on the last day (T = 0) gets a new customer's expectation
    new = value.model.expected_purchases_new(12 * 365.25 / 12)  # days, the default unit
    assert t.loc["late", "expected_purchases_12"] == pytest.approx(float(new), rel=1e-9)
    # honest about thin evidence: limits, no crowned model, the naive rate, the horizon
    assert value.degenerate and all(value.boundary.values()) and len(value.boundary) == 3
    assert "no model can be crowned" in value.rule
    # the chosen model at the limit of one purchase rate: said in those terms (r >= 100)
    assert value.model.params_["r"] >= 100 and "no purchase-rate heterogeneity" in \
        value.model.boundary_
    assert any("rests on the population's average purchase rate" in n for n in value.notes)
    assert not any("naive" in n for n in value.notes)
    assert any("12 months ahead from only 60 days of history" in n for n in value.notes)
    # one purchase rate and one drop-out chance for everyone: r and alpha have no standard
    # error (a and b do not count: their ratio is what P(alive) rests on)
    assert not value.p_alive_informative
    assert ("P(alive) cannot rank customers in this log: the data do not pin down r and "
            "alpha (the purchase-rate parameters: each customer's purchase rate while active "
            "follows Gamma(r, alpha))" in value.p_alive_warning)
    d = json.loads(json.dumps(value.to_dict(), default=str))
    assert d["degenerate"] is True and d["history_days"] == 60
    assert d["boundary"] == {k: list(v) for k, v in value.boundary.items()}


def test_readme_flow_customer_table_fits_the_estimators_as_is(short_log):
    result = valuemax.analyze(str(short_log), time_unit="W", clusters="none", propensity=False,
                              random_state=0)
    customers = result.customers
    assert customers.attrs["time_unit"] == "W"
    assert (customers["T"] == 0).sum() == 1  # "late", first seen on the last day
    with warnings.catch_warnings():  # this log has no heterogeneity: parameters at a bound
        warnings.simplefilter("ignore", ConvergenceWarning)
        bg = BetaGeoModel(time_unit="W").fit(customers["frequency"], customers["recency"],
                                             customers["T"])
    assert "no purchase-rate heterogeneity" in bg.boundary_
    assert bg.time_unit_ == "W" and bg.n_customers_ == len(customers) == 61
    # the weekly table refuses a model in days (the default) instead of misreading it
    with pytest.raises(InputError, match=r"time_unit='W' \(weeks.*Pass time_unit='W'"):
        BetaGeoModel().fit(customers["frequency"], customers["recency"], customers["T"])


@pytest.mark.parametrize(("cal_end", "match"), [
    ("2024-13-45", "is not a date YYYY-MM-DD"),
    ("2023-01-01", "must fall after the first purchase"),
    ("2024-03-01", "before the observation end"),
])
def test_bad_calibration_end_is_explained(short_log, cal_end, match):
    with pytest.raises(InputError, match=match):
        customer_value(short_log, calibration_end=cal_end)


def test_analyze_goes_on_when_the_value_step_cannot_run(short_log, monkeypatch):
    # a calibration end on the first purchase day is refused before the job (below); past
    # that guard the value step's own check refuses it, and the job goes on
    monkeypatch.setattr(_analyze, "refuse_empty_calibration", lambda *a, **k: None)
    first = pd.read_csv(short_log)["date"].min()
    res = valuemax.analyze(str(short_log), calibration_end=first, clusters="none",
                           propensity=False)
    assert res.value is None and "must fall after the first purchase" in res.skipped["value"]
    assert "clv_12" not in res.customers and len(res.customers) == 61


def test_a_calibration_end_before_the_first_purchase_is_refused_before_the_job(short_log):
    """Breaker: it ran on with an empty calibration table (0 customers, no reason)."""
    first = pd.read_csv(short_log)["date"].min()
    with pytest.raises(InputError, match=rf"calibration_end 2023-06-01 must fall after the "
                                         rf"first purchase \({first}\) and before the "
                                         r"observation end \(2024-03-01\)"):
        valuemax.analyze(str(short_log), calibration_end="2023-06-01", clusters="none",
                         propensity=False)


def test_a_calibration_end_on_the_first_purchase_day_is_refused_up_front():
    """Breaker: on the first purchase day it ran on, wrote a calibration table of the
    customers first seen that day (T = 0) and failed only the value step."""
    first, end = dt.date(2024, 1, 1), dt.date(2024, 12, 1)
    for day in (first, first - dt.timedelta(days=1)):
        with pytest.raises(InputError, match=(
                rf"calibration_end {day} must fall after the first purchase \(2024-01-01\) "
                r"and before the observation end \(2024-12-01\): the calibration period "
                r"would hold (only the customers who first bought that day, each with no "
                r"time observed \(T = 0\)|no customer).* at least 20 customers who bought on "
                r"two or more days by the calibration end\. Pick a later date \(the earliest "
                r"possible is 2024-01-02\), or leave it out to hold out the last third of the "
                r"span \(the split at 2024-08-11\)")):
            refuse_empty_calibration(day, first, end)
    refuse_empty_calibration(first + dt.timedelta(days=1), first, end)  # a day later: runs
    # 335 days: the last third held out, 112 days before the end
    assert end - dt.timedelta(days=round(335 / 3)) == dt.date(2024, 8, 11)


def test_value_columns_join_in_order_as_the_merge_does():
    """The value step puts its columns beside the customers without a merge when the ids
    come in the same order: the frame the one-to-one left merge gives, exactly; in another
    order (or with a repeated id) the merge itself (which refuses a repeated id)."""
    import pandas.errors

    from valuemax.pipeline._analyze import join_in_order

    rng = np.random.default_rng(0)
    ids = pd.array([f"C{i:03d}" for i in range(50)], dtype="string[pyarrow]")
    customers = pd.DataFrame({"customer_id": ids, "n_orders": rng.integers(1, 9, 50),
                              "segment": pd.Categorical(rng.choice(["A", "B"], 50))})
    value = pd.DataFrame({"customer_id": ids, "p_alive": rng.random(50),
                          "clv_12": rng.random(50) * 100})

    def merged(left, right):
        return left.merge(right, on="customer_id", how="left", validate="one_to_one")

    for right in (value, value.iloc[::-1].reset_index(drop=True), value.iloc[:40]):
        pd.testing.assert_frame_equal(join_in_order(customers, right),
                                      merged(customers, right), check_exact=True)
    repeated = customers.assign(customer_id=ids[[0, *range(49)]])
    with pytest.raises(pandas.errors.MergeError):
        join_in_order(repeated, value.assign(customer_id=repeated["customer_id"]))


def test_a_calibration_end_without_repeat_buyers_is_said_in_the_terminal_and_summary(
        cli_runner, tmp_path):
    """Breaker: a day after the first purchase, 0 repeat buyers by the calibration end: the
    model was chosen by BIC on the whole period and the user's date was not used, said
    only in the report's notes."""
    rng = np.random.default_rng(1)
    rows = ["customer_id,date,amount"]
    for c in range(80):  # first purchases over 40 days, repeats 5 to 300 days later
        start = dt.date(2024, 1, 1) + dt.timedelta(days=c % 40)
        for d in sorted({0, *rng.choice(np.arange(5, 300), int(rng.integers(0, 5)),
                                        replace=False).tolist()}):
            rows.append(f"c{c},{start + dt.timedelta(days=int(d))},{10 + c % 7}.00")
    src = tmp_path / "log.csv"
    src.write_text("\n".join(rows) + "\n", encoding="utf-8")
    days = pd.to_datetime(pd.read_csv(src)["date"])
    first, end = days.min().date(), days.max().date()
    out = tmp_path / "out"
    res = cli_runner.invoke(app, ["analyze", str(src), "--calibration-end", "2024-01-02",
                                  "--clusters", "none", "--no-propensity", "--out", str(out)])
    assert res.exit_code == 0, res.output
    said = calibration_unused(dt.date(2024, 1, 2), 0, first, end)
    assert said.startswith("the calibration end 2024-01-02 given (--calibration-end "
                           "(calibration_end=)) was not used: only 0 customers bought on two "
                           "or more days by then, at least 20 are needed")
    split = (end - dt.timedelta(days=round((end - first).days / 3))).isoformat()
    assert said.endswith(f"Pick a later date, by which at least 20 customers have bought on "
                         f"two or more days, or leave it out to hold out the last third of "
                         f"the span (the split at {split}).")
    text = " ".join(res.stdout.split())  # the terminal wraps long lines
    assert ("caveat: The calibration end 2024-01-02 given (--calibration-end) was not used: "
            "only 0 customers bought on two or more days") in text
    assert f"(the split at {split})" in text
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    cal = summary["calibration"]
    # 4 customers first seen by 2024-01-02 (c0, c1, c40, c41), none bought twice by then
    assert (cal["n_customers"], cal["repeat_buyers"]) == (4, 0)
    assert cal["used_by_clv"] is False and cal["not_used_because"] == said
    assert summary["clv"]["calibration_end"] is None and summary["clv"]["notes"][0] == said
    assert not any(n.startswith("no holdout comparison") for n in summary["clv"]["notes"])
