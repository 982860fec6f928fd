"""What lets clean read the log once: duplicates found through hashes on DuckDB, the day
counts of the read reused for the observation end, and every labelled line kept for the
questions about all lines (customers lost to the quarantine)."""

from __future__ import annotations

import dataclasses
import math

import ibis
import pandas as pd
import pyarrow as pa

from valuemax.clean import clean
from valuemax.clean._clean import _with_duplicates, _with_duplicates_hashed
from valuemax.clean._obsend import default_observation_end
from valuemax.io import protect, read_transactions

D = "2024-01-{:02d} 10:00:00"


def _python_copies(rows: list[tuple]) -> set[int]:
    """1-based positions of lines equal to an earlier line in every value (NULLs equal,
    NaN equal to NaN, -0.0 equal to 0.0), computed in Python."""
    def key(v):
        if isinstance(v, float) and math.isnan(v):
            return ("nan",)
        return v
    seen, copies = set(), set()
    for i, row in enumerate(rows, 1):
        k = tuple(key(v) for v in row)
        if k in seen:
            copies.add(i)
        seen.add(k)
    return copies


def test_hashed_duplicates_match_python_on_typed_columns():
    nan = float("nan")
    rows = [
        (1.5, "a", 3), (1.5, "a", 3),          # copy
        (0.0, None, 1), (-0.0, None, 1),       # -0.0 equals 0.0, NULLs equal: copy
        (nan, "b", None), (nan, "b", None),    # NaN equals NaN in a GROUP BY: copy
        (1.5, "a", 4),                         # differs in one column
        (None, None, None), (None, None, None), (None, None, None),
        (2.0, "a ", 3), (2.0, "a", 3),          # text compared as read (blank kept)
    ]
    con = ibis.duckdb.connect()
    raw = con.create_table("raw", pa.table({
        "_row_id": pa.array(range(1, len(rows) + 1), pa.int64()),
        "x": pa.array([r[0] for r in rows], pa.float64()),
        "s": pa.array([r[1] for r in rows], pa.string()),
        "k": pa.array([r[2] for r in rows], pa.int64()),
    }))
    std = raw.select("_row_id")
    hashed = _with_duplicates_hashed(std, raw, ["x", "s", "k"]).to_pyarrow().to_pandas()
    assert set(hashed.loc[hashed["_vm_dup"], "_row_id"]) == _python_copies(rows) \
        == {2, 4, 6, 9, 10}
    assert len(hashed) == len(rows)
    # the general path (GROUP BY over every column, used on the other engines) agrees
    general = _with_duplicates(std, raw, step=lambda t, key: t).to_pyarrow().to_pandas()
    assert set(general.loc[general["_vm_dup"], "_row_id"]) == {2, 4, 6, 9, 10}


def _write(tmp_path, lines: list[str]):
    path = tmp_path / "log.csv"
    path.write_text("\n".join(["customer,order,date,qty,price,sku", *lines]) + "\n",
                    encoding="utf-8")
    return path


def _log_with_a_placeholder(tmp_path):
    lines = [f"c{i % 7},o{i},2024-{1 + i % 12:02d}-{1 + i % 28:02d},{1 + i % 3},2.5,p{i % 5}"
             for i in range(60)]
    lines += ["c1,o900,1970-01-01,1,2.5,p1",      # a placeholder day
              ",o901,2024-03-03,1,2.5,p1",        # no customer: not usable
              "c2,o902,2024-03-04,x,2.5,p1",      # unparseable quantity: not usable
              "c3,o903,2024-03-04,1,2.5,p2"]
    return read_transactions(_write(tmp_path, lines))


