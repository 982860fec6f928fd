"""The observation end: its default, the typo guard, implausible dates, explicit values.

Logs are written as CSV under ``tmp_path`` and read with ``valuemax.io.read_transactions``
(the user's path), or built with the ``log_factory`` fixture for the guard's boundaries.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from valuemax.clean import clean
from valuemax.exceptions import InputError
from valuemax.io import read_transactions

HEADER = "customer_id,order_id,order_date,amount,sku"
# the QA repro: A's refund of 3 is dated on the log's last day
REPRO = ["A,1,2011-01-03,10,X", "B,2,2011-01-04,5,Y", "A,3,2011-01-05,-3,X"]


def read(tmp_path, lines: list[str], name: str = "log.csv", header: str = HEADER):
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return read_transactions(path)


def fetch(expr) -> pd.DataFrame:
    return expr.to_pyarrow().to_pandas()


def reasons(res) -> dict[int, str]:
    q = fetch(res.quarantine)
    return dict(zip(q["_row_id"].astype(int), q["reason"], strict=True))


def weekly_2011(n: int = 50) -> list[str]:
    """``n`` weekly lines from Monday 2011-01-03 (the last on 2011-12-12 for n=50)."""
    days = pd.date_range("2011-01-03", periods=n, freq="7D").strftime("%Y-%m-%d")
    return [f"C{i % 7},{i + 1},{d},{10 + i},P{i % 3}" for i, d in enumerate(days)]


# --- 1. the default end is the log's last transaction date --------------------------------

def test_return_on_the_last_day_is_netted(tmp_path):
    res = clean(read(tmp_path, REPRO), returns="net")
    assert res.observation_end == dt.date(2011, 1, 5)
    assert reasons(res) == {3: "return_netted"}
    assert res.report["after_observation_end"] == 0
    tx = fetch(res.transactions)
    assert tx.groupby("customer_id")["amount"].sum().to_dict() == pytest.approx(
        {"A": 7.0, "B": 5.0})
    assert res.report.netted_revenue == pytest.approx(3.0)


def test_return_and_free_line_on_the_last_day_keep_their_reasons(tmp_path):
    res = clean(read(tmp_path, [*REPRO, "B,4,2011-01-05,0,Y"]))
    assert res.observation_end == dt.date(2011, 1, 5)
    assert reasons(res) == {3: "return"}  # row 4 (amount 0) is a free purchase: kept
    assert res.report["after_observation_end"] == 0


def test_after_observation_end_only_with_an_explicit_end(tmp_path):
    ing = read(tmp_path, REPRO)
    res = clean(ing, observation_end="2011-01-04", returns="net")
    assert reasons(res) == {3: "after_observation_end"}
    assert res.report.notes[0] == "observation_end 2011-01-04: given by the caller"
    classic = clean(ing, preset="classic")
    assert "after_observation_end" not in [r.code for r in classic.report.rules]
    assert classic.observation_end == dt.date(2011, 1, 5)


# --- 2. implausible dates and the typo guard -----------------------------------------------

def test_year_typo_beyond_2100_is_implausible(tmp_path):
    lines = weekly_2011()
    res = clean(read(tmp_path, [*lines, "E,900,2201-04-02,12,Z", "F,901,1899-12-30,5,Z"]))
    assert res.observation_end == dt.date(2011, 12, 12)
    assert reasons(res) == {51: "implausible_date", 52: "implausible_date"}
    assert res.report["implausible_date"] == 2
    rule = next(r for r in res.report.rules if r.code == "implausible_date")
    assert "before 1900-01-01 or after 2100-01-01" in rule.description
    # the bounds themselves are plausible
    edge = clean(read(tmp_path, [*lines, "G,902,1900-01-01,5,Z"], "edge.csv"))
    assert edge.report["implausible_date"] == 0


def test_far_future_typo_is_refused_with_the_fix(tmp_path):
    ing = read(tmp_path, [*weekly_2011(), "E,900,2021-04-02,12,Z"])
    msg = (r"would be 2021-04-02; but 1 line on 2021-04-02 comes after a gap of 3,399 days "
           r"from the rest of the log \(2011-01-03 \.\. 2011-12-12; 51 rows in all\).*"
           r"_row_id\): 51 \(customer 'E'\)\. Pass observation_end='2011-12-12' "
           r"\(CLI --observation-end 2011-12-12\) to quarantine them as "
           r"after_observation_end, or correct the dates")
    with pytest.raises(InputError, match=msg):
        clean(ing)
    with pytest.raises(InputError, match="observation_end was not given"):
        clean(ing, preset="none")
    # the fix the message gives
    res = clean(ing, observation_end="2011-12-12")
    assert reasons(res) == {51: "after_observation_end"}
    assert res.report.rows_clean == 50


D = "2024-{:02d}-{:02d} 10:00:00"


def dated(days: list[str]) -> list[tuple]:
    """Online-Retail-shaped rows, one per date, customer = position."""
    return [(str(i), "A", "x", "1", f"{d} 10:00:00", "2", str(i), "UK")
            for i, d in enumerate(days, 1)]


def day_seq(start: str, n: int) -> list[str]:
    return pd.date_range(start, periods=n, freq="D").strftime("%Y-%m-%d").tolist()


@pytest.mark.parametrize(
    ("gap", "refused"), [(90, False), (91, True)],
)
def test_guard_minimum_gap_is_90_days(log_factory, gap, refused):
    base = day_seq("2024-01-01", 20)  # span 19 days: 25 % of it is below 90
    last = (dt.date(2024, 1, 20) + dt.timedelta(days=gap)).isoformat()
    ing = log_factory(dated([*base, last]))
    if refused:
        with pytest.raises(InputError, match=f"a gap of {gap} days"):
            clean(ing)
    else:
        assert clean(ing).observation_end.isoformat() == last


@pytest.mark.parametrize(("gap", "refused"), [(200, False), (201, True)])
def test_guard_gap_grows_with_the_span(log_factory, gap, refused):
    base = [*day_seq("2020-01-01", 10), *day_seq("2022-03-02", 10)]  # span 800 days
    span = (dt.date(2022, 3, 11) - dt.date(2020, 1, 1)).days
    assert span == 800
    last = (dt.date(2022, 3, 11) + dt.timedelta(days=gap)).isoformat()
    ing = log_factory(dated([*base, last]))
    if refused:
        with pytest.raises(InputError, match="a gap of more than 200 days"):
            clean(ing)
    else:
        assert clean(ing).observation_end.isoformat() == last


@pytest.mark.parametrize(("n_tail", "refused"), [(5, True), (6, False)])
def test_guard_tail_of_at_most_five_lines(log_factory, n_tail, refused):
    # 30 rows: 0.1 % of them is below 5, so the tail limit is 5 lines
    rows = dated([*day_seq("2024-01-01", 30 - n_tail), *["2025-01-01"] * n_tail])
    if refused:
        with pytest.raises(InputError, match=r"5 lines on 2025-01-01 come after.*_row_id\): "
                                             r"26 \(customer '26'\), 27 .*, 30 \(customer "
                                             r"'30'\)\. Pass observation_end='2024-01-25'"):
            clean(log_factory(rows))
    else:
        assert clean(log_factory(rows)).observation_end == dt.date(2025, 1, 1)


def test_guard_reports_a_tail_over_several_dates(log_factory):
    rows = dated([*day_seq("2024-01-01", 30), "2031-05-01", "2031-05-01", "2032-01-01"])
    with pytest.raises(InputError, match=r"would be 2032-01-01; but 2 lines on 2031-05-01, "
                                         r"1 line on 2032-01-01 come after a gap of 2,648 days"
                                         r".*add 2,893 days to every customer's recency"):
        clean(log_factory(rows))


def test_guard_tail_limit_is_a_share_of_large_logs(log_factory):
    # 10,010 rows: up to 10.01 lines (0.1 %) after a long gap are refused
    base = [d for d in day_seq("2024-01-01", 100) for _ in range(100)]
    rows = dated([*base, *["2025-06-01"] * 10])
    with pytest.raises(InputError, match="10 lines on 2025-06-01 come after a gap of 418 days"):
        clean(log_factory(rows))


# --- 5. an explicit end is a whole day --------------------------------------------------

@pytest.mark.parametrize("value", [
    dt.datetime(2011, 1, 4, 18, 30), dt.datetime(2011, 1, 4, 0, 0, 0, 1),
    pd.Timestamp("2011-01-04 00:00:00.000000001"),
])
def test_observation_end_with_a_time_of_day_is_refused(tmp_path, value):
    with pytest.raises(InputError, match=r"has a time of day .*whole day, inclusive.*"
                                         r"observation_end='2011-01-04'"):
        clean(read(tmp_path, REPRO), observation_end=value)


def test_observation_end_at_midnight_is_that_day(tmp_path):
    ing = read(tmp_path, REPRO)
    for value in (dt.datetime(2011, 1, 4), pd.Timestamp("2011-01-04"), dt.date(2011, 1, 4)):
        assert clean(ing, observation_end=value).observation_end == dt.date(2011, 1, 4)


def test_guard_does_not_judge_tiny_logs(log_factory):
    # 4 rows, one genuine date a year after the rest: too few rows to call it a typo
    rows = dated(["2011-02-01", "2011-02-03", "2011-02-05", "2012-02-29"])
    res = clean(log_factory(rows))
    assert res.observation_end.isoformat() == "2012-02-29"
    assert res.report.rows_clean == 4


# --- 6. an explicit end far from the log ------------------------------------------------

def test_observation_end_in_the_future_is_refused(tmp_path):
    """No log is observed beyond the day it is analysed: a date 30 days on is refused with
    today's date and the number of days it would add; tomorrow is allowed (time zones)."""
    ing = read(tmp_path, weekly_2011())
    today = dt.date.today()
    ahead = today + dt.timedelta(days=30)
    with pytest.raises(InputError, match=(
            rf"observation_end {ahead.isoformat()} is in the future \(today is "
            rf"{today.isoformat()}\).*the 30 days after today would count as observed days "
            r"without purchases.*CLI --observation-end")):
        clean(ing, observation_end=ahead)
    tomorrow = today + dt.timedelta(days=1)
    assert clean(ing, observation_end=tomorrow).observation_end == tomorrow


