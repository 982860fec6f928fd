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


def test_only_the_cells_needing_quotes_are_quoted_byte_for_byte_as_pandas(tmp_path):
    """Quotes per cell, as pandas' ``to_csv`` (csv.QUOTE_MINIMAL) writes them: a comma,
    quote, CR or LF in a cell or a column name quotes that cell only; the other text cells
    of the file stay bare (Arrow's own "needed" style would quote every text cell)."""
    frame = pd.DataFrame({
        "customer_id": ["C1", "=2+3", "C3", None, "C5"],
        "country": ["Korea, Republic of", "United Kingdom", 'say "hi"', "", "a\r\nb"],
        "name, full": ["plain", "x\ny", None, "=HYPERLINK(\"x\")", "z"],
        "n": np.arange(5, dtype=np.int64),
        "x": [0.1, 5.5, np.nan, 1 / 3, -2.25],
        "day": pd.to_datetime(["2010-12-01", None, "2011-01-02", "2011-12-09", "2011-12-10"]),
        "flag": [True, False, True, True, False],
    })
    assert _arrow_columns(csv_safe(frame)) is not None  # Arrow writes it
    write_csv(frame, tmp_path / "q.csv")
    raw = (tmp_path / "q.csv").read_bytes()
    expected = csv_safe(frame).to_csv(index=False, lineterminator="\r\n").encode("utf-8")
    assert raw == codecs.BOM_UTF8 + expected
    text = raw[len(codecs.BOM_UTF8):].decode("utf-8")
    assert text.startswith('customer_id,country,"name, full",n,x,day,flag\r\nC1,"Korea, '
                           'Republic of",plain,0,0.1,2010-12-01,True\r\n')
    assert "United Kingdom" in text and '"United Kingdom"' not in text
    back = pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""])
    pd.testing.assert_frame_equal(back, pd.read_csv(io.BytesIO(expected),
                                                    keep_default_na=False, na_values=[""]))
    assert back["country"].tolist()[:3] == ["Korea, Republic of", "United Kingdom",
                                            'say "hi"']
    assert back["name, full"].tolist()[1] == "x\ny"
    assert back["country"].tolist()[4] == "a\r\nb"


def test_a_cell_holding_the_token_mark_is_written_by_pandas():
    """The private-use mark of the quoting tokens in the data itself: pandas writes it."""
    frame = pd.DataFrame({"a": ["x,y", "\ue0010\ue003"], "b": [1, 2]})
    assert csv_text(frame) == csv_safe(frame).to_csv(index=False, lineterminator="\r\n")


def test_an_empty_text_cell_alone_on_its_line_stays_a_row():
    frame = pd.DataFrame({"c": ["a", "", "b"]})
    assert csv_text(frame) == 'c\r\na\r\n""\r\nb\r\n'
    assert len(_read(csv_text(frame))) == 3


@pytest.mark.parametrize("column", [
    pd.Series([1, "a", 2.5], dtype=object),                                  # mixed text
    pd.Series(pd.to_datetime(["2020-01-01 00:00:00.5", "2020-01-02 00:00:00.0", None])),  # sub-second
    pd.Series(pd.to_datetime(["2020-01-01", "2020-01-02", None])).dt.tz_localize("UTC"),
    pd.Series([[1, 2], [3], []], dtype=object),                               # lists
])
def test_other_columns_are_written_by_pandas(column):
    frame = pd.DataFrame({"id": ["a", "b", "c"], "c": column})
    assert _arrow_columns(csv_safe(frame)) is None
    assert csv_text(frame) == csv_safe(frame).to_csv(index=False, lineterminator="\r\n")


def test_nullable_booleans_take_the_fast_path_byte_for_byte():
    """A nullable boolean column (the customer table's ``cluster_mixed``) is written by Arrow,
    the file byte for byte the one pandas' ``to_csv`` writes: True, False, <NA> empty."""
    frame = pd.DataFrame({"id": ["a", "b", "c", "d"],
                          "mixed": pd.array([True, None, False, True], dtype="boolean"),
                          "v": [1.5, 2.5, np.nan, 4.25]})
    assert _arrow_columns(csv_safe(frame)) is not None
    text = csv_text(frame)
    assert text == csv_safe(frame).to_csv(index=False, lineterminator="\r\n")
    assert text.split("\r\n")[2] == "b,,2.5"


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


