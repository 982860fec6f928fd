"""Bad input to update: each refused (or recognised as a no-op) with its message, and the
store left exactly as it was."""

from __future__ import annotations

import hashlib
import json
import shutil

import duckdb
import pandas as pd
import pandas.testing as pdt
import pytest

import valuemax
from valuemax import __version__
from valuemax.exceptions import InputError
from valuemax.pipeline import update

from ._logs import FIRST, HEADER, SECOND, write_parts
from ._stores import snapshot

OPTIONS = {"clv": False, "propensity": False, "clusters": "none"}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A store of the January log and the parts' files (copy the store before use)."""
    folder = tmp_path_factory.mktemp("bad")
    parts = write_parts(folder, HEADER, FIRST, SECOND)
    store = folder / "base.duckdb"
    valuemax.analyze(parts["first"], db=store, **OPTIONS)
    return store, parts


@pytest.fixture
def store(base, tmp_path):
    dst = tmp_path / "s.duckdb"
    shutil.copy2(base[0], dst)
    return dst


def _unchanged(store, before):
    after = snapshot(store)
    assert after.keys() == before.keys()
    for name in before:
        pdt.assert_frame_equal(after[name], before[name], obj=name)


def test_other_columns_refused_with_the_difference(store, tmp_path):
    before = snapshot(store)
    new = tmp_path / "new.csv"
    new.write_text((HEADER + SECOND).replace(",Country\n", "\n").replace(",UK\n", "\n")
                   .replace(",France\n", "\n").replace(",Germany\n", "\n")
                   .replace(",Spain\n", "\n"), encoding="utf-8")
    with pytest.raises(InputError, match=r"other columns than the store's log: missing "
                                         r"'Country' \(the store's log has 'InvoiceNo'"):
        update(store, new)
    _unchanged(store, before)


def test_renamed_column_refused_with_both_names(store, tmp_path):
    """A renamed customer column (a changed export, the mapping would differ)."""
    new = tmp_path / "new.csv"
    new.write_text(HEADER.replace("CustomerID", "Customer ID") + SECOND, encoding="utf-8")
    with pytest.raises(InputError, match=r"missing 'CustomerID'; not in the store "
                                         r"'Customer ID'"):
        update(store, new)


def test_other_types_refused(store, tmp_path):
    """The same columns as Parquet with typed values, where the store read text."""
    new = tmp_path / "new.parquet"
    frame = pd.read_csv(pd.io.common.StringIO(HEADER + SECOND), dtype={"CustomerID": "string"})
    frame.to_parquet(new)
    with pytest.raises(InputError, match=r"other types: 'Quantity' string in the store, "
                                         r"int64 here; 'UnitPrice' string in the store, "
                                         r"float64 here"):
        update(store, new)


def test_mapping_difference_refused(store, tmp_path):
    """A store whose log was mapped otherwise (its recorded mapping names another date
    column) refuses lines read with its options: the difference is listed."""
    con = duckdb.connect(str(store))
    try:
        ingest = con.execute("SELECT ingest FROM runs").fetchone()[0]
        con.execute("UPDATE runs SET ingest = ?", [ingest.replace(
            '"order_ts": "InvoiceDate"', '"order_ts": "Description"')])
    finally:
        con.close()
    with pytest.raises(InputError, match=r"maps its columns differently.*order_ts: "
                                         r"'Description' in the store, 'InvoiceDate' here"):
        update(store, write_parts(tmp_path, HEADER, FIRST, SECOND)["second"])


def test_late_lines_refused(store, tmp_path):
    before = snapshot(store)
    new = tmp_path / "late.csv"
    new.write_text(HEADER + SECOND + "1099,P1,Mug,1,2024-01-30 10:00,2.50,c9,UK\n"
                   "1100,P1,Mug,1,2024-01-31 23:00,2.50,c1,UK\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"2 lines are dated on or before the store's "
                                         r"observation end 2024-01-31 \(e\.g\. line 12 "
                                         r"\(customer 'c9', 2024-01-30\), line 13 "
                                         r"\(customer 'c1', 2024-01-31\)\)"):
        update(store, new)
    _unchanged(store, before)


