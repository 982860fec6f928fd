"""Baskets coded in DuckDB: only integer codes, times and the item and customer
dictionaries reach Python, never a text value per line or per basket."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from valuemax.basket._baskets import Baskets, _naive, basket_lines, build_baskets
from valuemax.clean import CleanResult
from valuemax.engines._portable import backend_name


def _sorted_distinct(t: ir.Table, column: ir.Column) -> pa.Array:
    """The distinct non-NULL values of a text column of ``t``, sorted bytewise in Arrow (the
    order of :func:`~valuemax.basket._baskets.sorted_codes`)."""
    got = t.select(_v=column)
    got = got.filter(got._v.notnull()).distinct()
    values = got.to_pyarrow().column("_v").combine_chunks()
    return values.take(pc.sort_indices(values))


def _dictionary(values: pa.Array, key: str, code: str) -> ir.Table:
    """``values`` with their positions (int32) as an in-memory table to join on."""
    return ibis.memtable(pa.table({key: values,
                                   code: pa.array(np.arange(len(values), dtype=np.int32))}))


def build_coded(transactions: CleanResult | ir.Table, *, item: str = "auto") -> Baskets:
    """:func:`build_baskets` without basket ids, coded in DuckDB (the main job's path).

    The items and the customers are fetched once as sorted dictionaries; the engine joins
    their int32 codes to the lines and groups the lines by basket: each basket's customer
    code (the smallest: the codes follow the sorted ids), first and last time and the list
    of its item codes, so Python receives integer lists and times, never a text per line or
    per basket (at 10M lines one 0.28 GB Arrow result, no sort of ten million basket ids;
    docs/performance.md has the step's memory before and after).

    Same matrix, items, customers, dates, kind and notes as :func:`build_baskets` up to the
    order of the baskets, which is the engine's (not sorted by id); ``basket_ids`` is None.
    Nothing in :func:`~valuemax.basket.analyze_baskets` depends on the order of the
    baskets (counts, co-occurrences and dates only). On another engine than DuckDB, or
    when a line with an item has no customer, this is :func:`build_baskets` (ids sorted).

    Parameters
    ----------
    transactions : CleanResult or ibis.Table
        As in :func:`build_baskets`.
    item : str, default "auto"
        As in :func:`build_baskets`.

    Returns
    -------
    Baskets

    Raises
    ------
    InputError
        As :func:`build_baskets`.
    """
    if isinstance(transactions, CleanResult):
        transactions = transactions.transactions
    if backend_name(transactions) not in (None, "duckdb"):
        return build_baskets(transactions, item=item)
    t, item_col, kind, notes, n_null_customer = basket_lines(transactions, item,
                                                             customers=True)
    if n_null_customer:  # NULL customers: their baskets' customer is NULL (the text path)
        return build_baskets(transactions, item=item)
    items = _sorted_distinct(t, t._item)
    custs = _sorted_distinct(t, t.customer_id.cast("string"))
    lines = t.mutate(_cust=t.customer_id.cast("string"))
    lines = (lines.join(_dictionary(items, "_item", "_i"), "_item")
             .join(_dictionary(custs, "_cust", "_c"), "_cust"))
    per = (lines.group_by("_basket")
           .aggregate(_c=lines._c.min(), _ts=lines.order_ts.min(),
                      _last=lines.order_ts.max(), _items=lines._i.collect())
           .drop("_basket").to_pyarrow())
    matrix = _incidence(per.column("_items").combine_chunks(), len(items))
    codes = np.asarray(per.column("_c").combine_chunks(), dtype=np.int32)
    ts = per.column("_ts").combine_chunks()
    last = per.column("_last").combine_chunks()
    del per
    labels = custs.to_numpy(zero_copy_only=False)
    return Baskets(
        matrix=matrix, items=items.to_pylist(), basket_ids=None,
        customer_ids=labels[codes],
        basket_dates=pd.to_datetime(ts.to_pandas()).to_numpy().astype("datetime64[D]"),
        kind=kind, item_column=item_col, notes=tuple(notes), basket_ends=_naive(last),
        _customers=(codes, labels))


def _incidence(lists: pa.ListArray, n_items: int) -> sp.csr_matrix:
    """Boolean CSR incidence whose row ``b`` holds the item codes of ``lists[b]``
    (repeated codes count once; columns sorted in each row)."""
    offsets = np.asarray(lists.offsets, dtype=np.int64)
    values = np.array(lists.values, dtype=np.int32)[offsets[0]:offsets[-1]]  # writable
    m = sp.csr_matrix((np.ones(len(values), dtype=bool), values, offsets - offsets[0]),
                      shape=(len(lists), n_items))
    m.sum_duplicates()  # sorts each row's columns and merges repeats
    m.sort_indices()
    return m
