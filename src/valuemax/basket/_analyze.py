"""``analyze_baskets``: baskets, rules, recommendations and their evaluation in one call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from valuemax._core.exceptions import InputError
from valuemax.basket._baskets import Baskets
from valuemax.basket._coded import build_coded
from valuemax.basket._evaluate import evaluate_training, training_baskets
from valuemax.basket._mine import RuleSet, mine_rules
from valuemax.basket._recommend import recommend
from valuemax.basket._thresholds import resolve_thresholds
from valuemax.clean import CleanResult

#: Items shown in the item-association (lift) matrix.
TOP_ITEMS = 15


@dataclass(frozen=True)
class BasketResult:
    """What :func:`analyze_baskets` returns.

    Attributes
    ----------
    baskets : dict
        :meth:`Baskets.summary` (n_baskets, n_items, kind, item_column, sizes).
    rule_set : RuleSet
        Frequent itemsets and rules.
    recommendations : pandas.DataFrame
        :func:`recommend` for every customer (customer_id, rank, item, score, source).
    evaluation : dict or None
        :func:`evaluate_recommendations`, None when not run (reason in ``notes``).
    thresholds : dict
        The thresholds used, with ``reason`` (chosen from the data or given).
    item_names : dict of str to str
        Product name of each item when the items are product ids and the log has names
        (the smallest name of the id), else empty.
    item_lift : pandas.DataFrame
        Lift between the most frequent items (square, labels as index and columns; NaN on the
        diagonal and where the pair never occurs together).
    notes : tuple of str
        Decisions and skipped steps.
    """

    baskets: dict[str, Any]
    rule_set: RuleSet
    recommendations: pd.DataFrame
    evaluation: dict[str, Any] | None
    thresholds: dict[str, Any]
    item_lift: pd.DataFrame = field(default_factory=pd.DataFrame)
    item_names: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (the ``basket`` entry of summary.json)."""
        ev = self.evaluation or {}
        th = {k: v for k, v in self.thresholds.items()}
        return {"n_baskets": self.baskets["n_baskets"], "n_items": self.baskets["n_items"],
                "basket_kind": self.baskets["kind"], "item_column": self.baskets["item_column"],
                "n_itemsets": len(self.rule_set.itemsets), "n_rules": len(self.rule_set.rules),
                "thresholds": th,
                "n_recommendations": len(self.recommendations),
                "hit_rate_at_n": ev.get("hit_rate_at_n"),
                "baseline_hit_rate_at_n": ev.get("baseline_hit_rate_at_n"),
                "recall_at_n": ev.get("recall_at_n"),
                "baseline_recall_at_n": ev.get("baseline_recall_at_n"),
                "evaluation": {k: v for k, v in ev.items() if k != "thresholds"} or None,
                "notes": [*self.notes, *self.rule_set.notes]}


def item_lift(baskets: Baskets, top: int = TOP_ITEMS) -> pd.DataFrame:
    """Lift ``N · n_ij / (n_i · n_j)`` among the ``top`` items in most baskets.

    Parameters
    ----------
    baskets : Baskets
    top : int
        Number of items.

    Returns
    -------
    pandas.DataFrame of shape (top, top)
        NaN on the diagonal and for pairs never bought together.
    """
    counts = baskets.item_counts()
    idx = np.argsort(-counts, kind="stable")[:top]
    x = baskets.matrix[:, idx].astype(np.float64)
    co = np.asarray((x.T @ x).todense())
    ci = counts[idx].astype(float)
    lift = baskets.n_baskets * co / np.outer(ci, ci)
    lift[co == 0] = np.nan
    np.fill_diagonal(lift, np.nan)
    names = [baskets.items[i] for i in idx]
    return pd.DataFrame(lift, index=names, columns=names)


def _item_names(transactions: Any) -> tuple[dict[str, str], str | None]:
    """Each product code's name, the first in sort order (as the dashboard and the scoring
    API name them), and a note naming the codes sold under several names, if any."""
    t = transactions.filter(transactions.product_id.notnull()
                            & transactions.product_name.notnull())
    # names stripped of surrounding blanks: "WHITE MUG " is not a second name of a code
    got = (t.group_by(item=t.product_id.cast("string"),
                      name=t.product_name.cast("string").strip())
           .aggregate(lines=t.count()).to_pyarrow().to_pandas())
    got = got.sort_values(["item", "name"], ignore_index=True)
    first = got.drop_duplicates("item")
    names = dict(zip(first["item"], first["name"], strict=True))
    several = got["item"].duplicated(keep=False)
    if not several.any():
        return names, None
    codes = got.loc[several, "item"].unique()
    shown = []
    for code in codes[:3]:
        rows = got[got["item"] == code]
        shown.append(f"{code}: " + ", ".join(
            f"{n!r} on {k:,} line{'' if k == 1 else 's'}"
            for n, k in zip(rows["name"], rows["lines"], strict=True)))
    more = f"; {len(codes) - 3:,} more" if len(codes) > 3 else ""
    return names, (f"{len(codes):,} product {'code carries' if len(codes) == 1 else 'codes carry'} "
                   f"several names in the log ({'; '.join(shown)}{more}); rules, "
                   "recommendations, the report and the dashboard show each code under the "
                   "first of its names in sort order.")


