"""recommend's rule and co-occurrence suggestions merged by blocks of customers (bounded
memory at millions of customers) give exactly the lists of one merge over every customer."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import valuemax.basket._recommend as rec
from valuemax.basket import build_baskets, mine_rules, recommend


def _log(seed: int = 3, n_lines: int = 2_000) -> pd.DataFrame:
    """120 customers, skewed items (frequent pairs, so rules), orders of a few lines."""
    rng = np.random.default_rng(seed)
    cust = rng.integers(0, 120, n_lines)
    day = rng.integers(0, 40, n_lines)
    item = np.minimum(rng.geometric(0.1, n_lines), 40)
    return pd.DataFrame({
        "customer_id": [f"c{c:03d}" for c in cust],
        "order_id": [f"o{c}-{d // 10}" for c, d in zip(cust, day, strict=True)],
        "order_ts": pd.Timestamp("2024-01-01") + pd.to_timedelta(day, unit="D"),
        "product_id": [f"p{i:02d}" for i in item]})


@pytest.mark.parametrize("dense", [False, True])
def test_merging_by_blocks_of_customers_gives_the_one_merge(monkeypatch, dense):
    b = build_baskets(ibis.memtable(pa.Table.from_pandas(_log(), preserve_index=False)))
    rs = mine_rules(b, min_support=0.02, min_confidence=0.1)
    assert len(rs.rules) > 0
    if not dense:
        monkeypatch.setattr(rec, "_DENSE_COS_BYTES", 0)  # the sparse product
    monkeypatch.setattr(rec, "_MERGE_ROWS", 1 << 30)  # every customer in one merge
    whole = recommend(rs, b, n=6)
    assert set(whole["source"]) == {"rule", "co-occurrence"}  # both sources merged
    # some customers get an item from both sources: kept once, as its rule row
    assert whole.groupby("customer_id")["source"].nunique().max() == 2
    for chunk, merge_rows in ((7, 7), (7, 20), (13, 1), (1000, 5)):
        if not dense:
            monkeypatch.setattr(rec, "_CHUNK", chunk)
        monkeypatch.setattr(rec, "_BLOCK", chunk * len(b.items))  # dense: chunk rows
        monkeypatch.setattr(rec, "_MERGE_ROWS", merge_rows)
        pd.testing.assert_frame_equal(recommend(rs, b, n=6), whole, check_exact=True)