def test_day_counts_of_the_read_equal_a_count_of_the_standardized_log(tmp_path):
    ing = _log_with_a_placeholder(tmp_path)
    std = ing.standardized().to_pyarrow().to_pandas()
    day = pd.to_datetime(std["order_ts"]).dt.date
    usable = std["_parse_error"].isna() & std["order_ts"].notna()
    expected = day[usable].value_counts().sort_index()
    counts = ing.usable_day_counts().to_pandas().set_index("_vm_d")["_vm_n"].sort_index()
    assert dict(counts) == dict(expected)
    assert counts.sum() == 61  # 64 lines: the placeholder, the id-less and the unparseable out
    assert pd.Timestamp("1970-01-01").date() not in counts.index
    # clean's own query over the log gives the same observation end and note
    con = ing.con
    own = default_observation_end(con, ing.standardized())
    reused = default_observation_end(con, ing.standardized(),
                                     counts=(ing.usable_day_counts(), ing.n_rows))
    assert own == reused
    assert own[0] == max(expected.index)


def test_day_counts_follow_protect_but_not_another_raw_table(tmp_path):
    ing = _log_with_a_placeholder(tmp_path)
    counts = ing.usable_day_counts()
    protected = protect(ing)
    assert protected.raw is not ing.raw
    assert protected.usable_day_counts().equals(counts)
    other = dataclasses.replace(ing, raw=ing.con.table(ing.raw.get_name()))
    assert other.usable_day_counts() is None  # e.g. a log extended by valuemax update


def test_labelled_lines_hold_every_line_once_with_its_reason(tmp_path):
    ing = _log_with_a_placeholder(tmp_path)
    res = clean(ing)
    lines = res.lines.to_pyarrow().to_pandas()
    assert sorted(lines["_row_id"]) == list(range(1, ing.n_rows + 1))
    assert lines["reason"].isna().sum() == res.report.rows_clean
    got = lines["reason"].dropna().value_counts().to_dict()
    assert got == {r.code: r.count for r in res.report.rules if r.count}
    assert got["placeholder_date"] == 1 and got["missing_customer_id"] == 1
    # customers whose every line is quarantined, from the lines and from the two tables
    std = ing.standardized().to_pyarrow().to_pandas()
    kept = set(res.transactions.to_pyarrow().to_pandas()["customer_id"])
    ids = set(std["customer_id"].dropna())
    per = lines.dropna(subset=["customer_id"]).groupby("customer_id")["reason"]
    lost = {c for c, r in per if r.notna().all()}
    assert lost == ids - kept


def test_product_code_is_ibis_strip_upper_on_every_edge_blank():
    from valuemax.clean._rules import product_code

    codes = ["post", " post", "post ", "\tPOST\n", "\x0bpost\x0c", "\x0b post \x0b", "p o s t",
             "\rpost\r", " \r post", "post\u00a0", "", "   ", None, "gift_0001 ", "é ", "\x0b"]
    con = ibis.duckdb.connect()
    t = con.create_table("codes", pa.table({"product_id": pa.array(codes, pa.string())}))
    got = t.select(c=product_code(t)).to_pyarrow().column("c").to_pylist()
    # Python's str.strip over Ibis's characters (space, tab, LF, CR, VT, FF), then upper
    want = [None if c is None else c.strip(" \t\n\r\x0b\x0c").upper() for c in codes]
    assert got == want
    assert got[5] == "POST" and got[7] == "POST" and got[6] == "P O S T" and got[14] == "É"
    # and the plain Ibis expression agrees on the same engine
    plain = t.select(c=t.product_id.strip().upper()).to_pyarrow().column("c").to_pylist()
    assert got == plain


