"""Time-based holdout evaluation of the cross-sell recommender against popularity."""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from valuemax._core.exceptions import InputError
from valuemax.basket._baskets import Baskets, build_baskets, split_baskets
from valuemax.basket._coded import build_coded
from valuemax.basket._mine import mine_rules
from valuemax.basket._recommend import customer_items, recommend_codes, top_n_dense
from valuemax.basket._thresholds import choose_thresholds
from valuemax.engines import to_arrow

#: Share of baskets left after the default split date.
HOLDOUT_SHARE = 0.2
#: Customers scored at a time by the popularity baseline.
_CHUNK = 4096


def popularity(baskets: Baskets, n: int, *, exclude_bought: bool = True) -> pd.DataFrame:
    """Baseline: the ``n`` items in most baskets that the customer has not bought.

    Parameters
    ----------
    baskets : Baskets
        With ``customer_ids``.
    n : int
        Items per customer.
    exclude_bought : bool, default True
        Skip items the customer has bought.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``rank``, ``item``, ``score`` (baskets holding the item).
    """
    custs, hist = customer_items(baskets)
    return _popularity_for(baskets, custs, hist, n, exclude_bought=exclude_bought)


def _popularity_for(baskets: Baskets, custs: np.ndarray, hist: sp.csr_matrix, n: int, *,
                    exclude_bought: bool = True) -> pd.DataFrame:
    """:func:`popularity` for the customers ``custs`` (rows of ``hist``) only.

    Items rank by baskets holding them (ties: the earlier item), the same order for every
    customer, so a customer's ``n`` items lie among the first ``n + (items bought)`` of
    that order: each chunk of customers is scored on those columns only (same result as
    scoring every item, without a dense customer × item table).
    """
    r, c = _popularity_codes(baskets, hist, n, exclude_bought=exclude_bought)
    pop = baskets.item_counts().astype(float)
    out = pd.DataFrame({"customer_id": custs[r], "item": np.asarray(baskets.items,
                                                                    dtype=object)[c],
                        "score": pop[c]})
    out.insert(1, "rank", out.groupby("customer_id").cumcount().to_numpy() + 1)
    return out


