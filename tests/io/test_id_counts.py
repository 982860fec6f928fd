"""An id column's counts (blanks, padding, null-like words, float-like and zero-led ids) are
the same whether counted per line or over the distinct values (``_ids._id_counts`` picks
one from a sample): both queries against counts made by hand in Python."""

from __future__ import annotations

import ibis
import pyarrow as pa
import pytest

from valuemax.io import _ids
from valuemax.io._ids import infer_id_plan

# every kind of value twice or more, so that the distinct values carry line counts > 1
VALUES = (["17850.0"] * 3 + ["13047.0"] * 2 + ["  12583.0 "] * 2 + [""] * 2 + ["   "]
          + ["NA"] * 2 + [" null"] + ["-"] + ["000123"] * 2 + ["123"] + ["007.0"] + [None] * 3)


def _by_hand(values):
    """The counts of ``_id_counts``, computed in Python from the values themselves."""
    import re

    s = [v.strip(" \t\n\f\r") for v in values if v is not None]
    raw = [v for v in values if v is not None]
    return {
        "n": len(s),
        "blank": sum(x == "" for x in s),
        "padded": sum(x != r and x != "" for x, r in zip(s, raw, strict=True)),
        "float_like": sum(bool(re.fullmatch(r"[+-]?\d+\.0+", x)) for x in s),
        "tokens": sum(x.lower() in _ids.NULL_TOKENS for x in s),
        "zero_led": sum(bool(re.fullmatch(r"0+[1-9][0-9]*", x)) for x in s),
    }


@pytest.fixture
def raw():
    con = ibis.duckdb.connect()
    return con.create_table("raw", pa.table({"id": pa.array(VALUES, pa.string())}))


@pytest.mark.parametrize("per_line", [True, False])
def test_counts_equal_those_made_by_hand(raw, monkeypatch, per_line):
    monkeypatch.setattr(_ids, "_mostly_distinct", lambda raw, col: per_line)
    col = raw["id"]
    vals = raw.filter(col.notnull()).group_by(raw_=col).aggregate(m=lambda t: t.count())
    vals = vals.select(raw_=vals.raw_, s=_ids.strip_expr(vals.raw_), m=vals.m)
    got = {k: int(v or 0) for k, v in _ids._id_counts(raw, col, vals).items()}
    assert got == _by_hand(VALUES)
    assert got["padded"] == 3 and got["float_like"] == 8 and got["tokens"] == 4


def test_plan_and_notes_do_not_depend_on_the_query(raw, monkeypatch):
    results = []
    for per_line in (True, False):
        monkeypatch.setattr(_ids, "_mostly_distinct", lambda raw, col, p=per_line: p)
        results.append(infer_id_plan(raw, "id", "customer_id"))
    assert results[0] == results[1]
    plan, notes = results[0]
    assert set(plan.null_tokens) == {"NA", "null", "-"}
    assert any("4 values" in n and "read as missing" in n for n in notes)
    assert any("3 blank values -> NULL" in n for n in notes)


def test_mostly_distinct_tells_order_ids_from_customer_ids():
    con = ibis.duckdb.connect()
    t = con.create_table("t", pa.table({"order": [str(i) for i in range(1000)],
                                        "customer": [str(i % 10) for i in range(1000)]}))
    assert _ids._mostly_distinct(t, t["order"])
    assert not _ids._mostly_distinct(t, t["customer"])