def test_code_flags_give_the_tests_of_the_expressions():
    """The non-product test and the unconfirmed-code count read from the flag columns
    equal the expressions they replace, line by line, with the default codes confirmed by
    descriptions (Online Retail's rule) and with a plain code list."""
    from valuemax.clean._rules import (
        DEFAULT_NON_PRODUCT_CODES,
        DEFAULT_NON_PRODUCT_WORDS,
        RuleContext,
        make_rules,
        unconfirmed_codes,
        with_code_flags,
    )

    rows = [("POST", "POSTAGE"), (" post ", "postage"), ("POST", "post box"),  # no 'POSTAGE'
            ("M", "Manual"), ("M", "MUG"), ("gift_0001_10", "Dotcomgiftshop Gift Voucher"),
            ("GIFT_X", "gift bag"), ("85123A", "WHITE HANGING HEART"), (None, "POSTAGE"),
            ("POST", None), ("S", "SAMPLES"), ("S", "size S"), ("B", "Adjust bad debt")]
    con = ibis.duckdb.connect()
    t = con.create_table("lines", pa.table({
        "product_id": pa.array([r[0] for r in rows], pa.string()),
        "product_name": pa.array([r[1] for r in rows], pa.string()),
    }))
    (rule,) = make_rules(("non_product",), RuleContext(
        None, None, DEFAULT_NON_PRODUCT_CODES, confirm=DEFAULT_NON_PRODUCT_WORDS))
    for confirm in (DEFAULT_NON_PRODUCT_WORDS, None):
        ctx = RuleContext(None, None, DEFAULT_NON_PRODUCT_CODES, confirm=confirm)
        flagged = with_code_flags(t, ctx)
        assert "_vm_np" in flagged.columns
        got = flagged.select(np=rule.predicate(flagged, ctx),
                             kept=unconfirmed_codes(flagged, ctx)).to_pyarrow()
        want = t.select(np=rule.predicate(t, ctx), kept=unconfirmed_codes(t, ctx)).to_pyarrow()
        assert got.equals(want)
        if confirm is not None:  # hand-checked against DEFAULT_NON_PRODUCT_WORDS
            assert got.column("np").to_pylist() == [
                True, True, False, True, False, True, False, False, False, False, True,
                False, True]
            # kept as sales: post box, MUG, gift bag, POST without a description, size S
            # (NULL where the line has no code)
            assert [i for i, k in enumerate(got.column("kept").to_pylist()) if k] == [
                2, 4, 6, 9, 11]
        else:  # the codes alone
            assert sum(got.column("np").to_pylist()) == 11


def test_lost_customers_note_from_the_lines_equals_the_two_tables(tmp_path):
    """The note on customers whose every line is quarantined: one GROUP BY of the labelled
    lines gives the counts and examples of the anti join of the log's ids to the clean
    table's (the path without labelled lines), both equal to a count in pandas."""
    from valuemax.engines import connect
    from valuemax.pipeline._analyze import _with_lost_customers
    from valuemax.pipeline._store import write_table

    lines = [f"c{i % 7},o{i},2024-{1 + i % 12:02d}-{1 + i % 28:02d},1,2.5,p{i % 5}"
             for i in range(60)]
    lines += ["lost1,o800,2024-02-02,x,2.5,p1",       # unparseable quantity
              "lost2,o801,1970-01-01,1,2.5,p1",       # placeholder day
              "lost2,o802,2024-02-03,1,2.5,p1", "lost2,o802,2024-02-03,1,2.5,p1",  # copy
              "lost0,o803,2024-02-04,1,NaN,p1"]
    con = connect(tmp_path / "store.duckdb")
    ing = read_transactions(_write(tmp_path, lines), con=con)
    res = clean(ing)
    write_table(con, "transactions_clean", res.transactions)
    from_lines = _with_lost_customers(res, ing, con).notes[-1]
    from_tables = _with_lost_customers(dataclasses.replace(res, lines=None), ing, con).notes[-1]
    assert from_lines == from_tables
    std = ing.standardized().to_pyarrow().to_pandas()
    kept = set(res.transactions.to_pyarrow().to_pandas()["customer_id"])
    lost = sorted(set(std["customer_id"].dropna()) - kept)
    n_ids = std["customer_id"].nunique()
    assert len(lost) >= 2 and "lost1" in lost
    assert from_lines.startswith(
        f"customers lost to the quarantine: {len(lost):,} of {n_ids:,} customer ids have no "
        f"clean line (e.g. {', '.join(lost[:5])});")
