"""Typed hand-offs: the features, propensity and basket stages take clean's CleanResult.

Given a CleanResult, a stage takes its observation end and trusts its rows (no NULL
customer/date/amount, no line after the observation end, no implausible amount), so the
clean log is not scanned again by ``check_rows``; a plain table is still checked once at
the public boundary. The spy on ``check_rows`` below counts calls and runs the real check:
it stands in for no component.
"""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pytest

import valuemax
import valuemax.features._validation as features_validation
from valuemax._core.exceptions import InputError
from valuemax.basket import build_baskets
from valuemax.clean import CleanResult, clean
from valuemax.engines import connect
from valuemax.features import calibration_holdout, customer_table, repeat_purchase_days
from valuemax.io import read_transactions
from valuemax.propensity import build_training_frame, fit_propensity

CDNOW_COLUMNS = ["customer_id", "customer_index", "date", "number_of_cds", "dollar_value"]
#: Modules that call ``check_rows``: every stage checks its lines with
#: ``features._validation.check_log``, which calls it there.
_SCANNERS = (features_validation,)


@pytest.fixture(scope="module")
def cdnow_raw(datasets):
    """The CDNOW 1/10 sample as published (pandas, independent of valuemax's reader)."""
    return pd.read_csv(datasets("cdnow/CDNOW_sample.txt"), sep=r"\s+", header=None,
                       names=CDNOW_COLUMNS, dtype={"customer_id": str, "date": str})


@pytest.fixture(scope="module")
def cleaned(datasets):
    """The CDNOW sample read and cleaned by valuemax (standard preset)."""
    con = connect(None)
    ingested = read_transactions(datasets("cdnow/CDNOW_sample.txt"), con=con,
                                 columns=CDNOW_COLUMNS)
    yield clean(ingested)
    con.disconnect()


@pytest.fixture
def row_scans(monkeypatch):
    """A list that gets one entry per ``check_rows`` call (the real check still runs)."""
    calls: list[dt.date] = []
    real = features_validation.check_rows

    def spy(table, observation_end, **kw):
        calls.append(observation_end)
        return real(table, observation_end, **kw)

    for module in _SCANNERS:
        monkeypatch.setattr(module, "check_rows", spy)
    return calls


def _frame(expr) -> pd.DataFrame:
    return expr.to_pyarrow().to_pandas()


def test_clean_result_carries_the_published_log(cleaned, cdnow_raw):
    # the sample's published shape: 6,919 lines, 2,357 customers, 1997-01-01 .. 1998-06-30
    assert isinstance(cleaned, CleanResult)
    assert cleaned.observation_end == dt.date(1998, 6, 30)
    assert cleaned.money is True
    kept = cdnow_raw[cdnow_raw["dollar_value"] >= 0]  # negative amounts are quarantined
    assert cleaned.report.rows_clean == len(kept)


def test_customer_table_same_from_clean_result_without_a_scan(cleaned, cdnow_raw, row_scans):
    typed = _frame(customer_table(cleaned, time_unit="W"))
    assert row_scans == []
    plain = _frame(customer_table(cleaned.transactions, observation_end=cleaned.observation_end,
                                  time_unit="W"))
    assert row_scans == [cleaned.observation_end]  # the plain table is checked once
    pd.testing.assert_frame_equal(typed, plain)
    # independently of valuemax: customers and purchase days counted with pandas
    assert len(typed) == cdnow_raw["customer_id"].nunique() == 2_357
    days = cdnow_raw.groupby("customer_id")["date"].nunique()
    np.testing.assert_array_equal(typed.set_index("customer_id")["frequency"]
                                  .reindex(days.index), days - 1)


def test_later_explicit_end_is_trusted_earlier_one_refused(cleaned, cdnow_raw, row_scans):
    later = dt.date(1998, 7, 31)
    typed = _frame(customer_table(cleaned, observation_end=later, time_unit="D"))
    assert row_scans == []  # every clean line is on or before the clean end, so before later
    plain = _frame(customer_table(cleaned.transactions, observation_end=later, time_unit="D"))
    pd.testing.assert_frame_equal(typed, plain)
    assert (typed["T"] - typed["recency"]).min() >= 31  # a month after the last line

    n_last = int((cdnow_raw["date"] == "19980630").sum())
    assert n_last > 0
    message = (rf"{n_last} of [\d,]+ transaction lines fall after "
               r"observation_end=1998-06-29 \(last purchase day 1998-06-30")
    for call in (
        lambda: customer_table(cleaned, observation_end="1998-06-29"),
        lambda: calibration_holdout(cleaned, calibration_end="1997-09-30",
                                    observation_end="1998-06-29"),
        lambda: repeat_purchase_days(cleaned, cohort_end="1997-03-31",
                                     observation_end="1998-06-29"),
        lambda: fit_propensity(cleaned, observation_end="1998-06-29"),
    ):
        with pytest.raises(InputError, match=message):
            call()