def analyze_baskets(transactions: CleanResult | ir.Table, *, min_support: float | None = None,
                    min_confidence: float | None = None, min_lift: float | None = None,
                    max_len: int | None = None, n_recommendations: int = 5,
                    evaluate: bool = True, random_state: int | None = 0,
                    item: str = "auto") -> BasketResult:
    """The main job's cross-sell step: baskets, rules, recommendations, evaluation.

    Thresholds left None come from :func:`choose_thresholds` (stated in
    ``thresholds["reason"]``). Recommendations come from :func:`recommend` on all the data;
    the evaluation from :func:`evaluate_recommendations` with the same thresholds rule
    (chosen again on the training period when not given).

    Parameters
    ----------
    transactions : CleanResult or ibis.Table
        The result of :func:`valuemax.clean.clean`, or a plain table of clean transactions,
        with a product column (as in :func:`build_baskets`: no row check for either).
    min_support, min_confidence, min_lift : float or None
        See :func:`mine_rules`; None: chosen from the data.
    max_len : int or None
        Longest itemset; None: 3 (the chosen default).
    n_recommendations : int, default 5
        Items per customer.
    evaluate : bool, default True
        Run the holdout evaluation.
    random_state : int or None, default 0
        Accepted for the pipeline's uniform call; nothing in this step is random.
    item : str, default "auto"
        Item column, as in :func:`build_baskets`.

    Returns
    -------
    BasketResult

    Raises
    ------
    InputError
        If there is no product column or a threshold is invalid.
    """
    del random_state
    if isinstance(transactions, CleanResult):
        transactions = transactions.transactions
    baskets = build_coded(transactions, item=item)  # integer codes only, no basket ids
    notes = list(baskets.notes)
    given = {"min_support": min_support, "min_confidence": min_confidence,
             "min_lift": min_lift, "max_len": max_len}
    th = resolve_thresholds(baskets, **given)
    rs = mine_rules(baskets, min_support=th["min_support"], min_confidence=th["min_confidence"],
                    min_lift=th["min_lift"], max_len=th["max_len"])
    th["min_count"] = rs.thresholds["min_count"]
    recs = recommend(rs, baskets, n=n_recommendations)
    # what the result needs of all the baskets, taken now: they are freed once the
    # evaluation has its training baskets (at 10M baskets, ~0.5 GB of per-basket arrays)
    summary, lift = baskets.summary(), item_lift(baskets)
    n_baskets, n_items = baskets.n_baskets, baskets.n_items
    together = int((baskets.basket_sizes() > 1).sum()) > 0
    evaluation = None
    if evaluate:
        try:
            ev_th = None if any(v is None for v in given.values()) else {
                k: th[k] for k in given}
            split, train = training_baskets(transactions, baskets)
            del baskets
            evaluation = evaluate_training(transactions, train, split, n=n_recommendations,
                                           thresholds=ev_th)
        except InputError as exc:
            notes.append(f"holdout evaluation skipped: {exc}")
    else:
        notes.append("holdout evaluation skipped: evaluate=False.")
    if len(recs) == 0 and together:
        # products were bought together, but each customer already has every product that
        # goes with theirs: nothing new to suggest
        notes.append("no recommendation: every product bought together with a customer's "
                     "products is one they already bought "
                     f"({n_baskets:,} baskets, {n_items:,} products); the "
                     "hit rates compare nothing.")
    elif len(recs) == 0:
        notes.append("no recommendation: no two products were ever bought in one basket "
                     f"({n_baskets:,} baskets), so there are neither rules nor "
                     "co-occurrences to recommend from; the hit rates compare nothing.")
    elif len(rs.rules) == 0:
        notes.append("no rule passed the thresholds; recommendations come from co-occurrence.")
    names: dict[str, str] = {}
    if summary["item_column"] == "product_id" and "product_name" in transactions.columns:
        names, note = _item_names(transactions)
        if note:
            notes.append(note)
    return BasketResult(baskets=summary, rule_set=rs, recommendations=recs,
                        evaluation=evaluation, thresholds=th, item_lift=lift,
                        item_names=names, notes=tuple(notes))
