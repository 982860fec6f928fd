"""Dates, numbers and ids: what is inferred, what is refused, and the notes with counts."""

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


# ---------------------------------------------------------------- dates


def test_day_month_ambiguity_is_refused(write, rows):
    path = log(write, ["01/02/2024", "03/04/2024", "05/06/2024 10:30"])
    with pytest.raises(InputError, match=r"day/month order is ambiguous.*'%d/%m/%Y'.*'%m/%d/%Y'"
                       r".*date_format=.*--date-format"):
        read_transactions(path)
    ing = read_transactions(path, date_format=("%d/%m/%Y", "%d/%m/%Y %H:%M"))
    assert rows(ing.standardized(), "order_ts") == [
        (dt.datetime(2024, 2, 1),), (dt.datetime(2024, 4, 3),), (dt.datetime(2024, 6, 5, 10, 30),)]
    assert ing.date_formats == ("%d/%m/%Y", "%d/%m/%Y %H:%M")


def test_day_first_when_a_day_is_above_12(write, rows):
    ing = read_transactions(log(write, ["01/02/2024", "13/02/2024", "28/12/2023"]))
    assert ing.date_formats == ("%d/%m/%Y",)
    assert rows(ing.standardized(), "order_ts")[0] == (dt.datetime(2024, 2, 1),)
    assert any("day-first: 2 values such as" in n for n in ing.notes)


def test_two_date_formats_in_one_column(write, rows):
    path = log(write, ["2024-01-05", "2024-01-06", "2024-01-07", "13/01/2024"])
    with pytest.raises(InputError, match=r"more than one format: '%Y-%m-%d' \(3 values.*"
                       r"'%d/%m/%Y' \(1 values, e\.g\. '13/01/2024'\).*pass them together: "
                       r"date_format=\('%Y-%m-%d', '%d/%m/%Y'\) \(CLI --date-format '%Y-%m-%d' "
                       r"--date-format '%d/%m/%Y'\)"):
        read_transactions(path)
    ing = read_transactions(path, date_format=("%Y-%m-%d", "%d/%m/%Y"))
    assert rows(ing.standardized(), "order_ts")[3] == (dt.datetime(2024, 1, 13),)


def test_date_and_datetime_of_one_family_are_both_used(write, rows):
    ing = read_transactions(log(write, ["2024-01-05 10:00:00", "2024-01-06", "2024-01-07 08:00:00"]))
    assert ing.date_formats == ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d")
    assert rows(ing.standardized(), "order_ts")[1] == (dt.datetime(2024, 1, 6),)


def test_garbage_dates_become_null_and_rows_stay(write, rows):
    path = log(write, ["2024-01-05", "not a date", "2024-01-07", "", "2024-99-99"])
    ing = read_transactions(path)
    std = ing.standardized()
    assert ing.n_rows == 5
    assert rows(std, "_row_id", "order_ts", "_parse_error") == [
        (1, dt.datetime(2024, 1, 5), None),
        (2, None, "unparseable_date"),
        (3, dt.datetime(2024, 1, 7), None),
        (4, None, "missing_date"),
        (5, None, "unparseable_date"),
    ]
    assert any("2 of 4 values match no date format" in n for n in ing.notes)


def test_no_value_is_a_date(write):
    with pytest.raises(InputError, match="none of its 2 values is a date"):
        read_transactions(log(write, ["soon", "later"]))


def test_several_utc_offsets_keep_each_lines_wall_clock(write, rows):
    # the rule is per line (each value's own local time), as with one shared offset
    ing = read_transactions(log(write, ["2024-01-05T10:00:00+08:00", "2024-01-05T03:00:00Z"]))
    assert rows(ing.standardized(), "order_ts") == [
        (dt.datetime(2024, 1, 5, 10),), (dt.datetime(2024, 1, 5, 3),)]
    assert any("carry 2 different UTC offsets (+08:00: 1 values, +00:00: 1 values); each line "
               "kept as its own local wall-clock time" in n and "no line's local day differs"
               in n for n in ing.notes)


def test_chinese_and_compact_dates(write, rows):
    ing = read_transactions(log(write, ["2024年1月5日 10:30:00", "2024年12月31日 00:00:00"]))
    assert rows(ing.standardized(), "order_ts") == [
        (dt.datetime(2024, 1, 5, 10, 30),), (dt.datetime(2024, 12, 31),)]
    ing = read_transactions(log(write, ["20240105", "20231231"], name="compact.csv"))
    assert ing.date_formats == ("%Y%m%d",)


def test_bad_date_format_argument(write):
    path = log(write, ["2024-01-05", "2024-01-06"])
    with pytest.raises(InputError, match="parses none of its 2 values"):
        read_transactions(path, date_format="%d/%m/%Y")
    with pytest.raises(InputError, match="must be a strptime format"):
        read_transactions(path, date_format="dd/mm/yyyy")


# ---------------------------------------------------------------- numbers


