"""Bulk loading into the real servers (PostgreSQL ``COPY``, MariaDB ``LOAD DATA LOCAL INFILE``):
every value comes back exactly as sent, through the bulk path (not a silent fallback)."""

from __future__ import annotations

import datetime as dt
import math

import pyarrow as pa
import pytest

from valuemax.engines import append_arrow, load_arrow
from valuemax.engines._bulk import _executemany_mysql

# Third-party noise: ibis 12's MySQL backend fetches through pandas and reads a pandas option
# that pandas 3 deprecates.
pytestmark = pytest.mark.filterwarnings(
    "ignore:The 'future.infer_string' option is deprecated")

SERVERS = [pytest.param("postgres", marks=pytest.mark.postgres),
           pytest.param("mariadb", marks=pytest.mark.mariadb)]

#: Text the two text formats must escape or keep: quotes, the separators, backslashes,
#: the NULL markers as text, an empty string (not NULL), Chinese and an emoji (4-byte UTF-8).
TEXTS = ['plain', 'say "hi", then go', "tab\there", "two\nlines\r\n", "back\\slash",
         "\\N", "NULL", "", "客户 订单 退货", "😀 ok", None]
#: Floats whose shortest decimal form is long or whose exponent is extreme.
FLOATS = [0.1 + 0.2, 1 / 3, 1e-300, -1.7976931348623157e308, 12345678.901, 2.5e-5, -0.5,
          1e16 + 2, 5e-324, 0.0, None]
TIMES = [dt.datetime(2012, 2, 29, 23, 59, 59, 999999), dt.datetime(2011, 3, 27, 1, 30, 0, 1),
         dt.datetime(1997, 1, 1), dt.datetime(2038, 1, 19, 3, 14, 8), dt.datetime(1970, 1, 1),
         dt.datetime(2024, 12, 31, 12, 0, 0, 500000), dt.datetime(9999, 12, 31, 23, 59, 59),
         dt.datetime(2000, 1, 1, 0, 0, 0, 10), dt.datetime(1900, 3, 1, 6, 0),
         dt.datetime(2011, 10, 30, 1, 30), None]
INTS = [0, 1, -1, 2**63 - 1, -(2**63) + 1, 42, 10**15, -7, 3, 123456789012, None]
BOOLS = [True, False, None, True, False, True, True, False, None, False, True]


def _frame(n_copies: int = 1) -> pa.Table:
    rows = len(TEXTS)
    return pa.table({
        "k": pa.array(range(rows * n_copies), pa.int64()),
        "text": pa.array(TEXTS * n_copies, pa.string()),
        "x": pa.array(FLOATS * n_copies, pa.float64()),
        "ts": pa.array(TIMES * n_copies, pa.timestamp("us")),
        "day": pa.array([None if t is None else t.date() for t in TIMES] * n_copies,
                        pa.date32()),
        "n": pa.array(INTS * n_copies, pa.int64()),
        "flag": pa.array(BOOLS * n_copies, pa.bool_()),
    })


def _back(con, name) -> dict[str, list]:
    """What the server holds, read with its own driver (Ibis 12 reads MySQL through pandas,
    where an int64 column with NULLs becomes float64 and loses digits beyond 2**53)."""
    q = "`" if con.name == "mysql" else '"'
    columns = list(_frame().column_names)
    cursor = con.raw_sql(f"SELECT {', '.join(q + c + q for c in columns)} FROM {q}{name}{q} "
                         f"ORDER BY {q}k{q}")
    try:
        rows = cursor.fetchall()
    finally:
        cursor.close()
    out = {c: [row[i] for row in rows] for i, c in enumerate(columns)}
    out["flag"] = [b if b is None else bool(b) for b in out["flag"]]  # MariaDB: TINYINT(1)
    return out


def _same_floats(got: list, want: list) -> bool:
    """Equal bits, NULL where NULL (-0.0 and 0.0 compare equal, as SQL has them)."""
    return len(got) == len(want) and all(
        (g is None) == (w is None) and (g is None or (g == w and math.isfinite(g)))
        for g, w in zip(got, want, strict=True))


@pytest.mark.parametrize("engine", SERVERS)
def test_bulk_load_round_trips_every_value(engine, request, table_name):
    """Text with quotes/tabs/newlines/backslashes/"\\N"/Chinese/emoji, empty text vs NULL,
    floats to the last bit (0.1 + 0.2, 1/3, 1e-300, the largest double, a denormal),
    timestamps to the microsecond, dates, int64 near its limits, booleans, NULL in every
    column: each comes back as sent, loaded through the server's bulk path."""
    con = request.getfixturevalue(engine)
    data = _frame(n_copies=3)  # several rows per value: the chunks and lines line up
    try:
        load_arrow(con, table_name, data.slice(0, 11))
        path = append_arrow(con, table_name, data.slice(11))
        back = _back(con, table_name)
    finally:
        con.drop_table(table_name, force=True)
    assert path == {"postgres": "copy", "mariadb": "load data local infile"}[engine]
    assert back["k"] == list(range(33))
    assert back["text"] == TEXTS * 3
    assert back["text"][7] == "" and back["text"][10] is None
    assert _same_floats(back["x"], FLOATS * 3)
    assert back["ts"] == TIMES * 3
    assert back["day"] == data.column("day").to_pylist()
    assert back["n"] == INTS * 3
    assert back["flag"] == BOOLS * 3


