"""The CSV writer: Arrow's writer where every column reads back as pandas' ``to_csv`` would
have written it, pandas' otherwise; formula escaping, BOM and CRLF either way."""

from __future__ import annotations

import codecs
import io

import numpy as np
import pandas as pd
import pytest

from valuemax._core._csv import _arrow_columns, csv_safe, csv_text, write_csv


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["C1", "=2+3", "客户3", None],
        "n": np.array([1, 2, 3, 4], dtype=np.int64),
        "x": [0.1, 5.0, np.nan, 1 / 3],
        "big": [1e20, -np.inf, np.inf, 1.2345678901234568e17],
        "tiny": [1e-5, -0.0, 2.5e-300, 123.456],
        "nullable": pd.array([1, None, 3, 4], dtype="Int64"),
        "flag": [True, False, True, False],
        "day": pd.to_datetime(["2010-12-01", "2011-01-02", None, "2011-12-09"]),
        "at": pd.to_datetime(["2010-12-01 08:26:00", "2011-01-02 00:00:00", None,
                              "2011-12-09 12:50:59"]),
        "segment": pd.Categorical(["Champions", "At risk", "Champions", None]),
    })


def _read(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), keep_default_na=True)


def test_arrow_path_reads_back_as_pandas_output(tmp_path):
    frame = _frame()
    assert _arrow_columns(csv_safe(frame)) is not None  # the fast path is taken
    write_csv(frame, tmp_path / "a.csv")
    raw = (tmp_path / "a.csv").read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)
    text = raw[len(codecs.BOM_UTF8):].decode("utf-8")
    assert text.count("\r\n") == len(frame) + 1 and "\n" not in text.replace("\r\n", "")
    expected = csv_safe(frame).to_csv(index=False, lineterminator="\r\n")
    pd.testing.assert_frame_equal(_read(text), _read(expected))
    lines = text.split("\r\n")
    assert lines[0] == ",".join(frame.columns)  # no quotes where none are needed
    assert lines[1].startswith("C1,1,0.1,1e+20,") and ",True,2010-12-01,2010-12-01 08:26:00," \
        in lines[1]
    assert lines[2].startswith("'=2+3,")  # still formula-safe
    assert lines[3].startswith("客户3,3,,inf,")  # NaN empty, inf as pandas writes it
    assert csv_text(frame) == text


def test_a_cell_needing_quotes_quotes_the_text():
    frame = pd.DataFrame({"country": ["Korea, Republic of", 'say "hi"', "line\nbreak"],
                          "v": [1.5, 2.0, 3.0]})
    text = csv_text(frame)
    assert '"Korea, Republic of"' in text and '"say ""hi"""' in text
    back = _read(text)
    assert back["country"].tolist() == frame["country"].tolist()
    assert back["v"].tolist() == [1.5, 2.0, 3.0]


@pytest.mark.parametrize("column", [
    pd.Series([1, "a", 2.5], dtype=object),                                  # mixed text
    pd.Series(pd.to_datetime(["2020-01-01 00:00:00.5", "2020-01-02 00:00:00.0", None])),  # sub-second
    pd.Series(pd.to_datetime(["2020-01-01", "2020-01-02", None])).dt.tz_localize("UTC"),
    pd.Series(pd.array([True, None, False], dtype="boolean")),
    pd.Series([[1, 2], [3], []], dtype=object),                               # lists
])
def test_other_columns_are_written_by_pandas(column):
    frame = pd.DataFrame({"id": ["a", "b", "c"], "c": column})
    assert _arrow_columns(csv_safe(frame)) is None
    assert csv_text(frame) == csv_safe(frame).to_csv(index=False, lineterminator="\r\n")


@pytest.mark.parametrize("column", [
    ["a", None, "b"], [1.5, np.nan, 2.5], [None, None, None],
    pd.to_datetime(["2020-01-01", None, "2020-01-03"]),
])
def test_a_single_column_keeps_its_missing_rows(column):
    """A missing cell alone on its line is written "" (pandas' way): a blank line would be
    skipped by readers, and the row lost."""
    frame = pd.DataFrame({"c": column})
    back = _read(csv_text(frame))
    assert len(back) == 3 and back["c"].isna().sum() == frame["c"].isna().sum()


def test_whole_number_floats_read_back_as_floats():
    """A float column of whole numbers (days in recency, T) is written as pandas writes it
    (5.0, -0.0, 1e+16, inf), so it reads back as floats, not integers."""
    x = np.array([5.0, -0.0, np.nan, np.inf, -np.inf, 1e15, 1e16, 1.2345678901234568e17,
                  123456789.0, -3.0])
    frame = pd.DataFrame({"id": list("abcdefghij"), "v": x, "only_large": np.full(10, 1e17)})
    assert _arrow_columns(csv_safe(frame)) is not None
    assert csv_text(frame) == csv_safe(frame).to_csv(index=False, lineterminator="\r\n")
    back = _read(csv_text(frame))
    assert back["v"].dtype == np.float64 and back["only_large"].dtype == np.float64
    np.testing.assert_array_equal(back["v"].to_numpy(), x)


def test_date_objects_take_the_fast_path():
    """``datetime.date`` cells (the customer table's first and last purchase) are written
    YYYY-MM-DD by Arrow, as pandas writes them."""
    import datetime as dt

    frame = pd.DataFrame({"id": ["a", "b", "c"],
                          "first_purchase": [dt.date(2010, 12, 1), None, dt.date(2011, 1, 2)]})
    assert _arrow_columns(csv_safe(frame)) is not None
    assert csv_text(frame) == csv_safe(frame).to_csv(index=False, lineterminator="\r\n")


def test_floats_round_trip_exactly():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(20_000) * 10.0 ** rng.integers(-300, 300, 20_000)
    back = _read(csv_text(pd.DataFrame({"x": x})))["x"].to_numpy()
    assert np.array_equal(back, x)