def test_currency_signs_and_thousands_separators(write, rows):
    amounts = ["£1,234.50", "£3.00", "12", "abc", "", "-£5", "2,000,000"]
    ing = read_transactions(log(write, ["2024-01-05"] * 7, amounts))
    assert rows(ing.standardized(), "amount", "_parse_error") == [
        (1234.5, None), (3.0, None), (12.0, None), (None, "unparseable_amount"),
        (None, "missing_amount"), (-5.0, None), (2_000_000.0, None)]
    assert ing.number_notes[0] == ("amount (column 'amount'): removed currency sign '£' from 3 "
                                   "values; thousands separator ',' from 2 values")
    assert "1 of 6 values are not numbers (e.g. 'abc')" in ing.number_notes[1]
    assert set(ing.number_notes) <= set(ing.notes)
    assert rows(ing.raw, "amount")[0] == ("£1,234.50",)  # raw keeps the text


def test_accounting_negatives_in_parentheses(write, rows):
    # a finance export writes a refund of 12.50 as (12.50): read as -12.5 and counted;
    # a sign or a second parenthesis inside is not that notation and stays unparseable
    amounts = ["(12.50)", "( £1,234.50 )", "£3.00", "(-4)", "((5))", "7"]
    ing = read_transactions(log(write, ["2024-01-05"] * 6, amounts))
    assert rows(ing.standardized(), "amount", "_parse_error") == [
        (-12.5, None), (-1234.5, None), (3.0, None), (None, "unparseable_amount"),
        (None, "unparseable_amount"), (7.0, None)]
    assert ing.number_notes[0] == (
        "amount (column 'amount'): removed currency sign '£' from 2 values; thousands "
        "separator ',' from 1 values; the parentheses of 2 values in accounting notation, "
        "read as negatives (e.g. '( £1,234.50 )' -> -1234.5)")
    assert "2 of 6 values are not numbers (e.g. '((5))', '(-4)')" in ing.number_notes[1]
    plain = read_transactions(log(write, ["2024-01-05"] * 2, ["12.50", "-3"]))
    assert not any("accounting" in n for n in plain.notes)


def test_trailing_currency_of_one_currency(write, rows):
    ing = read_transactions(log(write, ["2024-01-05"] * 3, ["100元", "¥20.5", "RMB 3"]))
    assert rows(ing.standardized(), "amount") == [(100.0,), (20.5,), (3.0,)]
    assert "'元' from 1 values" in ing.number_notes[0]


def test_mixed_currencies_are_refused(write):
    path = log(write, ["2024-01-05"] * 3, ["£1.00", "$2.00", "£3.00"])
    with pytest.raises(InputError, match=r"mixes currencies: '£' in 2 values .*'\$' in 1 values"):
        read_transactions(path)


def test_mixed_currencies_quote_the_raw_text(write):
    """Breaker: with accounting negatives the error quoted the rewritten value
    ('-£1,234.50' for '( £1,234.50 )'), a text the file does not hold."""
    path = log(write, ["2024-01-05"] * 3, ["( £1,234.50 )", "$2.00", "( £3.00 )"])
    with pytest.raises(InputError, match="mixes currencies") as info:
        read_transactions(path)
    assert "(e.g. '( £1,234.50 )')" in str(info.value)
    assert "-£" not in str(info.value)


def test_not_plain_numbers_are_unparseable(write, rows):
    ing = read_transactions(log(write, ["2024-01-05"] * 5,
                                ["1_000", "nan", "inf", "12,50", "7"]))
    assert [r[0] for r in rows(ing.standardized(), "_parse_error")] == [
        "unparseable_amount", "missing_amount", "unparseable_amount", "unparseable_amount", None]
    assert "decimal commas" in ing.number_notes[-1]


def test_amount_column_wins_over_quantity_times_price(write, rows):
    text = "customer_id,date,quantity,price,revenue\nc1,2024-01-05,2,3,5.5\n"
    ing = read_transactions(write("both.csv", text))
    assert ing.plan.amount_from == "amount"
    assert rows(ing.standardized(), "amount", "quantity", "unit_price") == [(5.5, 2.0, 3.0)]
    assert any("quantity * unit_price not used" in n for n in ing.notes)


def test_unparseable_quantity_makes_amount_unparseable(write, rows):
    text = ("customer_id,date,qty,price\nc1,2024-01-05,two,3\nc2,2024-01-05,,3\n"
            "c3,2024-01-05,2,3\n")
    ing = read_transactions(write("qp.csv", text))
    assert rows(ing.standardized(), "amount", "_parse_error") == [
        (None, "unparseable_amount"), (None, "missing_amount"), (6.0, None)]


def test_numeric_nan_is_missing(rows):
    frame = pa.table({"customer_id": ["a", "b", "c"], "date": ["2024-01-05"] * 3,
                      "amount": pa.array([1.0, float("nan"), float("inf")])})
    ing = read_transactions(frame)
    assert rows(ing.standardized(), "amount", "_parse_error") == [
        (1.0, None), (None, "missing_amount"), (None, "unparseable_amount")]


# ---------------------------------------------------------------- ids


