"""Date columns of two kinds: Excel serials among date cells; lines with different UTC offsets."""

from __future__ import annotations

import datetime as dt

import pytest

from valuemax.exceptions import InputError
from valuemax.io import read_transactions


def _workbook(path, dates, *, mac1904=False):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    if mac1904:
        wb.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    ws = wb.active
    ws.append(["CustomerID", "InvoiceDate", "Amount"])
    for i, d in enumerate(dates):
        ws.append([f"c{i}", d, 5])
    wb.save(path)
    return path


# 44197 is 2021-01-01 in Excel's 1900 date system (25569 = 1970-01-01: 44197 - 25569 = 18628
# days after 1970-01-01); 44198.5 is 2021-01-02 12:00, 44200 is 2021-01-04.
CELLS = [dt.datetime(2021, 1, 1, 10, 30), 44197, dt.datetime(2021, 1, 3), 44198.5,
         dt.datetime(2021, 1, 4, 8, 15), 44200]
EXPECTED = [dt.datetime(2021, 1, 1, 10, 30), dt.datetime(2021, 1, 1), dt.datetime(2021, 1, 3),
            dt.datetime(2021, 1, 2, 12), dt.datetime(2021, 1, 4, 8, 15), dt.datetime(2021, 1, 4)]


def test_xlsx_serials_among_date_cells_are_read_not_quarantined(tmp_path, rows):
    ing = read_transactions(_workbook(tmp_path / "mixed.xlsx", CELLS))
    assert rows(ing.standardized(), "order_ts", "_parse_error") == [(t, None) for t in EXPECTED]
    note = next(n for n in ing.notes if "Excel serial day numbers (e.g." in n)
    assert "3 of 6 values of 'InvoiceDate' are Excel serial day numbers (e.g. '44197' = " \
           "2021-01-01 00:00:00" in note
    assert "from 2021-01-01 00:00:00 to 2021-01-04 00:00:00, beside the 3 date values" in note
    # recorded so that a daily update file is read alike
    assert ing.date_formats == ("%Y-%m-%d %H:%M:%S", "excel_serial")


def test_serials_of_a_1904_workbook_are_refused_not_read_4_years_early(tmp_path, rows):
    # 1904 date system (Mac Excel): serial 0 = 1904-01-01, so 43890 is 2024-03-01 there and
    # 2020-02-29 in the 1900 system: a serial must not be read with the 1900 origin
    mac = _workbook(tmp_path / "mac.xlsx", [dt.datetime(2024, 3, 1), 43890, dt.datetime(2024, 3, 2)],
                    mac1904=True)
    with pytest.raises(InputError, match=r"1904 date system.*'InvoiceDate' holds 1 serial day "
                                         r"numbers \(e\.g\. '43890'\)"):
        read_transactions(mac)
    with pytest.raises(InputError, match="1904 date system"):
        read_transactions(mac, date_format="excel_serial")
    # its date cells alone are read right (the reader converts them with the 1904 origin)
    dates = _workbook(tmp_path / "mac_dates.xlsx", [dt.datetime(2024, 3, 1), dt.datetime(2024, 3, 2)],
                      mac1904=True)
    assert rows(read_transactions(dates).standardized(), "order_ts") == [
        (dt.datetime(2024, 3, 1),), (dt.datetime(2024, 3, 2),)]


@pytest.mark.parametrize("date_format", ["excel_serial", ("%Y-%m-%d %H:%M:%S", "excel_serial")])
def test_excel_serial_given_combines_with_date_cells(tmp_path, rows, date_format):
    ing = read_transactions(_workbook(tmp_path / "mixed.xlsx", CELLS), date_format=date_format)
    assert rows(ing.standardized(), "order_ts", "_parse_error") == [(t, None) for t in EXPECTED]
    assert any("3 of 6 values" in n and "date_format includes 'excel_serial' (given)" in n
               for n in ing.notes)


def test_excel_serial_beside_formats_in_a_text_file(write, rows):
    path = write("log.csv", "customer_id,date,amount\na,2021-01-05,1\nb,44197,1\nc,x,1\n")
    ing = read_transactions(path, date_format=("%Y-%m-%d", "excel_serial"))
    assert rows(ing.standardized(), "order_ts", "_parse_error") == [
        (dt.datetime(2021, 1, 5), None), (dt.datetime(2021, 1, 1), None),
        (None, "unparseable_date")]
    # a day file of serials only, read with the recorded formats
    only = write("day.csv", "customer_id,date,amount\na,44198,1\n")
    ing = read_transactions(only, date_format=("%Y-%m-%d", "excel_serial"))
    assert rows(ing.standardized(), "order_ts") == [(dt.datetime(2021, 1, 2),)]
    with pytest.raises(InputError, match="date_format='epoch_s' reads numbers, not text"):
        read_transactions(path, date_format=("%Y-%m-%d", "epoch_s"))


def test_serial_numbers_in_a_csv_are_not_guessed(write, rows):
    # outside an .xlsx sheet a five-digit number is not taken for a serial without being told
    path = write("log.csv", "customer_id,date,amount\na,2021-01-05,1\nb,44197,1\n")
    ing = read_transactions(path)
    assert rows(ing.standardized(), "_parse_error") == [(None,), ("unparseable_date",)]


OFFSETS = ["2024-01-05T01:00:00+08:00", "2024-01-05T10:00:00+08:00",
           "2024-01-05T23:30:00-05:00", "2024-01-06T00:30:00+08:00"]


def _log(write, name, dates):
    body = "".join(f"c{i},{d},1\n" for i, d in enumerate(dates))
    return write(name, "customer_id,date,amount\n" + body)


def test_mixed_offsets_keep_each_lines_local_day_and_say_which_moved(write, rows):
    ing = read_transactions(_log(write, "log.csv", OFFSETS))
    assert rows(ing.standardized(), "order_ts") == [
        (dt.datetime(2024, 1, 5, 1),), (dt.datetime(2024, 1, 5, 10),),
        (dt.datetime(2024, 1, 5, 23, 30),), (dt.datetime(2024, 1, 6, 0, 30),)]
    # in UTC: 2024-01-04 17:00, 02:00 (same day), 2024-01-06 04:30, 2024-01-05 16:30
    assert any("2 different UTC offsets (+08:00: 3 values, -05:00: 1 values)" in n
               and "3 of 4 lines fall on another day than their UTC day and are counted on "
               "their local day (2024-01-05: 2 lines, 2024-01-06: 1 line)" in n
               for n in ing.notes)


def test_a_day_file_counts_days_as_the_store_does(write, rows):
    """The store read the mixed log; a daily file (read with the recorded formats) holding
    only some of its lines, with one offset, gives each line the same time."""
    store = read_transactions(_log(write, "log.csv", OFFSETS))
    whole = [r[0] for r in rows(store.standardized(), "order_ts")]
    for part in ([0, 3], [2]):
        day = read_transactions(_log(write, "day.csv", [OFFSETS[i] for i in part]),
                                date_format=store.date_formats)
        assert [r[0] for r in rows(day.standardized(), "order_ts")] == [whole[i] for i in part]
