"""Stored lines re-cleaned by an update are read as the store read them (currency signs,
thousands separators), a day file in another currency is refused, and a stored line whose
parse outcome would change is refused (``valuemax.pipeline._update_numbers``)."""

from __future__ import annotations

import pytest

import valuemax
from valuemax._core.exceptions import InputError
from valuemax.pipeline import update

from ._stores import snapshot, table

OPTIONS = {"clv": False, "propensity": False, "clusters": "none"}
HEADER = "order_id,customer_id,order_date,product_id,quantity,unit_price\n"
#: Prices written with '$' (c1: 10 + 2 x 5.50 = 21; c2: 20; c3: 7 + 3 x 1.25 = 10.75).
USD = """\
1,c1,2024-01-05,P1,1,$10.00
2,c1,2024-01-10,P2,2,$5.50
3,c2,2024-01-06,P1,1,$20.00
4,c3,2024-01-08,P3,1,$7.00
5,c3,2024-01-20,P1,3,$1.25
"""
#: The same log with thousands separators for c1 (1,000.50 + 2 x 5.50 = 1,011.50).
THOUSANDS = USD.replace("$10.00", '"1,000.50"').replace("$", "")


def _store(tmp_path, body, name="s"):
    log = tmp_path / f"{name}.csv"
    log.write_text(HEADER + body, encoding="utf-8")
    store = tmp_path / f"{name}.duckdb"
    valuemax.analyze(log, db=store, **OPTIONS)
    return store


def _day(tmp_path, name, lines):
    path = tmp_path / name
    path.write_text(HEADER + lines, encoding="utf-8")
    return path


def _spend(store):
    c = table(store, "customers", "customer_id")
    return dict(zip(c["customer_id"], zip(c["n_orders"], c["total_spend"], strict=True),
                    strict=True))


@pytest.mark.parametrize("body, c1_before", [(USD, 21.0), (THOUSANDS, 1011.5)])
def test_plain_day_file_keeps_the_stored_reading(tmp_path, body, c1_before):
    store = _store(tmp_path, body)
    assert _spend(store)["c1"] == (2, pytest.approx(c1_before))
    result = update(store, _day(tmp_path, "d1.csv", "6,c1,2024-02-01,P1,1,10.00\n"))
    assert result.restated_lines == 0 and result.rows_clean == 1
    assert _spend(store)["c1"] == (3, pytest.approx(c1_before + 10.0))
    assert len(table(store, "quarantine", "_row_id")) == 0
    assert len(table(store, "transactions_clean", "_row_id")) == 6
    # the store's '$' is carried past an update whose file has none
    update(store, _day(tmp_path, "d2.csv", "7,c1,2024-02-03,P1,2,1.00\n"))
    assert _spend(store)["c1"] == (4, pytest.approx(c1_before + 12.0))
    # as analyze of the whole log
    whole = _store(tmp_path, body + "6,c1,2024-02-01,P1,1,10.00\n7,c1,2024-02-03,P1,2,1.00\n",
                   "whole")
    assert _spend(store) == _spend(whole)


def test_other_currency_refused_store_unchanged(tmp_path):
    store = _store(tmp_path, USD)
    before = snapshot(store)
    with pytest.raises(InputError, match=r"'€' \(EUR\), the store's log with '\$' \(USD\)"):
        update(store, _day(tmp_path, "eur.csv", "6,c1,2024-02-01,P1,1,€10.00\n"))
    after = snapshot(store)
    assert before.keys() == after.keys()
    for name in before:
        assert before[name].equals(after[name]), name


def test_stored_line_read_differently_is_refused(tmp_path):
    # '12,50' is not grouped in threes: the whole log keeps ',' (no thousands separator),
    # so c2's '1,234.00' is unparseable_amount in the store. A day file of c2 alone whose
    # commas are all grouped would read it as 1234: refused, not restated silently.
    body = "1,c1,2024-01-05,P1,1,\"12,50\"\n2,c2,2024-01-06,P1,1,\"1,234.00\"\n" \
           "3,c2,2024-01-07,P2,1,3.00\n4,c3,2024-01-08,P1,1,4.00\n"
    store = _store(tmp_path, body)
    q = table(store, "quarantine", "_row_id")
    assert q["reason"].tolist() == ["unparseable_amount", "unparseable_amount"]
    before = snapshot(store)
    with pytest.raises(InputError, match=r"1 stored line .*line 2 \(unparseable_amount -> "
                                         r"read\)"):
        update(store, _day(tmp_path, "d.csv", "5,c2,2024-02-01,P1,1,\"1,000.00\"\n"))
    assert snapshot(store)["customers"].equals(before["customers"])


def test_stored_placeholder_date_stays_quarantined(tmp_path):
    # 1900-01-01 (a spreadsheet's day 1) among January 2024 lines is a placeholder for a
    # missing date: quarantined by analyze. A day file of that customer (no placeholder in
    # it) keeps it there instead of taking it in as a purchase of 1900.
    body = "".join(f"{i},c{i % 40},2024-01-{1 + i % 28:02d},P{i % 5},1,{5 + i % 7}.00\n"
                   for i in range(1, 121)) + "900,c1,1900-01-01,P1,1,9.00\n"
    store = _store(tmp_path, body)
    assert table(store, "quarantine", "_row_id")["reason"].tolist() == ["placeholder_date"]
    result = update(store, _day(tmp_path, "d.csv", "901,c1,2024-02-01,P1,1,10.00\n"))
    assert result.restated_lines == 0
    q = table(store, "quarantine", "_row_id")
    assert q["_row_id"].tolist() == [121] and q["reason"].tolist() == ["placeholder_date"]
    assert _spend(store)["c1"][0] == 4  # 3 January orders and the new one


def test_float_like_customer_ids_link_to_the_stored_customers(tmp_path):
    # every stored id is float-like ('1001.0'): analyze names the customer '1001'. A day
    # file writing '1001' must add to that customer, not replace its lines with its own.
    body = "1,1001.0,2024-01-05,P1,1,10.00\n2,1001.0,2024-01-10,P2,2,5.50\n" \
           "3,1002.0,2024-01-06,P1,1,20.00\n4,1003.0,2024-01-20,P3,1,7.00\n"
    store = _store(tmp_path, body)
    assert _spend(store)["1001"] == (2, pytest.approx(21.0))
    update(store, _day(tmp_path, "d1.csv", "5,1001,2024-02-01,P1,1,10.00\n"))
    assert _spend(store)["1001"] == (3, pytest.approx(31.0))
    # and again with the store's own spelling, after an update whose file had none
    update(store, _day(tmp_path, "d2.csv", "6,1001.0,2024-02-03,P1,1,4.00\n"))
    assert _spend(store) == {"1001": (4, pytest.approx(35.0)), "1002": (1, 20.0),
                             "1003": (1, 7.0)}