def test_calibration_holdout_same_from_clean_result(cleaned, row_scans):
    typed = _frame(calibration_holdout(cleaned, calibration_end="1997-09-30", time_unit="W"))
    daily = _frame(repeat_purchase_days(cleaned, cohort_end="1997-09-30"))
    assert row_scans == []
    plain = _frame(calibration_holdout(cleaned.transactions, calibration_end="1997-09-30",
                                       observation_end=cleaned.observation_end, time_unit="W"))
    pd.testing.assert_frame_equal(typed, plain)
    # Fader, Hardie & Lee (2005): 946 of the 2,357 customers repeat-buy in the 39 weeks
    assert int((typed["frequency"] > 0).sum()) == 946
    # (1998-06-30 - 1997-09-30) = 273 days = 39 weeks of holdout
    assert typed["duration_holdout"].unique().tolist() == [39.0]

    pd.testing.assert_frame_equal(daily, _frame(repeat_purchase_days(
        cleaned.transactions, cohort_end="1997-09-30", observation_end="1998-06-30")))
    assert len(row_scans) == 2  # the two plain tables, once each
    # the cohort's repeat purchase days: the calibration frequencies, then the holdout days
    in_cal = daily["day"] <= dt.date(1997, 9, 30)
    assert int(daily.loc[in_cal, "n_repeat"].sum()) == int(typed["frequency"].sum())
    assert int(daily.loc[~in_cal, "n_repeat"].sum()) == int(typed["frequency_holdout"].sum())


def test_fit_propensity_same_from_clean_result_one_scan_for_a_table(cleaned, row_scans):
    kw = {"horizon_days": 90, "random_state": 0, "btyd_baseline": False}
    typed = fit_propensity(cleaned, **kw)
    # no scan at all: neither at the boundary nor per cutoff (3 origins, holdout, scoring)
    assert row_scans == []
    plain = fit_propensity(cleaned.transactions, observation_end=cleaned.observation_end, **kw)
    assert row_scans == [cleaned.observation_end]  # once at the boundary, not per cutoff
    pd.testing.assert_frame_equal(typed.scores, plain.scores)
    pd.testing.assert_frame_equal(typed.metrics, plain.metrics)
    assert typed.cutoff == plain.cutoff == dt.date(1998, 4, 1)  # 1998-06-30 - 90 days
    assert len(typed.scores) == 2_357


def test_a_plain_table_with_a_null_amount_is_still_refused(cleaned, row_scans):
    t = cleaned.transactions
    first = int(t.aggregate(m=t._row_id.min()).to_pyarrow().to_pylist()[0]["m"])
    broken = t.mutate(amount=ibis.ifelse(t._row_id == first, ibis.null("float64"), t.amount))
    message = r"1 with NULL amount \(of [\d,]+ transaction lines\).*valuemax\.clean\.clean"
    end = cleaned.observation_end
    for call in (
        lambda: customer_table(broken, observation_end=end),
        lambda: calibration_holdout(broken, calibration_end="1997-09-30", observation_end=end),
        lambda: fit_propensity(broken, horizon_days=90),
        lambda: build_training_frame(broken, cutoffs=["1998-01-01"], horizon_days=90),
    ):
        with pytest.raises(InputError, match=message):
            call()
    assert len(row_scans) == 4
    with pytest.raises(InputError, match="observation_end is required with a plain table"):
        customer_table(t)


def _small_log(amount: bool) -> pd.DataFrame:
    log = pd.DataFrame({
        "customer_id": ["a", "a", "a", "b", "b", "c"],
        "order_id": ["1", "1", "2", "3", "3", "4"],
        "order_ts": ["2024-01-02", "2024-01-02", "2024-01-09", "2024-01-03", "2024-01-03",
                     "2024-01-20"],
        "product_id": ["x", "y", "x", "y", "z", "x"],
        "amount": [3.0, 4.0, 3.0, 4.0, 5.0, 3.0],
    })
    return log if amount else log.drop(columns="amount")


def test_build_baskets_same_from_clean_result():
    con = connect(None)
    try:
        res = clean(read_transactions(_small_log(amount=True), con=con))
        typed, plain = build_baskets(res), build_baskets(res.transactions)
    finally:
        con.disconnect()
    # orders 1 {x, y}, 2 {x}, 3 {y, z}, 4 {x}: counted by hand
    assert typed.items == plain.items == ["x", "y", "z"]
    assert (typed.n_baskets, typed.kind) == (4, "order")
    np.testing.assert_array_equal(typed.matrix.toarray(), plain.matrix.toarray())
    np.testing.assert_array_equal(typed.matrix.toarray().sum(axis=0), [3, 2, 1])
    np.testing.assert_array_equal(typed.basket_ids, plain.basket_ids)
    np.testing.assert_array_equal(typed.customer_ids, plain.customer_ids)
    np.testing.assert_array_equal(typed.basket_dates, plain.basket_dates)


def test_clean_result_of_a_log_without_prices_needs_money_false(row_scans):
    con = connect(None)
    try:
        res = clean(read_transactions(_small_log(amount=False), con=con))
        assert res.money is False
        with pytest.raises(InputError, match=r"log without prices.*pass money=False"):
            customer_table(res)
        typed = _frame(customer_table(res, money=False))
        assert row_scans == []
        plain = _frame(customer_table(res.transactions, observation_end=res.observation_end,
                                      money=False))
    finally:
        con.disconnect()
    pd.testing.assert_frame_equal(typed, plain)
    assert "total_spend" not in typed.columns
    assert typed["frequency"].tolist() == [1, 0, 0]  # a: Jan 2 and Jan 9; b, c: one day


def test_analyze_scans_the_clean_log_no_more(datasets, row_scans):
    # the main job hands clean's result to every stage: not one row scan on its way
    result = valuemax.analyze(str(datasets("cdnow/CDNOW_sample.txt")), columns=CDNOW_COLUMNS,
                              calibration_end="1997-09-30", time_unit="W", clusters="none")
    assert row_scans == []
    assert "propensity" not in result.skipped and "value" not in result.skipped
    assert len(result.customers) == 2_357
