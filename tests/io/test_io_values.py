"""Values: conflicting and numeric dates, null-like text, decimal marks, ids, mapping claims."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest

from valuemax.exceptions import InputError
from valuemax.io import read_transactions


def log(write, dates, amounts=None, customers=None, name="log.csv"):
    """A 3-column CSV (customer_id, date, amount) from lists of cell texts."""
    n = len(dates)
    amounts = amounts or ["1"] * n
    customers = customers or [f"c{i}" for i in range(n)]
    body = "".join(f'"{c}","{d}","{a}"\n' for c, d, a in zip(customers, dates, amounts,
                                                            strict=True))
    return write(name, "customer_id,date,amount\n" + body)


# ---------------------------------------------------------------- several formats (QA 7)


def test_given_formats_that_read_a_value_differently_are_refused(write):
    path = log(write, ["01/02/2011", "13/02/2011", "02/03/2011"])
    with pytest.raises(InputError, match=(
            r"date_format=\('%d/%m/%Y', '%m/%d/%Y'\) is ambiguous: 2 values parse with both "
            r"'%d/%m/%Y' and '%m/%d/%Y' to different dates \(e\.g\. '01/02/2011' is "
            r"2011-02-01 00:00 with '%d/%m/%Y' and 2011-01-02 00:00 with '%m/%d/%Y'\)")):
        read_transactions(path, date_format=("%d/%m/%Y", "%m/%d/%Y"))


def test_given_formats_that_never_disagree_are_fine(write, rows):
    path = log(write, ["2011-01-03", "13/02/2011"])
    ing = read_transactions(path, date_format=("%Y-%m-%d", "%d/%m/%Y"))
    assert rows(ing.standardized(), "order_ts") == [
        (dt.datetime(2011, 1, 3),), (dt.datetime(2011, 2, 13),)]


def test_mixed_day_first_and_month_first_suggests_no_conflicting_tuple(write):
    path = log(write, ["04/13/2011", "13/04/2011", "01/02/2011", "03/04/2011"])
    with pytest.raises(InputError) as err:
        read_transactions(path)
    msg = str(err.value)
    assert ("the column mixes day-first and month-first dates (1 values such as '13/04/2011' "
            "are only day-first, 1 such as '04/13/2011' only month-first; 2 values such as "
            "'0") in msg
    assert "so '%d/%m/%Y' and '%m/%d/%Y' are never suggested together" in msg
    assert "pass it: date_format='%d/%m/%Y' (CLI --date-format '%d/%m/%Y')" in msg
    assert "date_format=('%d/%m/%Y', '%m/%d/%Y')" not in msg


def test_mixed_formats_with_evidence_for_one_order(write):
    path = log(write, ["2011-01-03", "03/02/2011", "2011-01-05", "15/03/2011"])
    with pytest.raises(InputError, match=(
            r"'%m/%d/%Y' is left out: 1 values such as '15/03/2011' can only be day-first .* "
            r"pass them together: date_format=\('%Y-%m-%d', '%d/%m/%Y'\) \(CLI --date-format "
            r"'%Y-%m-%d' --date-format '%d/%m/%Y'\)")):
        read_transactions(path)


def test_mixed_formats_without_evidence_give_both_orders(write):
    path = log(write, ["2011-01-03 10:15", "2011-02-03 23:59", "12/01/2010 08:26"])
    with pytest.raises(InputError, match=(
            r"no value shows which order the column uses\. If all are right, pass "
            r"date_format=\('%Y-%m-%d %H:%M', '%d/%m/%Y %H:%M'\) .* if the column is "
            r"day-first, or date_format=\('%Y-%m-%d %H:%M', '%m/%d/%Y %H:%M'\) .* if it is "
            r"month-first")):
        read_transactions(path)


def test_offsets_on_some_values_only_are_refused(write):
    path = log(write, ["2011-01-03T10:00:00+08:00", "2011-01-05T01:00:00"])
    with pytest.raises(InputError, match=r"1 values carry a UTC offset and 1 do not, and the "
                       r"zone of those without is unknown"):
        read_transactions(path)


# ---------------------------------------------------------------- numeric dates (QA 8)


@pytest.mark.parametrize(("values", "token", "what"), [
    (["1294012800", "1294099200"], "epoch_s", "Unix epoch seconds"),
    (["1294012800000", "1294099200000"], "epoch_ms", "Unix epoch milliseconds"),
    (["40546", "40547"], "excel_serial", "Excel serial day numbers"),
])
def test_numeric_dates_are_recognised_and_readable(write, rows, values, token, what):
    path = log(write, values)
    with pytest.raises(InputError, match=(
            rf"none of its 2 values is a date; they are numbers that look like {what} "
            rf"\(e\.g\. '{values[0]}' would be 2011-01-03 00:00:00\)\. Pass "
            rf"date_format='{token}' \(CLI --date-format {token}\)")):
        read_transactions(path)
    ing = read_transactions(path, date_format=token)
    assert ing.date_formats == (token,)
    assert rows(ing.standardized(), "order_ts") == [
        (dt.datetime(2011, 1, 3),), (dt.datetime(2011, 1, 4),)]
    assert any(f"(date_format='{token}', given): 2 values from 2011-01-03" in n
               for n in ing.notes)


def test_excel_serial_fraction_and_bad_values(write, rows):
    ing = read_transactions(log(write, ["40546.5", "x"]), date_format="excel_serial")
    assert rows(ing.standardized(), "order_ts", "_parse_error") == [
        (dt.datetime(2011, 1, 3, 12), None), (None, "unparseable_date")]
    with pytest.raises(InputError, match=r"date_format='epoch_s' reads numbers, not text: pass "
                       r"it alone"):
        read_transactions(log(write, ["1"]), date_format=("epoch_s", "%Y"))


# ---------------------------------------------------------------- null-like text (QA 5)


def test_null_like_ids_are_missing(write, rows):
    text = ("customer_id,order_id,date,amount\n,1,2011-01-03,10\nnull,2,2011-01-03,1\n"
            "   ,3,2011-01-03,1\nNone,4,2011-01-03,1\nNA,N/A,2011-01-03,1\n"
            "nan,-,2011-01-03,1\nA,7,2011-01-03,1\n")
    ing = read_transactions(write("ids.csv", text))
    got = rows(ing.standardized(), "customer_id", "order_id", "_parse_error")
    assert [g[0] for g in got] == [None] * 6 + ["A"]
    assert [g[1] for g in got] == ["1", "2", "3", "4", None, None, "7"]
    assert [g[2] for g in got] == ["missing_customer_id"] * 6 + [None]
    assert ("customer_id (column 'customer_id'): 4 values 'NA', 'None', 'nan', 'null' read as "
            "missing (quarantined with reason 'missing_customer_id')") in ing.notes
    assert ("order_id (column 'order_id'): 2 values '-', 'N/A' read as missing (each such "
            "line is its own order)") in ing.notes


def test_null_like_amounts_are_missing_and_non_finite_unparseable(write, rows):
    path = log(write, ["2011-01-03"] * 7, ["NaN", "inf", "-", "N/A", "10", "-inf", "1e309"])
    ing = read_transactions(path)
    assert rows(ing.standardized(), "amount", "_parse_error") == [
        (None, "missing_amount"), (None, "unparseable_amount"), (None, "missing_amount"),
        (None, "missing_amount"), (10.0, None), (None, "unparseable_amount"),
        (None, "unparseable_amount")]
    assert ("amount (column 'amount'): 3 values '-', 'N/A', 'NaN' read as missing "
            "(quarantined with reason 'missing_amount')") in ing.notes
    assert any("3 of 4 values are not numbers" in n for n in ing.number_notes)
    # the notes speak of the quarantine's reasons, not of the internal column
    assert any("-> NULL, quarantined with reason 'unparseable_amount'" in n
               for n in ing.number_notes)
    assert not any("_parse_error" in n for n in ing.notes)


def test_overflowing_quantity_times_price_is_unparseable(write, rows):
    text = "customer_id,date,qty,price\na,2011-01-03,1e200,1e200\nb,2011-01-03,2,3\n"
    ing = read_transactions(write("qp.csv", text))
    assert rows(ing.standardized(), "amount", "_parse_error") == [
        (None, "unparseable_amount"), (6.0, None)]


# ---------------------------------------------------------------- decimal marks (QA 10)


def test_decimal_comma_option(write, rows):
    path = log(write, ["2011-01-03"] * 4, ["1.234,50", "12,50", "3", "€ 2.000"])
    ing = read_transactions(path, decimal=",")
    assert rows(ing.standardized(), "amount") == [(1234.5,), (12.5,), (3.0,), (2000.0,)]
    assert any("read with decimal=','" in n for n in ing.number_notes)
    assert any("thousands separator '.' from 2 values" in n for n in ing.number_notes)


def test_decimal_comma_notes_quote_the_logs_own_value(write, rows):
    # the note quoted a fixed '1.234,50' -> 1234.5 whatever the log held
    ing = read_transactions(log(write, ["2011-01-03"] * 4, ["7,25", "3", "7,25", "9,5"]),
                            decimal=",")
    assert rows(ing.standardized(), "amount") == [(7.25,), (3.0,), (7.25,), (9.5,)]
    assert any("read with decimal=',' (',' is the decimal mark, e.g. '7,25' -> 7.25)" in n
               for n in ing.number_notes)
    ing = read_transactions(log(write, ["2011-01-03"] * 2, ["3", "4"]), decimal=",")
    assert any("decimal=',' (',' is the decimal mark; no value of the column has a ',')"
               in n for n in ing.number_notes)
    # without decimal=',': the hint's example is the log's most frequent comma value
    ing = read_transactions(log(write, ["2011-01-03"] * 4, ["3,75", "9,10", "3,75", "7"]))
    assert any("3 look like decimal commas, e.g. '3,75': if ',' is the decimal mark" in n
               for n in ing.number_notes)


def test_decimal_comma_with_a_stray_point_is_unparseable(write, rows):
    ing = read_transactions(log(write, ["2011-01-03"] * 2, ["1.5", "2,5"]), decimal=",")
    assert rows(ing.standardized(), "amount") == [(None,), (2.5,)]
    assert any("1 values have a '.', which with decimal=',' may only separate thousands" in n
               for n in ing.number_notes)
    with pytest.raises(InputError, match=r"decimal= must be '\.' or ','"):
        read_transactions(log(write, ["2011-01-03"]), decimal=";")


def test_all_decimal_commas_raise_with_the_hint(write):
    path = log(write, ["2011-01-03"] * 4, ["12,50", "3,75", "5,00", "8,10"])
    with pytest.raises(InputError, match=(
            r"amount \(column 'amount'\): none of its 4 values is a number \(e\.g\. .*\) "
            r"\(4 values have a ',' .*4 look like decimal commas, e\.g\. '12,50': if ',' is "
            r"the decimal mark, pass decimal=','")):
        read_transactions(path)


def test_thousands_only_when_every_comma_is_grouped_in_threes(write, rows):
    ing = read_transactions(log(write, ["2011-01-03"] * 3, ["1,234", "12,50", "7"]))
    assert rows(ing.standardized(), "amount") == [(None,), (None,), (7.0,)]
    assert any("2 of 3 values are not numbers (e.g. '1,234', '12,50')" in n
               and "1 values have a ',' that is not a thousands separator grouped in threes; "
               "1 look like decimal commas, e.g. '12,50': if ',' is the decimal mark, pass "
               "decimal=','" in n for n in ing.number_notes)
    ing = read_transactions(log(write, ["2011-01-03"] * 2, ["1,234", "2,500.5"]))
    assert rows(ing.standardized(), "amount") == [(1234.0,), (2500.5,)]


# ---------------------------------------------------------------- ids (QA 11)


def test_float_id_notes_use_real_values(write, rows):
    table = pa.table({"customer_id": [12346.0, 17850.0], "date": ["2011-01-03"] * 2,
                      "amount": [1.0, 2.0]})
    ing = read_transactions(table)
    assert rows(ing.standardized(), "customer_id") == [("12346",), ("17850",)]
    assert any("(12346.0 -> '12346') for 2 values" in n for n in ing.notes)
    ing = read_transactions(log(write, ["2011-01-03"] * 2, customers=["13047.0", "13047.0"]))
    assert any("(e.g. '13047.0' -> '13047')" in n for n in ing.notes)


def test_ids_with_and_without_dot_zero_are_noted(write, rows):
    path = log(write, ["2011-01-03"] * 4, customers=["1", "1.0", "2", "3"])
    ing = read_transactions(path)
    assert rows(ing.standardized(), "customer_id") == [("1",), ("1.0",), ("2",), ("3",)]
    assert any("1 ids occur both with and without '.0' (e.g. '1' and '1.0'; 2 lines); they "
               "are treated as different customers" in n for n in ing.notes)


def test_ids_with_and_without_leading_zeros_are_noted(write, rows):
    """'000001' beside '1' (a spreadsheet dropped the zeros of part of the column): kept as
    two customers, as written, and said with the count of such ids and their lines; a
    zero-led id whose number never occurs ('0007'), or the id '0', is no such pair."""
    customers = ["000001", "1", "1", "0002", "2", "0007", "0", "00"]
    ing = read_transactions(log(write, ["2011-01-03"] * len(customers), customers=customers))
    assert sorted(rows(ing.standardized(), "customer_id")) == sorted(
        (c,) for c in customers)
    (note,) = [n for n in ing.notes if "leading zeros" in n]
    assert ("2 ids occur both with and without leading zeros (e.g. '1' and '000001'; "
            "5 lines); they are treated as different customers") in note
    plain = read_transactions(log(write, ["2011-01-03"] * 3, customers=["0007", "1", "0"]))
    assert not any("leading zeros" in n for n in plain.notes)


# ---------------------------------------------------------------- mapping (QA 9)


def test_mapping_that_claims_the_amount_column_says_so(write):
    text = "customer_id,order_date,amount\na,2011-01-03,1\n"
    with pytest.raises(InputError, match=(
            r"cannot find the column\(s\) for amount .* 'amount' is now mapped to customer_id "
            r"\(mapping=\{'customer_id': 'amount'\}\), so it cannot also be amount; map amount "
            r"to another column with mapping= \(CLI --map amount=<column>\)\. Unmapped "
            r"columns: 'customer_id'; already mapped: 'order_date' \(mapped to order_ts\), "
            r"'amount' \(mapped to customer_id\)")):
        read_transactions(write("m.csv", text), mapping={"customer_id": "amount"})


def test_pandas_frame_reads_like_the_csv(rows):
    frame = pd.DataFrame({"customer_id": ["NA", "b"], "date": ["2011-01-03"] * 2,
                          "amount": ["N/A", "2"]})
    ing = read_transactions(frame)
    assert rows(ing.standardized(), "customer_id", "amount", "_parse_error") == [
        (None, None, "missing_customer_id"), ("b", 2.0, None)]


# ---------------------------------------------------------------- a log without prices


@pytest.mark.parametrize("header, body", [
    ("customer_id,order_date", "a,2011-01-03\nb,2011-01-04\n"),
    ("customer_id,order_date,quantity", "a,2011-01-03,2\nb,2011-01-04,x\n"),
])
def test_log_without_prices_is_read_with_no_amount(write, rows, header, body):
    ing = read_transactions(write("np.csv", f"{header}\n{body}"))
    assert ing.plan.amount_from == "none" and ing.to_dict()["amount_from"] == "none"
    # NULL by design, not a missing value: no line gets a parse error
    assert rows(ing.standardized(), "customer_id", "amount", "_parse_error") == [
        ("a", None, None), ("b", None, None)]
    assert any(n.startswith("no prices: spend, monetary value, CLV in money are not "
                            "computed") and "--map amount=<column>" in n for n in ing.notes)
