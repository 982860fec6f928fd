"""The untrimmed fast path of the ids (``IdPlan.unpadded``): the read skips the trim of an
id column only when no value would change, and the standardized log is then the same as
the trimmed reference; on another raw table (a union of stored and new lines) the trim
stays."""

from __future__ import annotations

import dataclasses

import pyarrow as pa
import pytest

from valuemax.io import read_transactions
from valuemax.io._ids import IdPlan


def _log(customers: list[str | None], products: list[str]) -> pa.Table:
    n = len(customers)
    return pa.table({
        "customer_id": customers,
        "order_id": [f"o{i}" for i in range(n)],
        "order_ts": [f"2024-01-0{1 + i % 9}" for i in range(n)],
        "quantity": [1.0 + i for i in range(n)],
        "unit_price": [2.5] * n,
        "product_id": products,
    })


def _reference(ingested):
    """standardized() with every id trimmed (the plans' unpadded turned off)."""
    ids = {k: dataclasses.replace(v, unpadded=False) for k, v in ingested.plan.ids.items()}
    plain = dataclasses.replace(ingested, plan=dataclasses.replace(ingested.plan, ids=ids))
    return plain.standardized().order_by("_row_id").to_pyarrow()


CLEAN = (["c1", "c2", "c1", None, "17850"], ["p1", "p2", "p3", "p1", "POST"])
PADDED = ([" c1", "c2 ", "c1", "\tc3", "c4"], ["p1", " p2", "p3 ", "p1", "p4"])
BLANK = (["c1", "", "c1", "   ", "c2"], ["p1", "p2", "", "p1", "  "])


@pytest.mark.parametrize(("log", "fast"), [(CLEAN, True), (PADDED, False), (BLANK, False)])
def test_unpadded_ids_give_the_trimmed_log(log, fast):
    ingested = read_transactions(_log(*log))
    plans = ingested.plan.ids
    # the fast path is taken exactly when no id value has an edge blank or is blank
    assert plans["customer_id"].unpadded is fast
    assert plans["product_id"].unpadded is fast
    assert plans["order_id"].unpadded  # o0, o1, ...: never padded
    got = ingested.standardized().order_by("_row_id").to_pyarrow()
    assert got.equals(_reference(ingested))
    if not fast:  # the trim did change values: the comparison bites
        assert got.column("customer_id").to_pylist() != list(log[0])


def test_another_raw_table_is_trimmed():
    """A plan inferred on clean ids applied to a table holding padded ids (as
    ``valuemax update``'s union of stored and new lines does) still trims them."""
    ingested = read_transactions(_log(*CLEAN))
    assert ingested.plan.ids["customer_id"].unpadded
    con = ingested.con
    padded = con.create_table("_padded", _log(*PADDED).append_column(
        "_row_id", pa.array(range(1, 6), pa.int64())))
    other = dataclasses.replace(ingested, raw=padded)
    got = other.standardized().order_by("_row_id").to_pyarrow()
    assert got.column("customer_id").to_pylist() == ["c1", "c2", "c1", "c3", "c4"]
    assert got.column("product_id").to_pylist() == ["p1", "p2", "p3", "p1", "p4"]


def test_unpadded_does_not_change_plan_equality():
    assert IdPlan("text", unpadded=True) == IdPlan("text")
