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
from valuemax.engines import to_arrow
from valuemax.engines._memory import hash_pass, hash_passes
from valuemax.engines._portable import backend_name


def _sorted_distinct(t: ir.Table, column: ir.Column) -> pa.Array:
    """The distinct non-NULL values of a text column of ``t``, sorted bytewise in Arrow (the
    order of :func:`~valuemax.basket._baskets.sorted_codes`)."""
    got = t.select(_v=column)
    got = got.filter(got._v.notnull()).distinct()
    values = to_arrow(got).column("_v").combine_chunks()
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
    lists, codes, ts, last = _per_basket(t, items, custs)
    matrix = _incidence(lists, len(items))
    del lists
    labels = custs.to_numpy(zero_copy_only=False)
    return Baskets(
        matrix=matrix, items=items.to_pylist(), basket_ids=None,
        customer_ids=labels[codes],
        basket_dates=pd.to_datetime(ts.to_pandas()).to_numpy().astype("datetime64[D]"),
        kind=kind, item_column=item_col, notes=tuple(notes), basket_ends=_naive(last),
        _customers=(codes, labels))


#: DuckDB memory per line of the baskets' query (:func:`_per_basket`), for its passes: its
#: list aggregate (each basket's item codes) holds its whole state in memory, DuckDB does
#: not spill it ("failed to allocate data of size 16.0 MiB" at 30M lines under the store's
#: 1.5 GB). Measured on the synthetic log (10 lines a customer, mostly one line an order):
#: 1M lines in one pass failed under 200 MB and ran under 300 MB, 10M lines ran under
#: 1.5 GB; at 300 bytes a line a pass under 1.5 GB is 5M lines (two passes at 10M, six at
#: 30M), half of what ran.
BASKET_BYTES_PER_LINE = 300

#: Memory per line of the grouping by hash (:func:`_grouped_by_hash`), which holds every
#: line in NumPy at once: the fetched row (hash 8, codes 4 + 4, time 8 bytes), the sort's
#: order (8) and the sorted copies (24), rounded up to 64. Taken only when the log's lines
#: at this size fit the connection's memory limit in one piece, so the Python side of the
#: step stays under the same bound as the engine's passes (30M lines under the store's
#: 1.5 GB group in the engine's passes instead).
HASH_BYTES_PER_LINE = 64


def _per_basket(t: ir.Table, items: pa.Array, custs: pa.Array,
                ) -> tuple[list[pa.ListArray], np.ndarray, pa.Array, pa.Array]:
    """Each basket's item codes (one list array per pass), customer code (int32), first
    and last time.

    Grouped in NumPy by the basket key's hash (:func:`_grouped_by_hash`) when that is
    exact and the lines fit the memory limit at :data:`HASH_BYTES_PER_LINE`; otherwise
    grouped by the key in the engine (:func:`_listed`), in passes of baskets
    (:func:`~valuemax.engines._memory.hash_pass`) when one query over every line would
    not fit DuckDB's memory limit at :data:`BASKET_BYTES_PER_LINE`. The passes split the
    lines by their basket's key (``_basket``), so each basket is whole in exactly one pass
    and the passes together give the baskets of one query, in another order (which nothing
    downstream depends on)."""
    got = (_grouped_by_hash(t, _coded_lines(t, items, custs))
           if hash_passes(t, HASH_BYTES_PER_LINE) == 1 else None)
    if got is not None:
        return [got[0]], got[1], got[2], got[3]
    passes = hash_passes(t, BASKET_BYTES_PER_LINE)
    lists, codes, ts, last = [], [], [], []
    for k in range(passes):
        part = t if passes == 1 else t.filter(hash_pass(t._basket, passes, k))
        got = _listed(_coded_lines(part, items, custs))
        lists.append(got[0])
        codes.append(got[1])
        ts.append(got[2])
        last.append(got[3])
        del got
    code = codes[0] if len(codes) == 1 else np.concatenate(codes)
    return (lists, code, pa.concat_arrays(ts) if len(ts) > 1 else ts[0],
            pa.concat_arrays(last) if len(last) > 1 else last[0])


def _coded_lines(t: ir.Table, items: pa.Array, custs: pa.Array) -> ir.Table:
    """The lines with their item code ``_i`` and customer code ``_c`` (int32) joined on."""
    lines = t.mutate(_cust=t.customer_id.cast("string"))
    return (lines.join(_dictionary(items, "_item", "_i"), "_item")
            .join(_dictionary(custs, "_cust", "_c"), "_cust"))


def _listed(lines: ir.Table) -> tuple[pa.ListArray, np.ndarray, pa.Array, pa.Array]:
    """The baskets of ``lines`` (coded: ``_i``, ``_c``) grouped by their key in the engine:
    each basket's item codes, customer code (int32), first and last time."""
    per = to_arrow(lines.group_by("_basket")
                   .aggregate(_c=lines._c.min(), _ts=lines.order_ts.min(),
                              _last=lines.order_ts.max(), _items=lines._i.collect())
                   .drop("_basket"))
    return (per.column("_items").combine_chunks(),
            np.asarray(per.column("_c").combine_chunks(), dtype=np.int32),
            per.column("_ts").combine_chunks(), per.column("_last").combine_chunks())


