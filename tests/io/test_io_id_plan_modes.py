"""The id plan counted over the lines (a column of mostly distinct values, e.g. order ids)
equals the plan counted over a GROUP BY of the values: same kind, tokens and notes."""

from __future__ import annotations

import ibis
import pytest

from valuemax.io import _ids
from valuemax.io._ids import infer_id_plan

# blanks, surrounding blanks, null-like words, float-like integers (one repeated most),
# leading zeros with and without, repeated values: every condition of the plan counted
IDS = (["17850.0"] * 3 + ["12.0", " 13.0 ", "", "  ", "NA", "null", "007", "7", "0042",
                          "abc", "abc", "17850.0", None, "14.0"])


@pytest.mark.parametrize("values", [IDS, [v for v in IDS if v is None or
                                          v.strip().endswith(".0") or not v.strip()]])
def test_plan_over_lines_equals_plan_over_distinct_values(monkeypatch, values):
    raw = ibis.memtable({"id": values}, schema={"id": "string"})
    con = ibis.duckdb.connect()
    t = con.create_table("t", raw)
    monkeypatch.setattr(_ids, "MOSTLY_DISTINCT", 2.0)  # never: a GROUP BY of the values
    grouped = infer_id_plan(t, "id", "order_id")
    monkeypatch.setattr(_ids, "MOSTLY_DISTINCT", 0.0)  # always: one row per line
    per_line = infer_id_plan(t, "id", "order_id")
    assert per_line == grouped
    assert grouped[1]  # the notes say something (counts), so the comparison bites