def test_a_mistyped_future_date_is_judged_against_the_stored_log(store, tmp_path):
    """One new line 18 years on: alone among the new lines it looks like any last date, but
    against the stored log it is the far-off tail analyze's guard refuses (it would move
    every customer's recency by 18 years and lock the store against later updates)."""
    before = snapshot(store)
    new = tmp_path / "typo.csv"
    new.write_text(HEADER + SECOND + "1019,P1,Mug,1,2042-02-10 10:00,2.50,c1,UK\n",
                   encoding="utf-8")
    with pytest.raises(InputError, match=r"would be 2042-02-10; but 1 line on 2042-02-10 comes "
                                         r"after a gap of 6,575 days from the rest of the log "
                                         r"\(2024-01-05 \.\. 2024-02-10; 23 rows in all\)"
                                         r".*Lines of the new file: line 12 \(customer 'c1'\)\. "
                                         r"An update does not hold lines back: correct the dates in the file or leave those "
                                         r"lines out; if they are genuine, pass "
                                         r"observation_end='2042-02-10'"):
        update(store, new)
    _unchanged(store, before)


def test_same_file_twice_changes_nothing(store, base):
    first = update(store, base[1]["second"])
    assert first.applied
    before = snapshot(store)
    again = update(store, base[1]["second"])
    assert not again.applied
    assert again.message.startswith("nothing changed")
    assert first.run_id[:8] in again.message
    _unchanged(store, before)


def test_same_lines_in_another_file_change_nothing(store, tmp_path):
    """The January lines re-exported with Windows line ends (another SHA-256): every line is
    a copy of a stored one."""
    before = snapshot(store)
    new = tmp_path / "again.csv"
    new.write_bytes((HEADER + FIRST).replace("\n", "\r\n").encode())
    result = update(store, new)
    assert not result.applied
    assert "every one of the 11 lines" in result.message
    _unchanged(store, before)


def test_the_analyzed_file_itself_changes_nothing(store, base):
    result = update(store, base[1]["first"])
    assert not result.applied and "already applied" in result.message


def test_store_of_another_version_refused(store, base):
    before = snapshot(store)
    con = duckdb.connect(str(store))
    try:
        con.execute("UPDATE runs SET valuemax_version = '0.0.9'")
    finally:
        con.close()
    with pytest.raises(InputError, match=rf"written by valuemax 0\.0\.9 .*this is valuemax "
                                         rf"{__version__}.*valuemax analyze WHOLE_LOG --db"):
        update(store, base[1]["second"])
    after = snapshot(store)
    assert after["runs"]["valuemax_version"].tolist() == ["0.0.9"]
    pdt.assert_frame_equal(after["customers"], before["customers"])


def test_store_of_another_patch_version_accepted(store, base):
    """The policy: the same minor version (0.1.x) is continued."""
    major, minor_ = __version__.split(".")[:2]
    con = duckdb.connect(str(store))
    try:
        con.execute(f"UPDATE runs SET valuemax_version = '{major}.{minor_}.99'")
    finally:
        con.close()
    assert update(store, base[1]["second"]).applied


def test_not_a_store(tmp_path, base):
    with pytest.raises(InputError, match="not found; create it first with valuemax analyze"):
        update(tmp_path / "none.duckdb", base[1]["second"])
    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    con.close()
    with pytest.raises(InputError, match=r"lacks what an update continues from: runs \(the "
                                         r"table\); transactions_raw \(the table\)"):
        update(other, base[1]["second"])


def test_analyze_after_update_into_the_same_store(store, base, tmp_path):
    """The ``kind`` column an update adds to ``runs`` does not stop a later analyze (its row
    is an 'analyze' one), and an update continues from that analyze's options."""
    assert update(store, base[1]["second"]).applied
    valuemax.analyze(base[1]["whole"], db=store, **OPTIONS)
    con = duckdb.connect(str(store), read_only=True)
    try:
        kinds = [r[0] for r in con.execute("SELECT kind FROM runs ORDER BY started_at")
                 .fetchall()]
    finally:
        con.close()
    assert kinds == ["analyze", "update", "analyze"]
    march = tmp_path / "march.csv"
    march.write_text(HEADER + "3001,P1,Mug,2,2024-03-01 10:00,2.50,c1,UK\n", encoding="utf-8")
    assert update(store, march).rows_clean == 1


def test_observation_end_before_the_stored_one_refused(store, base):
    with pytest.raises(InputError, match=r"observation_end=2024-01-15 is before the store's "
                                         r"observation end 2024-01-31"):
        update(store, base[1]["second"], observation_end="2024-01-15")