@pytest.mark.mariadb
def test_mariadb_bulk_and_row_inserts_agree(mariadb, table_name):
    """The fallback (``executemany``, for servers without ``local_infile``) stores the same
    values as ``LOAD DATA``."""
    import ibis

    data = _frame()
    other = table_name + "_rows"
    try:
        load_arrow(mariadb, table_name, data)
        mariadb.create_table(other, schema=ibis.Schema.from_pyarrow(data.schema))
        _executemany_mysql(mariadb, other, data, None)
        assert _back(mariadb, table_name) == _back(mariadb, other)
    finally:
        mariadb.drop_table(table_name, force=True)
        mariadb.drop_table(other, force=True)


@pytest.mark.mariadb
def test_mariadb_refuses_nan_with_the_column_and_count(mariadb, table_name):
    """MariaDB cannot store NaN: LOAD DATA would turn it into 0 with a warning; the load is
    refused before, naming the column and how many, and no table is left behind."""
    data = pa.table({"k": [1, 2, 3], "x": [1.0, float("nan"), float("inf")]})
    with pytest.raises(ValueError, match=r"column 'x' holds 2 NaN or infinite values"):
        load_arrow(mariadb, table_name, data)
    assert table_name not in mariadb.list_tables()


@pytest.mark.postgres
def test_postgres_keeps_nan_and_infinities(postgres, table_name):
    """PostgreSQL's double precision holds NaN and the infinities: COPY carries them."""
    data = pa.table({"k": [1, 2, 3], "x": [float("nan"), float("inf"), float("-inf")]})
    try:
        load_arrow(postgres, table_name, data)
        got = postgres.table(table_name).order_by("k").to_pyarrow().column("x").to_pylist()
    finally:
        postgres.drop_table(table_name, force=True)
    assert math.isnan(got[0]) and got[1:] == [math.inf, -math.inf]


@pytest.mark.mariadb
def test_mariadb_text_a_latin1_database_cannot_hold_is_refused(mariadb):
    """Chinese text into a database whose default character set is latin1: LOAD DATA would
    store '?' with a warning; the load stops with the server's words and the fix, and the
    table is dropped."""
    import uuid

    from valuemax._core.exceptions import InputError

    db = f"vm_schema_{uuid.uuid4().hex[:8]}"
    mariadb.raw_sql(f"CREATE DATABASE `{db}` CHARACTER SET latin1").close()
    try:
        data = pa.table({"k": [1, 2], "text": ["plain", "客户"]})
        with pytest.raises(InputError, match=r"Incorrect string value.*CHARACTER SET utf8mb4"):
            load_arrow(mariadb, "t", data, schema=db)
        assert mariadb.list_tables(database=db) == []
    finally:
        mariadb.raw_sql(f"DROP DATABASE `{db}`").close()


@pytest.mark.mariadb
def test_local_infile_off_in_the_url_sends_no_file(mariadb_url, table_name, tmp_path):
    """``?local_infile=0``: the same values arrive through INSERTs, and the client library
    refuses to send a file even for a ``LOAD DATA LOCAL INFILE`` it was asked to run (a
    server asking for a file gets nothing)."""
    from valuemax.engines import connect
    from valuemax.exceptions import InputError

    con = connect(mariadb_url + "?local_infile=0")
    try:
        data = _frame()
        load_arrow(con, table_name, data.slice(0, 0))
        assert append_arrow(con, table_name, data, None) == "executemany"
        got = _back(con, table_name)
        assert got["n"] == INTS and got["text"] == TEXTS
        assert _same_floats(got["x"], FLOATS)
        secret = tmp_path / "secret.tsv"
        secret.write_text("99\tleaked\n", encoding="utf-8")
        with pytest.raises(Exception, match="local infile capability") as refused:
            con.raw_sql(f"LOAD DATA LOCAL INFILE '{secret}' INTO TABLE `{table_name}` "
                        "(`k`, `text`)").close()
        assert refused.value.args[0] in (2068, 4166)
        assert con.table(table_name).count().to_pyarrow().as_py() == len(INTS)
    finally:
        con.drop_table(table_name, force=True)
        con.disconnect()
    # on by default (the bulk path), and anything but 0/1 refused
    default = connect(mariadb_url)
    try:
        load_arrow(default, table_name, _frame().slice(0, 0))
        assert append_arrow(default, table_name, _frame(), None) == "load data local infile"
    finally:
        default.drop_table(table_name, force=True)
        default.disconnect()
    with pytest.raises(InputError, match=r"local_infile='maybe' is not 0 or 1"):
        connect(mariadb_url + "?local_infile=maybe")


@pytest.mark.mariadb
def test_mariadb_key_is_made_before_the_rows_arrive(mariadb, table_name):
    """``key=``: the column is the primary key of the loaded table, every row there once."""
    data = _frame(n_copies=3)
    load_arrow(mariadb, table_name, data, key="k")
    try:
        cursor = mariadb.raw_sql(f"SHOW KEYS FROM `{table_name}` WHERE Key_name = 'PRIMARY'")
        keys = [row[4] for row in cursor.fetchall()]  # Column_name
        cursor.close()
        assert keys == ["k"]
        got = _back(mariadb, table_name)
        assert got["k"] == list(range(data.num_rows))
        assert got["n"] == INTS * 3 and got["text"] == TEXTS * 3
    finally:
        mariadb.drop_table(table_name, force=True)