def _grouped_by_hash(t: ir.Table, lines: ir.Table,
                     ) -> tuple[pa.ListArray, np.ndarray, pa.Array, pa.Array] | None:
    """:func:`_listed` of ``lines`` (``t`` coded by :func:`_coded_lines`, every line of
    ``t`` kept) without the engine's list aggregate: one row per line (the basket
    key's 64-bit hash, item and customer codes, time: 24 bytes, no text) grouped in NumPy
    by a sort of the hashes; the baskets in the order of their hashes.

    Exact, or None: None when a time is missing or not a timestamp (a NULL time leaves
    its basket's minimum to SQL's rules), or when two keys share a hash (checked in the
    engine on the lines whose hash more than one line has: as many distinct keys as such
    hashes). At 10M lines of ~1 line a basket the list aggregate took ~30 CPU s, mostly
    its per-basket allocations (docs/performance.md)."""
    per = to_arrow(lines.select(_h=lines._basket.hash(), _i=lines._i, _c=lines._c,
                                _t=lines.order_ts))
    when = per.column("_t").combine_chunks()
    if not pa.types.is_timestamp(when.type) or when.null_count:
        return None
    h = np.asarray(per.column("_h").combine_chunks())
    order = np.argsort(h)
    h = h[order]
    new = np.empty(len(h), dtype=bool)
    new[:1] = True
    np.not_equal(h[1:], h[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    del new
    shared = h[starts[np.diff(np.append(starts, len(h))) > 1]]  # hashes of several lines
    del h
    if len(shared) and _distinct_keys(t, shared) != len(shared):  # keys share a hash
        return None
    del shared
    items = np.asarray(per.column("_i").combine_chunks(), dtype=np.int32)[order]
    cust = np.asarray(per.column("_c").combine_chunks(), dtype=np.int32)[order]
    times = np.asarray(when.cast(pa.int64()))[order]
    ts_type = when.type
    del per, when, order
    listed = pa.ListArray if len(items) < 2**31 else pa.LargeListArray
    offsets = np.append(starts, len(items)).astype(
        np.int32 if listed is pa.ListArray else np.int64)
    lists = listed.from_arrays(pa.array(offsets), pa.array(items))
    if not len(starts):
        return lists, np.zeros(0, dtype=np.int32), pa.array(times).view(ts_type), \
            pa.array(times).view(ts_type)
    return (lists, np.minimum.reduceat(cust, starts).astype(np.int32),
            pa.array(np.minimum.reduceat(times, starts)).view(ts_type),
            pa.array(np.maximum.reduceat(times, starts)).view(ts_type))


def _distinct_keys(t: ir.Table, shared: np.ndarray) -> int:
    """Distinct basket keys (``_basket``) among the lines of ``t`` whose key's hash is one
    of ``shared`` (the lines' own columns only: no join to the codes)."""
    hashed = t.select("_basket", _h=t._basket.hash())
    some = hashed.semi_join(ibis.memtable(pa.table({"_h": pa.array(shared)})), "_h")
    got = to_arrow(some.aggregate(_n=some._basket.nunique()))
    return int(got.column("_n")[0].as_py())


def _incidence(lists: pa.ListArray | list[pa.ListArray], n_items: int) -> sp.csr_matrix:
    """Boolean CSR incidence whose row ``b`` holds the item codes of ``lists[b]``
    (repeated codes count once; columns sorted in each row); a list of list arrays is
    read as their rows one after the other."""
    if isinstance(lists, list) and len(lists) == 1:
        lists = lists[0]
    if isinstance(lists, list):
        offsets, values = _concat_lists(lists)
    else:
        offsets = np.asarray(lists.offsets, dtype=np.int64)
        values = np.array(lists.values, dtype=np.int32)[offsets[0]:offsets[-1]]  # writable
    m = sp.csr_matrix((np.ones(len(values), dtype=bool), values, offsets - offsets[0]),
                      shape=(len(offsets) - 1, n_items))
    m.sum_duplicates()  # sorts each row's columns and merges repeats
    m.sort_indices()
    return m


def _concat_lists(lists: list[pa.ListArray]) -> tuple[np.ndarray, np.ndarray]:
    """The offsets (int64, from 0) and values (int32, writable) of the list arrays' rows
    one after the other, written once into arrays of the final size."""
    n_rows = sum(len(a) for a in lists)
    spans = [(np.asarray(a.offsets, dtype=np.int64)) for a in lists]
    n_values = sum(int(o[-1] - o[0]) for o in spans)
    offsets = np.zeros(n_rows + 1, dtype=np.int64)
    values = np.empty(n_values, dtype=np.int32)
    row = at = 0
    for a, o in zip(lists, spans, strict=True):
        lo, hi = int(o[0]), int(o[-1])
        values[at:at + hi - lo] = np.asarray(a.values, dtype=np.int32)[lo:hi]
        offsets[row + 1:row + len(a) + 1] = o[1:] - lo + at
        row, at = row + len(a), at + hi - lo
    return offsets, values