def test_an_invalid_observation_end_is_refused_even_when_nothing_would_change(store, base):
    # the first part again would be "nothing changed"; a non-date must still be refused
    before = snapshot(store)
    with pytest.raises(InputError, match=r"observation_end='1998-02-30' is not a date"):
        update(store, base[1]["first"], observation_end="1998-02-30")
    _unchanged(store, before)


def test_unreadable_new_lines_say_update_reads_with_the_stored_options(store, tmp_path):
    """The reader's advice names analyze's options (--map, --columns); update has none, so
    the message says it reads with the recorded mapping and what to do instead."""
    before = snapshot(store)
    new = tmp_path / "new.csv"
    new.write_text(HEADER.replace("CustomerID", "Kunde") + SECOND, encoding="utf-8")
    with pytest.raises(InputError) as info:
        update(store, new)
    text = str(info.value)
    assert text.startswith(f"{new}: cannot find the column(s) for customer_id.")
    assert ("-- update reads new lines as the store's log was read (column mapping "
            "{'customer_id': 'CustomerID', 'order_id': 'InvoiceNo', " in text)
    assert text.endswith("with no reading options of its own: any option named above is one of "
                         "`valuemax analyze`. Export the new lines in the layout of the store's "
                         "log, or run `valuemax analyze` on the whole log with the options it "
                         "needs.")
    _unchanged(store, before)


def test_a_day_without_sales_changes_nothing(store, tmp_path):
    """The store's header and no line (a day without sales in a daily export) is no
    error: nothing changes and the message says why."""
    before = snapshot(store)
    empty = tmp_path / "2024-02-11.csv"
    empty.write_text(HEADER, encoding="utf-8")
    result = update(store, empty)
    assert not result.applied and result.run_id is None and result.rows_in == 0
    assert result.message == (f"nothing changed: {empty} has the store's columns but no "
                              "lines (a day without sales?)")
    assert result.observation_end == result.observation_end_before
    assert result.input_sha256 == hashlib.sha256(HEADER.encode("utf-8")).hexdigest()
    _unchanged(store, before)


def test_a_header_of_other_columns_without_lines_is_refused(store, tmp_path):
    before = snapshot(store)
    empty = tmp_path / "other.csv"
    empty.write_text("InvoiceNo,StockCode,Quantity\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"has a header but no data rows, and other columns "
                                         r"than the store's log: missing 'Description', "):
        update(store, empty)
    # breaker: one column short, or one too many, was taken as "nothing changed"
    short = tmp_path / "short.csv"
    short.write_text(HEADER.replace(",Country\n", "\n"), encoding="utf-8")
    with pytest.raises(InputError, match=r"other columns than the store's log: missing "
                                         r"'Country' \(the store's log has 'InvoiceNo'"):
        update(store, short)
    extra = tmp_path / "extra.csv"
    extra.write_text(HEADER.replace("\n", ",Extra\n"), encoding="utf-8")
    with pytest.raises(InputError, match=r"not in the store 'Extra'"):
        update(store, extra)
    _unchanged(store, before)


def test_a_campaign_run_written_to_the_store_does_not_stop_the_next_update(store, base,
                                                                         tmp_path,
                                                                         cli_runner):
    """Breaker: `valuemax target ... --db STORE` (as the README shows) adds a runs row
    without reading options; update then read that newest row and refused the store."""
    from valuemax.cli import app

    ids = duckdb.connect(str(store), read_only=True).execute(
        "SELECT customer_id FROM customers ORDER BY customer_id").fetchall()
    scores = tmp_path / "scores.csv"
    scores.write_text("customer_id,uplift\n" + "".join(
        f"{cid},{0.05 + 0.01 * i}\n" for i, (cid,) in enumerate(ids)), encoding="utf-8")
    run = cli_runner.invoke(app, ["target", str(scores), "--value", "20", "--margin", "0.5",
                                  "--cost-per-contact", "0.1", "--holdout", "0.5",
                                  "--out", str(tmp_path / "campaign"), "--db", str(store)])
    assert run.exit_code == 0, run.output
    con = duckdb.connect(str(store), read_only=True)
    try:
        commands = [json.loads(p).get("command") for (p,) in con.execute(
            "SELECT parameters FROM runs ORDER BY started_at").fetchall()]
    finally:
        con.close()
    assert commands[-1] == "target"  # the newest run is the campaign's
    result = update(store, base[1]["second"])
    assert result.applied and result.rows_in == 11 and result.rows_clean == 5
