"""Duplicates and returns across the split, on small hand-made logs: the store after
analyze(January) + update(February) equals analyze(January then February)."""

from __future__ import annotations

import duckdb
import pytest

import valuemax
from valuemax.pipeline import update

from ._logs import (
    AMOUNT_FIRST,
    AMOUNT_HEADER,
    AMOUNT_SECOND,
    FIRST,
    HEADER,
    SECOND,
    write_parts,
)
from ._stores import assert_same, table

#: Small logs: no models (too few customers), only the data and the RFM segments.
OPTIONS = {"clv": False, "propensity": False, "clusters": "none"}
COMPARED = {"transactions_raw": "_row_id", "transactions_clean": "_row_id",
            "quarantine": "_row_id", "customers": "customer_id", "quality": "rule",
            "segments": "customer_id"}


def _both(tmp_path, header, first, second):
    parts = write_parts(tmp_path, header, first, second)
    store, whole = tmp_path / "s.duckdb", tmp_path / "w.duckdb"
    valuemax.analyze(parts["first"], db=store, **OPTIONS)
    before = table(store, "customers", "customer_id")
    result = update(store, parts["second"])
    valuemax.analyze(parts["whole"], db=whole, **OPTIONS)
    return store, whole, result, before


@pytest.fixture(scope="module")
def handmade(tmp_path_factory):
    return _both(tmp_path_factory.mktemp("handmade"), HEADER, FIRST, SECOND)


def test_returns_and_duplicates_across_the_split(handmade):
    store, whole, result, _ = handmade
    for name, key in COMPARED.items():
        assert_same(table(store, name, key), table(whole, name, key), name)
    # what the update said, counted by hand from SECOND: 11 lines, two copies (one of a
    # stored line, one within the file), two netted returns, one unmatched, one without
    # a customer; kept: 1010, 1013, 1014, 1015, 1018
    assert result.rows_in == 11 and result.rows_clean == 5
    assert result.quarantined_by_reason == {"duplicate_line": 2, "missing_customer_id": 1,
                                            "return_netted": 2, "return_unmatched": 1}
    # stored lines changed: c2's mugs (fully returned) and c1's bowls (4 - 1 - 1 = 2 left)
    assert result.restated_lines == 2
    assert result.observation_end.isoformat() == "2024-02-10"
    assert (result.n_customers, result.n_new_customers, result.n_active_customers) == (5, 1, 4)
    # c2's only new line is a return (quarantined, return_netted): in the new lines, no
    # new clean line; c1, c3 and c5 have one
    assert result.n_customers_with_clean_lines == 3
    assert "4 customers in the new lines (3 with a new clean line, 1 new)" in result.message
    q = table(store, "quarantine", "_row_id")
    assert q.loc[q["InvoiceNo"] == "1002", "reason"].tolist() == ["fully_returned"]
    clean = table(store, "transactions_clean", "_row_id")
    bowls = clean[clean["product_id"] == "P3"]
    assert bowls["quantity"].tolist() == [2.0] and bowls["amount"].tolist() == [6.0]
    c = table(store, "customers", "customer_id").set_index("customer_id")
    assert c.loc["c3", "Country"] == "Spain"  # 2 Spanish lines against 1 British
    # c2: the plates of 2024-01-20 only (its mugs went back): one purchase day, 24.00
    assert (c.loc["c2", "n_lines"], c.loc["c2", "total_spend"]) == (1, 24.0)


def test_netting_by_amount_across_the_split(tmp_path):
    store, whole, result, _ = _both(tmp_path, AMOUNT_HEADER, AMOUNT_FIRST, AMOUNT_SECOND)
    for name, key in COMPARED.items():
        assert_same(table(store, name, key), table(whole, name, key), name)
    c = table(store, "customers", "customer_id").set_index("customer_id")
    # c1: 50 + (30 - 20); c2 refunded in full: no clean line left, not a customer any more
    assert c.loc["c1", "total_spend"] == pytest.approx(60.0)
    assert "c2" not in c.index
    assert result.quarantined_by_reason == {"return_netted_earlier": 2}


def test_a_file_of_one_full_refund_equals_the_whole_log(tmp_path):
    """The new file is c2's refund of its whole purchase: re-cleaned with c2's stored lines,
    every line of the part is quarantined (the refund netted, the purchase fully returned),
    which a whole log may not be but a part may."""
    store, whole, result, _ = _both(tmp_path, AMOUNT_HEADER, AMOUNT_FIRST,
                                    "c2,2024-02-02,-20.00\n")
    for name, key in COMPARED.items():
        assert_same(table(store, name, key), table(whole, name, key), name)
    assert "c2" not in set(table(store, "customers", "customer_id")["customer_id"])
    assert result.rows_in == 1 and result.rows_clean == 0
    assert result.quarantined_by_reason == {"return_netted_earlier": 1}


def test_customers_without_new_lines_only_move_in_time(handmade):
    """c4 buys nothing in February: its counts stay, recency and T grow by the 10 days."""
    store, _, _, before = handmade
    old = before.set_index("customer_id").loc["c4"]
    new = table(store, "customers", "customer_id").set_index("customer_id").loc["c4"]
    for col in ("n_orders", "n_lines", "total_spend", "frequency", "recency"):
        assert new[col] == old[col]
    assert new["recency_days"] - old["recency_days"] == 10  # 2024-01-31 -> 2024-02-10
    assert new["T"] - old["T"] == pytest.approx(10.0)


def test_runs_row_of_an_update(handmade):
    store, _, result, _ = handmade
    import hashlib

    con = duckdb.connect(str(store), read_only=True)
    try:
        rows = con.execute("SELECT kind, input_sha256, rows_in, rows_clean, rows_quarantined "
                           "FROM runs ORDER BY started_at").fetchall()
    finally:
        con.close()
    sha = hashlib.sha256((HEADER + SECOND).encode()).hexdigest()
    assert rows[0][0] == "analyze"
    # 11 new lines, 5 kept and 6 quarantined; c2's stored mug line moved to the quarantine
    # (fully_returned) is counted there: the runs rows add up to the store's tables
    assert rows[1] == ("update", sha, 11, 4, 7)
    con = duckdb.connect(str(store), read_only=True)
    try:
        n_clean, n_quar = con.execute("SELECT (SELECT count(*) FROM transactions_clean), "
                                      "(SELECT count(*) FROM quarantine)").fetchone()
    finally:
        con.close()
    assert (rows[0][3] + rows[1][3], rows[0][4] + rows[1][4]) == (n_clean, n_quar)
    assert result.restated_by_reason == {"re_netted": {"clean": 1},
                                         "to_quarantine": {"fully_returned": 1}}
    assert "2 stored lines restated (1 re-netted; 1 moved to the quarantine: " \
           "fully_returned 1)" in result.message
    assert result.input_sha256 == sha and result.run_id is not None
