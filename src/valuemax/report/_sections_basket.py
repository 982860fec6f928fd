"""Report section "What sells together": rules, item associations, cross-sell, holdout."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from valuemax.report import _plots as plots
from valuemax.report import _plots_basket as plots_basket
from valuemax.report._format import count, fmt_num, fmt_pct, plain
from valuemax.report._html import (
    diagnostics,
    figure,
    kv,
    note,
    notes_list,
    plain_text,
    section,
    split_notes,
    sub,
    table,
)
from valuemax.report._sections_data import skip_note

if TYPE_CHECKING:  # type only: the report renders the pipeline's record, never imports it
    from valuemax.basket import BasketResult
    from valuemax.pipeline import AnalysisResult

Subs = list[tuple[str, str]]

#: Rules shown in the page (the CSV has them all).
TOP_RULES = 30
#: Suggestions listed per segment.
TOP_PER_SEGMENT = 5
RULE_SHOW = ("rule", "count", "support", "confidence", "lift", "leverage", "conviction_shown")


#: Longest product name drawn on a heat-map axis (longer ones end in "…"; hover shows all).
AXIS_NAME_CHARS = 28


def _named(items: tuple[str, ...] | str, names: dict[str, str]) -> str:
    """Items by their product names (the code when the log has no name for it)."""
    seq = (items,) if isinstance(items, str) else items
    return " | ".join(str(names.get(x, x)) for x in seq)


def axis_names(items: list[str], names: dict[str, str]) -> list[str]:
    """Short, distinct axis labels: product names cut to :data:`AXIS_NAME_CHARS`.

    Runs of blanks are closed up (as the plot draws them). Two items whose cut names would
    be equal get their code appended, so no two heat-map rows merge.
    """
    def cut(text: str) -> str:
        return text if len(text) <= AXIS_NAME_CHARS else text[:AXIS_NAME_CHARS - 1] + "…"

    short = [cut(" ".join(str(names.get(x, x)).split())) for x in items]
    seen = pd.Series(short).duplicated(keep=False).tolist()
    return [f"{s} ({x})" if dup else s for s, x, dup in zip(short, items, seen, strict=True)]


def _conviction(v: Any) -> str:
    v = float(v)
    return "∞" if math.isinf(v) and v > 0 else fmt_num(v)


def basket_section(result: AnalysisResult, *,
                   title: str = "What sells together") -> tuple[str, Subs]:
    """Section "What sells together" from ``result.basket`` (a BasketResult or None).

    Parameters
    ----------
    result : valuemax.AnalysisResult
        Reads ``basket`` (``valuemax.basket.BasketResult`` or None; then a visible note with
        the reason of ``result.stages["basket"]``) and ``customers`` (``customer_id``,
        ``segment``) for the suggestions per segment.

    Returns
    -------
    tuple of (str, list of (anchor, title))
        The section's HTML and its sub-section anchors for the table of contents.
    """
    lead = ("Which products are bought in the same basket (association rules mined with "
            "FP-growth), and which products to suggest to each customer: the rules whose "
            "antecedent the customer has bought, then item-to-item co-occurrence. These are "
            "associations in past baskets, not causes.")
    res = result.basket
    if res is None:
        lead = ("Which products are bought in the same basket would be shown here; the "
                "basket analysis did not run on this log.")
        body = skip_note(result.stages["basket"], "basket", "rules", what="Basket analysis did not run",
                         default="no basket result was recorded for this run (the log needs "
                                 "a product column).")
        return section("basket", title, lead, body), []
    names = dict(res.item_names)
    parts: list[str] = [sub("bsk-overview", "Baskets and thresholds")]
    subs: Subs = [("bsk-overview", "Baskets and thresholds")]
    diag: list[str] = []
    parts.append(_overview(res, diag))
    parts.append(sub("bsk-rules", "Top rules"))
    subs.append(("bsk-rules", "Top rules"))
    parts.append(_rules(res, names))
    parts.append(sub("bsk-assoc", "Item associations"))
    subs.append(("bsk-assoc", "Item associations"))
    parts.append(_assoc(res, names))
    parts.append(sub("bsk-segments", "Cross-sell suggestions per segment"))
    subs.append(("bsk-segments", "Suggestions per segment"))
    parts.append(_per_segment(res, result.customers, names))
    parts.append(sub("bsk-eval", "Holdout evaluation"))
    subs.append(("bsk-eval", "Holdout evaluation"))
    parts.append(_evaluation(res))
    parts.append(diagnostics(diag, what="how the rules were mined"))
    return section("basket", title, lead, "".join(parts)), subs


def _overview(res: BasketResult, diag: list[str]) -> str:
    b = dict(res.baskets)
    th = dict(res.thresholds)
    rs = res.rule_set
    reason, raw = plain_text(th.get("reason"), fallback=(
        "from the data, so that the frequent itemsets stay few enough to read (the exact "
        "rule is in the Model diagnostics part below)"))
    pairs = [("baskets", b.get("n_baskets")), ("a basket is", {
        "order": "an order (order number)", "customer-day": "a customer's purchases on one day",
        "file": "a line of the basket file"}.get(b.get("kind"), b.get("kind"))),
        ("items", f"{b.get('n_items', 0):,} distinct " + {
            "product_id": "product codes", "product_name": "product names"}.get(
            str(b.get("item_column")), plain(b.get("item_column")))),
        ("mean items per basket", b.get("mean_basket_size")),
        ("single-item baskets (counted in every support)", b.get("single_item_baskets")),
        ("min support", f"{th.get('min_support')} (at least {th.get('min_count', 0):,} "
                        "baskets)"),
        ("min confidence", th.get("min_confidence")), ("min lift", th.get("min_lift")),
        ("max itemset length", th.get("max_len")),
        ("frequent itemsets", len(rs.itemsets)), ("rules", len(rs.rules)),
        ("how thresholds were chosen", reason)]
    shown, technical = split_notes(list(res.notes) + list(rs.notes))
    diag.append(notes_list(([raw] if raw else []) + technical, title="Mining notes"))
    return kv(pairs) + notes_list(shown, title="Notes")


def _rules(res: BasketResult, names: dict[str, str]) -> str:
    rules = res.rule_set.rules
    if len(rules) == 0:
        return note("No rule passed the thresholds: the suggestions below come from "
                    "co-occurrence only. To see rules, mine the same log with lower "
                    "thresholds: valuemax rules LOG --min-support S --min-confidence C "
                    "(analyze chooses them from the data).")
    df = rules.copy()
    df["antecedents"] = df["antecedents"].map(lambda x: " | ".join(x))
    df["consequents"] = df["consequents"].map(lambda x: " | ".join(x))
    shown = df.iloc[:TOP_RULES]
    extra = {"conviction_shown": [_conviction(v) for v in shown["conviction"]]}
    conv = df["conviction"].astype(float)
    df["conviction"] = conv.where(np.isfinite(conv))  # the CSV: an empty cell, as rules.csv
    show = list(RULE_SHOW)
    if names:  # product names in the page; the CSV keeps the codes and the names
        df["products"] = [f"{_named(a, names)} → {_named(c, names)}" for a, c in
                          zip(rules["antecedents"], rules["consequents"], strict=True)]
        show[0] = "products"
    return table(df, csv_name="rules", show=show, extra=extra, max_rows=TOP_RULES,
                 percent=("support", "confidence", "antecedent_support",
                          "consequent_support"),
                 labels={"conviction_shown": "conviction", "zhangs_metric": "Zhang",
                         "count": "baskets", "products": "rule"},
                 caption=("Rules A → C with the highest lift. support: share of baskets "
                          "holding A and C; confidence: share of the baskets with A that "
                          "also hold C; lift: how many times more likely C is with A than "
                          "overall (1 = independent); leverage: supp(AC) − supp(A)·supp(C); "
                          "conviction: (1 − supp(C)) / (1 − confidence), ∞ when confidence "
                          "is 1 (an empty cell in the CSV). The CSV adds Zhang's metric and the "
                          "supports of A and C."))


def _assoc(res: BasketResult, names: dict[str, str]) -> str:
    lift = res.item_lift
    if lift.empty:
        return note("No item-association view: no item lift was computed.")
    codes = [str(x) for x in lift.index]
    labels = axis_names(codes, names)
    hover = [f"{names[x]} ({x})" if x in names else x for x in codes]
    fig = plots_basket.lift_heatmap(lift.to_numpy(dtype=float), labels, hover=hover)
    if fig is None:
        return note("No item-association view: none of the most frequent items are ever "
                    "bought together.")
    return figure(fig, f"Lift between the {len(labels)} items in the most baskets (number in "
                       "each cell; colour on a log scale): red pairs are bought together more "
                       "often than chance (lift > 1), blue less often; blank cells never "
                       "occur together." + (" Hover for the full product names and codes."
                                            if names else ""))


def suggestions_by_segment(rec: pd.DataFrame, customers: pd.DataFrame, *,
                           top: int = TOP_PER_SEGMENT) -> tuple[pd.DataFrame, int]:
    """The items suggested to most customers of each segment, with integer codes and numpy
    counts (no per-group Python: 5 million suggestion rows in about a second).

    Parameters
    ----------
    rec : pandas.DataFrame of shape (n_suggestions, >= 3)
        ``customer_id``, ``item``, ``source`` (``"rule"`` or another origin): one row per
        suggestion (basket's ``recommendations``).
    customers : pandas.DataFrame of shape (n_customers, >= 2)
        ``customer_id`` (unique) and ``segment``; ids are matched as text.
    top : int, default :data:`TOP_PER_SEGMENT`
        Items listed per segment.

    Returns
    -------
    (pandas.DataFrame, int)
        One row per segment of a suggested customer, in segment order (a customer with no
        segment, or absent from ``customers``, is in ``"(no segment)"``):
        ``customers_with_suggestions`` (distinct customers), ``rule_share`` (share of the
        segment's suggestion rows that come from a rule), ``items`` and ``item_customers``
        (its ``top`` items by distinct customers, most first, ties by item); and the most
        suggestions any one customer has.
    """
    cust_code, cust_ids = pd.factorize(rec["customer_id"])
    ids = pd.Index(customers["customer_id"].astype("string"))
    at = ids.get_indexer(pd.Index(cust_ids).astype("string"))  # -1: not in the table
    labels = customers["segment"].astype("object").to_numpy()[np.maximum(at, 0)]
    labels = np.where((at >= 0) & pd.notna(labels), labels, "(no segment)").astype(object)
    seg_of_cust, seg_names = pd.factorize(labels, sort=True)
    seg = seg_of_cust[cust_code]
    item_code, items = pd.factorize(rec["item"], sort=True)
    n_items = max(len(items), 1)
    # distinct (customer, item) pairs, each counted once in its customer's segment
    pair = pd.unique(cust_code.astype(np.int64) * n_items + item_code)
    pair_cust, pair_item = pair // n_items, pair % n_items
    key_code, key = pd.factorize(seg_of_cust[pair_cust].astype(np.int64) * n_items + pair_item)
    key = np.asarray(key)
    n_cust = np.bincount(key_code)
    key_seg, key_item = key // n_items, key % n_items
    order = np.lexsort((key_item, -n_cust, key_seg))
    first = np.searchsorted(key_seg[order], key_seg[order], side="left")
    keep = order[np.arange(order.size) - first < top]
    rule = (rec["source"] == "rule").to_numpy(dtype=float)
    rows = np.bincount(seg, minlength=len(seg_names))
    frame = pd.DataFrame({
        "segment": seg_names,
        "customers_with_suggestions": np.bincount(seg_of_cust, minlength=len(seg_names)),
        "rule_share": np.bincount(seg, weights=rule, minlength=len(seg_names)) / rows,
        "items": [list(items[key_item[keep][key_seg[keep] == i]])
                  for i in range(len(seg_names))],
        "item_customers": [n_cust[keep][key_seg[keep] == i].tolist()
                           for i in range(len(seg_names))]})
    return frame, int(np.bincount(cust_code).max())


def _per_segment(res: BasketResult, customers: pd.DataFrame, names: dict[str, str]) -> str:
    rec = res.recommendations
    if rec is None or len(rec) == 0:
        return note("No suggestion: no customer has an item to suggest.")
    if not {"customer_id", "segment"} <= set(customers.columns):
        return note("No suggestions per segment: the customer table has no segment column; "
                    "the recommendations table lists the suggestions per customer.")
    by, most = suggestions_by_segment(rec, customers)
    rows = [{"segment": s, "customers_with_suggestions": int(n), "rule_share": float(share),
             "top_suggestions": "; ".join(f"{_named(i, names)} ({count(c, 'customer')})"
                                          for i, c in zip(its, cs, strict=True))}
            for s, n, share, its, cs in zip(by["segment"], by["customers_with_suggestions"],
                                            by["rule_share"], by["items"],
                                            by["item_customers"], strict=True)]
    frame = pd.DataFrame(rows).sort_values("customers_with_suggestions", ascending=False)
    return table(frame, csv_name="cross_sell_by_segment", detail=("top_suggestions",),
                 percent=("rule_share",), labels={"rule_share": "from rules"},
                 caption=(f"The {TOP_PER_SEGMENT} items suggested to most customers of each "
                          f"segment (each customer gets up to {most} items not bought "
                          "yet); 'from rules' is the share of suggestions coming from a rule "
                          "rather than co-occurrence. The recommendations table has every "
                          "customer's list."))


def _evaluation(res: BasketResult) -> str:
    ev = res.evaluation
    if not ev:
        why = next((x for x in res.notes if "evaluation" in str(x)),
                   "the holdout evaluation did not run.")
        return note(f"No holdout evaluation: {why}", warn=True)
    n = ev.get("n")
    frame = pd.DataFrame({
        "method": ["rules + co-occurrence", "popularity (baseline)"],
        "hit_rate_at_n": [ev["hit_rate_at_n"], ev["baseline_hit_rate_at_n"]],
        "recall_at_n": [ev["recall_at_n"], ev["baseline_recall_at_n"]]})
    fig = plots.hbar(frame["method"].tolist(), {"hit rate": frame["hit_rate_at_n"].tolist(),
                                                "recall": frame["recall_at_n"].tolist()},
                     x_title=f"share (%) at n = {n}", y_title="method", percent=True)
    ratio = (ev["hit_rate_at_n"] / ev["baseline_hit_rate_at_n"]
             if ev["baseline_hit_rate_at_n"] else np.nan)
    head = kv([("split date (first test day)", ev.get("split_date")),
               ("customers evaluated", ev.get("n_customers_evaluated")),
               ("training baskets", ev.get("n_train_baskets")),
               ("rules mined on the training period", ev.get("n_rules")),
               ("hit rate vs popularity", f"{fmt_pct(ev['hit_rate_at_n'])} vs "
                                          f"{fmt_pct(ev['baseline_hit_rate_at_n'])} "
                                          f"(× {fmt_num(ratio)})"),
               ("who is evaluated", plain(ev.get("definition")))])
    parts = [head]
    if ev["hit_rate_at_n"] <= ev["baseline_hit_rate_at_n"]:
        parts.append(note(
            f"The suggestions do not beat offering the most popular products (hit rate "
            f"{fmt_pct(ev['hit_rate_at_n'])} against {fmt_pct(ev['baseline_hit_rate_at_n'])}):"
            " on this log, promote the best-sellers a customer has not bought yet.",
            warn=True))
    if fig is not None:
        parts.append(figure(fig, f"Hit rate@{n}: share of evaluated customers who bought at "
                                 "least one suggested item after the split date; recall@"
                                 f"{n}: mean share of their new items that were suggested. "
                                 "The recommender should beat the popularity baseline."))
    parts.append(table(frame, csv_name="basket_holdout", percent=("hit_rate_at_n",
                                                                  "recall_at_n"),
                       labels={"hit_rate_at_n": f"hit rate@{n}", "recall_at_n":
                               f"recall@{n}"},
                       caption="Holdout evaluation on the period after the split date."))
    return "".join(parts)