def test_float_like_ids_lose_dot_zero_and_zero_padding_is_kept(write, rows):
    ing = read_transactions(log(write, ["2024-01-05"] * 3, customers=["17850.0", "00012.0", ""]))
    assert rows(ing.standardized(), "customer_id") == [("17850",), ("00012",), (None,)]
    assert rows(ing.raw, "customer_id")[0] == ("17850.0",)
    assert any("removed the '.0' from 2 values" in n for n in ing.notes)


def test_ids_are_not_stripped_unless_all_are_float_like(write, rows):
    ing = read_transactions(log(write, ["2024-01-05"] * 2, customers=["17850.0", "A1"]))
    assert rows(ing.standardized(), "customer_id") == [("17850.0",), ("A1",)]


def test_float_id_column_from_pandas(rows):
    frame = pd.DataFrame({"CustomerID": [17850.0, None], "date": ["2024-01-05"] * 2,
                          "amount": [1.0, 2.0]})
    ing = read_transactions(frame)
    assert rows(ing.standardized(), "customer_id", "_parse_error") == [
        ("17850", None), (None, "missing_customer_id")]


# ---------------------------------------------------------------- mapping


def test_mapping_override_and_duplicate_candidates(write, rows):
    text = ("Kunde,InvoiceDate,Date,Betrag,amount\n"
            "k1,2024-01-05 10:00:00,2023-01-01,7.5,1\n")
    ing = read_transactions(write("de.csv", text),
                            mapping={"customer_id": "Kunde", "amount": "Betrag"})
    assert ing.mapping == {"customer_id": "Kunde", "order_ts": "InvoiceDate", "amount": "Betrag"}
    assert any("several columns match ('InvoiceDate', 'Date')" in n for n in ing.notes)
    # an extra column named like a canonical column is renamed, never dropped
    assert ing.extra_columns == ("Date", "amount_source")
    assert rows(ing.standardized(), "amount", "amount_source", "Date") == [(7.5, "1",
                                                                          "2023-01-01")]


def test_mapping_none_unmaps(write, rows):
    text = "customer_id,date,amount,quantity,unit_price\nc1,2024-01-05,100,2,3\n"
    ing = read_transactions(write("m.csv", text), mapping={"amount": None})
    assert "amount" not in ing.mapping
    assert rows(ing.standardized(), "amount") == [(6.0,)]


def test_the_accounting_note_quotes_a_value_of_the_log(write):
    # the example is the log's own most frequent value in parentheses and its parsed number
    amounts = ["(7.25)", "(7.25)", "( 1,000.50 )", "3.00"]
    ing = read_transactions(log(write, ["2024-01-05"] * 4, amounts))
    note = next(n for n in ing.number_notes if "accounting" in n)
    assert note.endswith("read as negatives (e.g. '(7.25)' -> -7.25)"), note
    assert "12.50" not in note


def test_unicode_minus_signs_are_read_as_minus(write, rows):
    # U+2212 MINUS SIGN (and en dash, fullwidth hyphen-minus) before a number is a minus;
    # anywhere else the value stays unparseable, as with '-'; counted in the notes
    amounts = ["\u22125.00", "\u2013£3.50", "\uff0d2", "4.00", "5\u22123", "(\u22124)"]
    ing = read_transactions(log(write, ["2024-01-05"] * 6, amounts))
    assert rows(ing.standardized(), "amount", "_parse_error") == [
        (-5.0, None), (-3.5, None), (-2.0, None), (4.0, None),
        (None, "unparseable_amount"), (None, "unparseable_amount")]
    note = next(n for n in ing.number_notes if "minus sign" in n)
    assert "the dash of 5 values written with a minus sign other than '-'" in note
    assert "(e.g. '\u2013£3.50' -> -3.5)" in note  # each once: first in text order
    # the engines' parse has no such rule: such a log is normalised locally (same values)
    from valuemax.io._engine_parse import engine_number_reason

    plan = ing.plan.numbers["amount"]
    assert plan.minus
    assert "minus signs other than '-'" in engine_number_reason(ing.raw, "amount", "amount",
                                                                plan)


def test_a_currency_column_with_several_currencies_is_refused(write):
    # amounts in USD, EUR, JPY and GBP would be summed as one money: refused with the
    # lines per currency (compared trimmed, in upper case) and the fix
    frame = pd.DataFrame({
        "customer_id": ["a", "b", "c", "d", "e", "f"],
        "date": ["2024-01-05"] * 6, "amount": ["10", "20", "3000", "5", "7", "1"],
        "Currency": ["USD", "EUR", "JPY", "GBP", " usd", "USD"]})
    path = write("cur.csv", frame.to_csv(index=False))
    with pytest.raises(InputError) as info:
        read_transactions(path)
    message = str(info.value)
    assert ("column 'Currency' mixes currencies: 'USD' in 3 lines, 'EUR' in 1 lines, "
            "'GBP' in 1 lines, 'JPY' in 1 lines") in message
    assert "convert the amounts to one currency" in message and "WHERE Currency = 'USD'" \
        in message
    # one currency (and blanks): read as before, the column kept as an extra column
    frame["Currency"] = ["USD", "usd", "", "USD", "USD", None]
    ing = read_transactions(write("one.csv", frame.to_csv(index=False)))
    assert "Currency" in ing.extra_columns