def _popularity_codes(baskets: Baskets, hist: sp.csr_matrix, n: int, *,
                      exclude_bought: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_popularity_for` as positions: (row of ``hist``, column of the items) of each
    suggestion, sorted by row and rank."""
    pop = baskets.item_counts().astype(float)
    order = np.lexsort((np.arange(len(pop)), -pop))  # most baskets first, then item order
    sizes = np.diff(hist.indptr)
    rows, cols = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    for start in range(0, hist.shape[0], _CHUNK):
        h = hist[start:start + _CHUNK]
        width = min(len(pop), n + (int(sizes[start:start + _CHUNK].max(initial=0))
                                   if exclude_bought else 0))
        cand = order[:width]
        # rank 1 for the most popular candidate: larger is better, all positive
        base = np.arange(width, 0, -1, dtype=float)
        r, c, _ = top_n_dense(np.broadcast_to(base, (h.shape[0], width)).copy(),
                              h[:, cand], n, exclude=exclude_bought)
        rows.append(r + start)
        cols.append(cand[c])
    return np.concatenate(rows), np.concatenate(cols)


def _scores(rec_rows: np.ndarray, rec_items: np.ndarray, target_keys: np.ndarray,
            n_target: np.ndarray, n_items: int) -> tuple[float, float]:
    """Hit rate and recall of suggestions (row of the evaluated customers, item) against
    the sorted keys ``row * n_items + item`` of the targets; ``n_target`` per row."""
    keys = rec_rows * n_items + rec_items
    if len(target_keys):
        at = np.minimum(np.searchsorted(target_keys, keys), len(target_keys) - 1)
        hit = target_keys[at] == keys
    else:
        hit = np.zeros(len(keys), dtype=bool)
    hits = pd.Series(np.bincount(rec_rows[hit], minlength=len(n_target)).astype(np.int64))
    n_t = pd.Series(n_target.astype(np.int64))
    return float((hits > 0).mean()), float((hits / n_t).mean())


def _positions(values: pa.ChunkedArray | pa.Array, labels: np.ndarray) -> np.ndarray:
    """Position of each of ``values`` in the distinct ``labels`` (-1 when absent), as
    ``pandas.Index(labels).get_indexer(values)``; text labels are looked up in Arrow."""
    try:
        vs = pa.array(labels, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pd.Index(labels).get_indexer(values.to_numpy(zero_copy_only=False))
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    got = pc.index_in(values.cast(pa.string()), value_set=vs)
    return np.asarray(got.fill_null(-1), dtype=np.int64)


def _default_split(baskets: Baskets) -> dt.date:
    dates = baskets.basket_dates.astype("datetime64[D]")
    k = int(np.floor((1.0 - HOLDOUT_SHARE) * (len(dates) - 1)))
    at = np.partition(dates, k)[k]  # the k-th of the sorted dates, without sorting them
    split = pd.Timestamp(at).date()
    if split <= pd.Timestamp(dates.min()).date():
        split = split + dt.timedelta(days=1)
    return split


def evaluate_recommendations(transactions: ir.Table, *, split_date: dt.date | str | None = None,
                             n: int = 5, thresholds: dict[str, Any] | None = None,
                             item: str = "auto") -> dict[str, Any]:
    """Hit rate and recall at ``n`` of :func:`recommend` and of popularity on a later period.

    Lines before ``split_date`` train: baskets, rules (``thresholds``, else
    :func:`choose_thresholds` on the training baskets) and the co-occurrence. Lines from
    ``split_date`` on are the test. Evaluated customers bought before and after the split,
    and bought after it at least one item they had not bought before (their *target*: those
    new items). For each, ``n`` items are recommended from the training data only:

    - hit rate@n = share of evaluated customers with at least one target item among the n,
    - recall@n = mean over them of |recommended ∩ target| / |target|,

    for the recommender and the popularity baseline (the ``n`` items in most training
    baskets not yet bought by the customer).

    Parameters
    ----------
    transactions : ibis.Table
        Clean transactions (``customer_id``, ``order_ts``, a product column).
    split_date : date, str 'YYYY-MM-DD' or None
        First day of the test period; default the basket date leaving about the last 20 %
        of baskets after it.
    n : int, default 5
        Recommendations per customer.
    thresholds : dict or None
        Keyword arguments of :func:`mine_rules` (``reason``/``min_count`` are ignored).
    item : str, default "auto"
        Item column, as in :func:`build_baskets`.

    Returns
    -------
    dict
        ``split_date`` (ISO), ``n``, ``n_customers_evaluated``, ``n_train_baskets``,
        ``n_rules``, ``hit_rate_at_n``, ``recall_at_n``, ``baseline_hit_rate_at_n``,
        ``baseline_recall_at_n``, ``thresholds``, ``definition``.

    Raises
    ------
    InputError
        If no customer can be evaluated (no repeat buyer buying something new after the
        split) or the split leaves an empty side.
    """
    return evaluate_with(transactions, build_baskets(transactions, item=item),
                         split_date=split_date, n=n, thresholds=thresholds)


def evaluate_with(transactions: ir.Table, allb: Baskets, *,
                  split_date: dt.date | str | None = None, n: int = 5,
                  thresholds: dict[str, Any] | None = None) -> dict[str, Any]:
    """:func:`evaluate_recommendations` given ``allb = build_baskets(transactions)``.

    The training baskets are cut from ``allb`` when no basket spans the split
    (:func:`~valuemax.basket._baskets.split_baskets`), else built from the training lines;
    only the evaluated customers are scored. Same result as
    :func:`evaluate_recommendations`; arguments and errors as there.
    """
    split, tb = training_baskets(transactions, allb, split_date)
    return evaluate_training(transactions, tb, split, n=n, thresholds=thresholds)


def training_baskets(transactions: ir.Table, allb: Baskets,
                     split_date: dt.date | str | None = None) -> tuple[dt.date, Baskets]:
    """The split date (``split_date``, else :func:`_default_split`) and the baskets of the
    lines before it, cut from ``allb`` when no basket spans it, else built from those
    lines: the first half of :func:`evaluate_with`, after which ``allb`` is not needed
    (the main job frees it before scoring).

    Raises
    ------
    InputError
        If no line is before the split.
    """
    split = (_default_split(allb) if split_date is None
             else pd.Timestamp(split_date).date())
    tb = split_baskets(transactions, allb, split)
    if tb is None:
        train = transactions.filter(transactions.order_ts < split)
        try:
            tb = build_coded(train, item=allb.item_column)  # the order of baskets is not used
        except InputError as exc:
            raise InputError(f"evaluate_recommendations: no training line before {split}: "
                             f"{exc}") from exc
    return split, tb


def evaluate_training(transactions: ir.Table, tb: Baskets, split: dt.date, *, n: int = 5,
                      thresholds: dict[str, Any] | None = None) -> dict[str, Any]:
    """The second half of :func:`evaluate_with`: the lines from ``split`` on against the
    lists from the training baskets ``tb`` (:func:`training_baskets`). Returns as
    :func:`evaluate_recommendations`; raises InputError when no customer can be
    evaluated."""
    test = transactions.filter(transactions.order_ts >= split)
    col = tb.item_column
    pairs = to_arrow(test.filter(test[col].notnull())
                     .select(customer_id=test.customer_id.cast("string"),
                             item=test[col].cast("string")).distinct())
    custs, hist = customer_items(tb)
    # target: (customer, item) pairs after the split of training customers, not bought
    # before (an item never sold before the split counts in the target, never as a hit)
    ci = _positions(pairs.column("customer_id"), custs)
    ii = _positions(pairs.column("item"), np.asarray(tb.items, dtype=object))
    known = np.zeros(len(ci), dtype=bool)
    both = (ci >= 0) & (ii >= 0)
    known[both] = np.asarray(hist[ci[both], ii[both]]).ravel()
    new_item = (ci >= 0) & ~known
    if not new_item.any():
        raise InputError(f"evaluate_recommendations: no customer bought before {split} and "
                         "bought a new item after it; nothing to evaluate. Pick another "
                         "split_date.")
    # the evaluated customers, in customer order (codes follow the sorted ids)
    sel, row = np.unique(ci[new_item], return_inverse=True)
    n_target = np.bincount(row, minlength=len(sel))
    p = len(tb.items)
    t_item = ii[new_item]
    target_keys = np.sort(row[t_item >= 0].astype(np.int64) * p + t_item[t_item >= 0])
    th = dict(thresholds) if thresholds else choose_thresholds(tb)
    kw = {k: v for k, v in th.items() if k not in ("reason", "min_count")}
    rs = mine_rules(tb, **kw)
    # only the evaluated customers are scored (each list depends on its own history only)
    h_sel = hist[sel]
    r_rows, r_items, *_ = recommend_codes(rs, tb, h_sel, n=n)
    hr, rc = _scores(r_rows, r_items, target_keys, n_target, p)
    b_rows, b_items = _popularity_codes(tb, h_sel, n)
    bhr, brc = _scores(b_rows, b_items, target_keys, n_target, p)
    return {"split_date": split.isoformat(), "n": n,
            "n_customers_evaluated": len(sel), "n_train_baskets": tb.n_baskets,
            "n_rules": len(rs.rules), "hit_rate_at_n": hr, "recall_at_n": rc,
            "baseline_hit_rate_at_n": bhr, "baseline_recall_at_n": brc,
            "thresholds": {k: v for k, v in th.items() if k != "reason"},
            "definition": ("customers who bought before and after split_date and bought a new "
                           "item after it; target = items bought after the split and never "
                           "before; baseline = most popular training items not yet bought")}
