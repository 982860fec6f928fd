"""Time-based holdout evaluation of the cross-sell recommender against popularity."""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from valuemax._core.exceptions import InputError
from valuemax.basket._baskets import Baskets, build_baskets
from valuemax.basket._mine import mine_rules
from valuemax.basket._recommend import customer_items, recommend, top_n_dense
from valuemax.basket._thresholds import choose_thresholds

#: Share of baskets left after the default split date.
HOLDOUT_SHARE = 0.2


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
    pop = baskets.item_counts().astype(float)
    # tiny tie-break so equal counts rank by item order, like a stable sort
    base = pop - np.arange(len(pop)) * 1e-9
    rows, cols, vals = [], [], []
    for start in range(0, hist.shape[0], 512):
        h = hist[start:start + 512]
        r, c, v = top_n_dense(np.tile(base, (h.shape[0], 1)), h, n, exclude=exclude_bought)
        rows.append(r + start)
        cols.append(c)
        vals.append(v)
    r, c = np.concatenate(rows), np.concatenate(cols)
    out = pd.DataFrame({"customer_id": custs[r], "item": np.asarray(baskets.items,
                                                                    dtype=object)[c],
                        "score": pop[c]})
    out.insert(1, "rank", out.groupby("customer_id").cumcount().to_numpy() + 1)
    return out


def _scores(recs: pd.DataFrame, target: pd.DataFrame, n_target: pd.Series) -> tuple[float,
                                                                                     float]:
    hits = recs.merge(target, on=["customer_id", "item"]).groupby("customer_id").size()
    hits = hits.reindex(n_target.index, fill_value=0)
    return float((hits > 0).mean()), float((hits / n_target).mean())


def _default_split(baskets: Baskets) -> dt.date:
    dates = np.sort(baskets.basket_dates.astype("datetime64[D]"))
    at = dates[int(np.floor((1.0 - HOLDOUT_SHARE) * (len(dates) - 1)))]
    split = pd.Timestamp(at).date()
    if split <= pd.Timestamp(dates[0]).date():
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
    allb = build_baskets(transactions, item=item)
    split = (_default_split(allb) if split_date is None
             else pd.Timestamp(split_date).date())
    ts = transactions.order_ts
    train = transactions.filter(ts < split)
    test = transactions.filter(ts >= split)
    col = allb.item_column
    try:
        tb = build_baskets(train, item=col)
    except InputError as exc:
        raise InputError(f"evaluate_recommendations: no training line before {split}: "
                         f"{exc}") from exc
    pairs = (test.filter(test[col].notnull())
             .select(customer_id=test.customer_id.cast("string"),
                     item=test[col].cast("string")).distinct()
             .to_pyarrow().to_pandas())
    custs, hist = customer_items(tb)
    known = pd.DataFrame({"customer_id": custs[hist.tocoo().row],
                          "item": np.asarray(tb.items, dtype=object)[hist.tocoo().col],
                          "_old": True})
    pairs = pairs[pairs["customer_id"].isin(set(custs))]
    pairs = pairs.merge(known, on=["customer_id", "item"], how="left")
    target = pairs[pairs["_old"].isna()][["customer_id", "item"]]
    n_target = target.groupby("customer_id").size()
    if len(n_target) == 0:
        raise InputError(f"evaluate_recommendations: no customer bought before {split} and "
                         "bought a new item after it; nothing to evaluate. Pick another "
                         "split_date.")
    th = dict(thresholds) if thresholds else choose_thresholds(tb)
    kw = {k: v for k, v in th.items() if k not in ("reason", "min_count")}
    rs = mine_rules(tb, **kw)
    ev = set(n_target.index)
    recs = recommend(rs, tb, n=n)
    recs = recs[recs["customer_id"].isin(ev)]
    pop = popularity(tb, n)
    pop = pop[pop["customer_id"].isin(ev)]
    hr, rc = _scores(recs, target, n_target)
    bhr, brc = _scores(pop, target, n_target)
    return {"split_date": split.isoformat(), "n": n,
            "n_customers_evaluated": len(n_target), "n_train_baskets": tb.n_baskets,
            "n_rules": len(rs.rules), "hit_rate_at_n": hr, "recall_at_n": rc,
            "baseline_hit_rate_at_n": bhr, "baseline_recall_at_n": brc,
            "thresholds": {k: v for k, v in th.items() if k != "reason"},
            "definition": ("customers who bought before and after split_date and bought a new "
                           "item after it; target = items bought after the split and never "
                           "before; baseline = most popular training items not yet bought")}