def test_lines_from_the_future_are_refused_whatever_their_number(tmp_path):
    """The default end is never after today (tomorrow allowed, as for a given end): 10 of 60
    lines dated a year ahead are too many for the typo guard (at most 5) but are refused,
    counted, with the days they would add and the last date up to today as the fix; with
    that end they are quarantined as after_observation_end. (The breaker's log: every 50th
    line in 2031 moved the observation end 7 years on and went through silently.)"""
    today = dt.date.today()
    ahead, tomorrow = today + dt.timedelta(days=365), today + dt.timedelta(days=1)
    past = [f"C{i % 7},{i + 1},{(today - dt.timedelta(days=7 * (50 - i))).isoformat()},"
            f"{10 + i},P{i % 3}" for i in range(50)]
    future = [f"F{i},{100 + i},{ahead.isoformat()},5,P1" for i in range(10)]
    ing = read(tmp_path, [*past, *future])
    cut = today - dt.timedelta(days=7)
    with pytest.raises(InputError, match=(
            rf"would be {ahead.isoformat()}, after today \({today.isoformat()}\): 10 usable "
            rf"lines of 60 are dated after today \(10 lines on {ahead.isoformat()}\).*"
            r"they would add 372 days to every customer's recency and T.*"
            r"_row_id\): 51 \(customer 'F0'\), 52 \(customer 'F1'\).*"
            rf"up to today is {cut.isoformat()}: pass observation_end='{cut.isoformat()}'")):
        clean(ing)
    res = clean(ing, observation_end=cut)
    assert reasons(res) == {51 + i: "after_observation_end" for i in range(10)}
    assert res.report.rows_clean == 50
    # a last line dated tomorrow is not from the future (time zones)
    soon = read(tmp_path, [*past, f"T,200,{tomorrow.isoformat()},5,P1"], name="soon.csv")
    assert clean(soon).observation_end == tomorrow


def test_observation_end_long_after_the_last_transaction_is_noted(tmp_path):
    """The weekly log spans 2011-01-03 .. 2011-12-12 (343 days): an end 91 days after it is
    beyond max(90, 0.25 * 343) = 90 days and noted with the gap; 90 days is not."""
    ing = read(tmp_path, weekly_2011())
    last = dt.date(2011, 12, 12)
    far = clean(ing, observation_end=last + dt.timedelta(days=91))
    assert far.report.notes[0] == (
        "observation_end 2012-03-12: given by the caller; it is 91 days after the log's "
        "last transaction (2011-12-12; the log spans 343 days): every customer's T includes "
        "those days as observed days without purchases, which lowers P(alive) and CLV. If "
        "the log was exported earlier than that, pass the export date")
    near = clean(ing, observation_end=last + dt.timedelta(days=90))
    assert near.report.notes[0] == "observation_end 2012-03-11: given by the caller"
