"""Training rows above ``max_train_rows``: a seeded stratified sample drawn in the engine.

The training rows are every customer active before each origin, one row per (customer,
origin). Which rows the sample takes depends only on each row's key (customer, origin) and
label, so the keys are drawn first from the per-customer-day table (:func:`row_keys`: the
customers' first days and the label windows, no feature computed) and the features are
computed for the drawn rows only (:func:`sampled_rows`): the frame of every row never
exists, in the engine or in pandas. The label counts of every row are counted in one scan
of the days (:func:`label_counts`). The feature checks (does some row have a value; is the
column constant) are read from the sample when it shows two distinct values, which settles
both for every row; only the other columns need streaming aggregates over every row's
features (:func:`column_stats`, one query that keeps no row): on a large log that query,
three group-bys over every customer-day, was a sixth of the step's CPU time.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from valuemax.engines._memory import hash_pass, hash_passes
from valuemax.propensity._days import (
    DAY_BYTES_PER_LINE,
    features_from_days,
    for_customers,
    materialised,
)
from valuemax.propensity._frame import frame_columns, numeric_features


def allocate(counts: np.ndarray, size: int) -> np.ndarray:
    """Rows per class for a stratified sample of ``size``: proportional, largest remainders
    (ties to the smaller class index), at most the class's rows.

    Examples
    --------
    >>> allocate(np.array([700, 300]), 10).tolist()
    [7, 3]
    >>> allocate(np.array([2, 1]), 2).tolist()
    [1, 1]
    """
    exact = counts * size / counts.sum()
    base = np.floor(exact).astype(np.int64)
    rest = size - int(base.sum())
    order = np.lexsort((np.arange(len(counts)), -(exact - base)))
    base[order[:rest]] += 1
    return np.minimum(base, counts)


def row_keys(days: ir.Table, origins: list[_dt.date], label_days: int) -> ir.Table:
    """``customer_id``, ``_pos`` (int64: the origin's index in ``origins``) and ``label``
    (int64 0/1) of every training row, from the per-customer-day table alone.

    A customer is a row of origin ``o`` when their first purchase day (the day without a
    gap) is before ``o``; ``label`` is 1 when they have a purchase day in ``[o, o +
    label_days)``: the rows and labels of
    :func:`~valuemax.propensity._days.features_from_days` at ``o``.
    """
    d = days
    parts = []
    for k, o in enumerate(origins):
        cut, end = ibis.date(o), ibis.date(o + _dt.timedelta(label_days))
        active = d.filter(d._gap.isnull() & (d._day < cut)).select("customer_id")
        buyers = d.filter((d._day >= cut) & (d._day < end)).select(_buyer=d.customer_id)
        buyers = buyers.distinct()
        j = active.left_join(buyers, active.customer_id == buyers._buyer)
        parts.append(j.select("customer_id", _pos=ibis.literal(k, "int64"),
                              label=j._buyer.notnull().cast("int64")))
    return ibis.union(*parts)


def column_stats(parts: Callable[[ir.Table], list[ir.Table]], days: ir.Table,
                 cols: list[str], passes: int = 1) -> tuple[np.ndarray, dict[str, Any]]:
    """Non-buyers and buyers, and per column (non-missing rows, constant), over the union of
    ``parts(days)`` (streaming aggregates: count, min, max; no row kept, no distinct-value
    hash).

    With ``passes`` > 1 the aggregates run over ``parts`` of the days of each pass's
    customers (:func:`~valuemax.engines._memory.hash_pass`; the filter on the days, where
    DuckDB reads it, not above the group-bys, where it stays) and are combined (counts
    summed, the smallest minimum and the largest maximum): the same figures, each pass's
    group-bys holding its share of the customers only (at 3M customers the three origins'
    group-bys in one query ran out of the store's 1.5 GB)."""
    n = n1 = 0
    count = dict.fromkeys(cols, 0)
    lo: dict[str, Any] = dict.fromkeys(cols)
    hi: dict[str, Any] = dict.fromkeys(cols)
    for k in range(passes):
        d = days if passes == 1 else days.filter(hash_pass(days.customer_id, passes, k))
        u = ibis.union(*parts(d))
        aggs: dict[str, Any] = {"_n": u.count(), "_n1": u.label.sum()}
        for i, c in enumerate(cols):
            aggs[f"c{i}"] = u[c].count()
            aggs[f"lo{i}"] = u[c].min()
            aggs[f"hi{i}"] = u[c].max()
        got = u.aggregate(**aggs).to_pyarrow().to_pylist()[0]
        n, n1 = n + int(got["_n"]), n1 + int(got["_n1"] or 0)
        for i, c in enumerate(cols):
            count[c] += int(got[f"c{i}"])
            lo[c] = _extreme(min, lo[c], got[f"lo{i}"])
            hi[c] = _extreme(max, hi[c], got[f"hi{i}"])
    stats = {c: (count[c], lo[c] == hi[c]) for c in cols}
    return np.array([n - n1, n1], dtype=np.int64), stats


def _extreme(pick: Any, a: Any, b: Any) -> Any:
    """``pick(a, b)`` of the values that are not None (None when both are)."""
    if a is None or b is None:
        return b if a is None else a
    return pick(a, b)


def label_counts(days: ir.Table, origins: list[_dt.date], label_days: int) -> np.ndarray:
    """Training rows and buyers among them at each origin, from one scan of ``days`` (no
    group-by): the rows and labels of :func:`row_keys`, counted.

    A customer is a row of origin ``o`` when their first purchase day (the day without a
    gap) is before ``o``; a buyer when they also have a purchase day in ``[o, o +
    label_days)``. Each buyer has exactly one day in that window whose previous purchase
    day is before ``o`` (their first day in the window; it has a gap because their first
    day is before ``o``), so the buyers are counted as those days.

    Returns
    -------
    ndarray of int64 of shape (len(origins), 2)
        Per origin (as ``origins``): rows, buyers.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from valuemax.engines import connect
    >>> from valuemax.propensity._days import daily_table
    >>> con = connect(None)
    >>> tx = con.create_table("tx_counts", pa.table({
    ...     "customer_id": ["a", "a", "a", "b", "c"],
    ...     "order_ts": pa.array(["2024-01-01", "2024-01-09", "2024-01-10", "2024-01-05",
    ...                           "2024-01-09"]).cast(pa.timestamp("us")),
    ...     "amount": [1.0, 2.0, 3.0, 4.0, 5.0]}))
    >>> label_counts(daily_table(tx), [_dt.date(2024, 1, 8)], 7).tolist()
    [[2, 1]]
    """
    d = days
    aggs: dict[str, Any] = {}
    for k, o in enumerate(origins):
        cut, end = ibis.date(o), ibis.date(o + _dt.timedelta(label_days))
        aggs[f"n{k}"] = d.count(where=d._gap.isnull() & (d._day < cut))
        aggs[f"b{k}"] = d.count(where=(d._day >= cut) & (d._day < end) & d._gap.notnull()
                                & (d._gap > d._day.delta(cut, unit="day")))
    got = d.aggregate(**aggs).to_pyarrow().to_pylist()[0]
    return np.array([[int(got[f"n{k}"] or 0), int(got[f"b{k}"] or 0)]
                     for k in range(len(origins))], dtype=np.int64).reshape(-1, 2)


def sample_stats(df: pd.DataFrame, cols: list[str]) -> dict[str, tuple[bool, bool]]:
    """Per column of the sampled rows ``df``, ``(has a value, constant)`` when the sample
    settles it for every row it was drawn from: two distinct values in the sample (then
    some row has a value and the column is not constant over all rows); the other columns
    are left out (their statistics need every row: :func:`column_stats`)."""
    out = {}
    for c in cols:
        if df[c].nunique(dropna=True) >= 2:
            out[c] = (True, False)
    return out


def sampled_rows(days: ir.Table, t: ir.Table, origins: list[_dt.date], cats: tuple[str, ...],
                 label_days: int, money: bool, max_rows: int, seed: int,
                 counts: np.ndarray | None = None,
                 ) -> tuple[pd.DataFrame, np.ndarray, dict[str, Any], np.ndarray]:
    """A seeded stratified sample of ``max_rows`` training rows, their features computed in
    the engine for the drawn rows only.

    Per label, the rows with the smallest hash of ``"customer|origin index|seed"`` (ties by
    origin index, then customer), as many as the label's share of all rows
    (:func:`allocate`). The label counts of all rows are ``counts`` (per origin: rows,
    buyers; :func:`label_counts` when None); the column statistics come from the sample
    when it settles them (:func:`sample_stats`: two distinct values), else from every row
    (:func:`column_stats`, for those columns only).

    Returns
    -------
    train : pandas.DataFrame of shape (max_rows, n_columns)
        The columns of :func:`~valuemax.propensity._frame.frame_columns` and ``origin``
        (date), ordered by origin (as ``origins``) then customer.
    counts : ndarray of int64 of shape (2,)
        Non-buyers and buyers among all the training rows.
    stats : dict of str to (bool, bool)
        Per feature column, over all rows: whether some row has a value, and whether it is
        constant (one value at most).
    take : ndarray of int64 of shape (2,)
        Non-buyers and buyers drawn.
    """
    def parts(d: ir.Table) -> list[ir.Table]:
        return [features_from_days(d, t, o, categorical=cats, label_days=label_days,
                                   money=money) for o in origins]

    first = parts(days)[0].columns
    cols = [c for c in (*numeric_features(money), "product_diversity", "return_rate")
            if c in first] + list(cats)
    per_origin = label_counts(days, origins, label_days) if counts is None else counts
    n, n1 = (int(v) for v in per_origin.sum(axis=0))
    counts = np.array([n - n1, n1], dtype=np.int64)
    take = allocate(counts, max_rows)
    keys = row_keys(days, origins, label_days)
    keys = keys.mutate(_h=(keys.customer_id.cast("string") + "|" + keys._pos.cast("string")
                           + f"|{seed}").hash())
    # per label the first take[label] keys in (hash, origin, customer) order: a top-n
    # (ORDER BY ... LIMIT n keeps n rows) rather than a ROW_NUMBER() window over every
    # row, whose two partitions DuckDB holds in memory (at 3M customers, 9M rows)
    picked = ibis.union(*[
        keys.filter(keys.label == label).order_by([keys._h, keys._pos, keys.customer_id])
        .limit(int(take[label])) for label in (0, 1) if take[label] > 0])
    with materialised(picked.select("customer_id", "_pos")) as p:
        drawn = []
        for k, o in enumerate(origins):
            d_k, t_k = for_customers(days, t, p.filter(p._pos == k).select("customer_id"),
                                     cats)
            drawn.append(features_from_days(d_k, t_k, o, categorical=cats,
                                            label_days=label_days, money=money)
                         .mutate(_pos=ibis.literal(k, "int64")))
        df = ibis.union(*drawn).order_by(["_pos", "customer_id"]).to_pyarrow().to_pandas()
    stats = sample_stats(df, cols)
    rest = [c for c in cols if c not in stats]
    if rest:
        # a customer's features are a function of that customer's days: the passes of the
        # per-customer-day table give every row once
        _, full = column_stats(parts, days, rest, hash_passes(days, DAY_BYTES_PER_LINE))
        stats.update({c: (full[c][0] > 0, full[c][1]) for c in rest})
    filled = {c: stats[c][0] for c in ("product_diversity", "return_rate") if c in stats}
    keep = frame_columns(df, categorical=cats, label=True, money=money, filled=filled)
    train = df[keep].assign(origin=[origins[k] for k in df["_pos"].to_numpy()])
    return train.reset_index(drop=True), counts, stats, take