def test_repeated_column_names_are_each_escaped_and_kept():
    """A frame may repeat a column name (pandas and CSV allow it): each column is escaped
    on its own, by position, and both stay in the file."""
    frame = pd.DataFrame([["=1+2", 1.5, "ok", "a"], ["b", 2.5, "-x", "+c"]],
                         columns=["id", "v", "id", "=n"])
    frame.isetitem(3, pd.Categorical(frame.iloc[:, 3]))
    safe = csv_safe(frame)
    assert list(safe.columns) == ["id", "v", "id", "'=n"]
    assert safe.iloc[:, 0].tolist() == ["'=1+2", "b"]
    assert safe.iloc[:, 2].tolist() == ["ok", "'-x"]
    assert safe.iloc[:, 3].tolist() == ["a", "'+c"]
    assert frame.iloc[0, 0] == "=1+2"  # the input is not modified
    assert csv_text(frame) == "id,v,id,'=n\r\n'=1+2,1.5,ok,a\r\nb,2.5,'-x,'+c\r\n"


def test_the_file_written_in_slices_is_the_one_written_at_once(monkeypatch):
    """Arrow writes the rows in slices (bounded memory): with 3-row slices, a table of 10
    rows with quoted cells gives the same bytes as one slice, the header once."""
    import valuemax._core._csv as csv_module

    frame = pd.DataFrame({"name": [f'item {i}, "x"' if i % 3 else f"item {i}" for i in
                                   range(10)],
                          "v": np.arange(10) / 4, "n": np.arange(10)})
    whole = csv_text(frame)
    monkeypatch.setattr(csv_module, "_SLICE_ROWS", 3)
    assert csv_text(frame) == whole
    assert whole.count("name,v,n") == 1 and whole.count("\r\n") == 11
    assert csv_text(frame.iloc[:0]) == "name,v,n\r\n"


@pytest.mark.parametrize("cells", [
    ["C001", "ok", None, "a-b", "x=y"],                    # no formula start: kept as text
    ["=1+2", "ok", None, "-x", "+3"],                      # formula starts: escaped
    ["\tq", "\rz", "@sum", "ok", "é=中"],                   # tab, carriage return, @, non-ASCII
])
def test_arrow_text_is_escaped_as_python_text(cells):
    """csv_safe checks an Arrow-backed text column with Arrow (no Python string per cell):
    the same cells escaped, and the same CSV bytes, as the same column of Python strings;
    the input is not modified."""
    arrow = pd.DataFrame({"id": pd.array(cells, dtype="string[pyarrow]"),
                          "v": np.arange(len(cells), dtype=float)})
    python = arrow.astype({"id": object})
    before = arrow.copy()
    assert csv_text(arrow) == csv_text(python)
    got, want = csv_safe(arrow)["id"], csv_safe(python)["id"]
    assert got.isna().tolist() == want.isna().tolist()
    assert got.dropna().tolist() == want.dropna().tolist()
    escaped = [c for c in cells if c is not None and c[0] in "=+-@\t\r"]
    assert sorted(v for v in got.dropna() if v.startswith("'")) == sorted("'" + c
                                                                           for c in escaped)
    pd.testing.assert_frame_equal(arrow, before)


def test_whole_number_float_cells_are_pandas_text_at_every_edge():
    """A float column of whole numbers only is written as pandas writes it, cell for cell:
    ``5.0``, ``-0.0``, exponents from 1e16 on, ``inf``/``-inf``, NaN as an empty cell (the
    cells are built by Arrow)."""
    x = np.array([5.0, -0.0, 0.0, np.nan, np.inf, -np.inf, 1e16, -1e16, 1e20,
                  9999999999999998.0, -3.0, 123456789012345.0, 2.0**60, -2.0**63])
    frame = pd.DataFrame({"a": x, "b": np.arange(x.size)})
    assert csv_text(frame) == frame.to_csv(index=False, lineterminator="\r\n")
    assert _read(csv_text(frame))["a"].dtype == np.float64


def test_a_long_column_of_few_texts_is_quoted_byte_for_byte_as_pandas():
    """A text column of many rows and few distinct values (segment or cluster names) is
    marked once per distinct value, then placed: the file is pandas' byte for byte (commas,
    inner quotes, line ends, missing cells), and a cell holding a private mark still sends
    the file to pandas."""
    rng = np.random.default_rng(0)
    names = np.array(['High-value (recent, frequent)', 'say "hi"', "two\nlines", "cr\rx",
                      "plain", None], dtype=object)
    frame = pd.DataFrame({"name": pd.array(names[rng.integers(0, 6, 30_000)],
                                           dtype="string[pyarrow]"),
                          "id": pd.array([f"C{i}" for i in range(30_000)],
                                         dtype="string[pyarrow]")})
    assert csv_text(frame) == frame.to_csv(index=False, lineterminator="\r\n")
    frame.loc[5, "name"] = "odd \ue000 mark"
    assert csv_text(frame) == frame.to_csv(index=False, lineterminator="\r\n")
