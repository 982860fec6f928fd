"""The run's files: customers as Parquet and CSV, quarantine as Parquet, summary.json."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from valuemax._core._csv import csv_safe, write_csv
from valuemax.pipeline._result import AnalysisResult
from valuemax.propensity import PropensityResult


def summary_dict(result: AnalysisResult) -> dict[str, Any]:
    """The machine-readable summary of a run (``summary.json``).

    Keys: ``valuemax_version``, ``source``, ``rows_in``, ``rows_clean``, ``rows_quarantined``,
    ``quarantine_by_reason`` (rule code -> rows, every rule of the preset), ``n_outliers``,
    ``returns_netting`` (with ``returns="net"``, where the purchases' and the refunds' money
    went, refunds beyond the matched purchase and unmatched stated:
    :meth:`valuemax.clean.QualityReport.reconciliation`; else ``skipped`` and why),
    ``n_customers``, ``observation_end`` (ISO date, inclusive), ``time_unit``, ``mapping``,
    ``calibration`` (with ``calibration_end``: its split, customers and repeat buyers, and
    ``used_by_clv``/``not_used_because``: whether the CLV model choice compared the models
    on its holdout, else why and how to fix it; else ``skipped`` and why), ``encoding``, ``date_formats``, ``segments`` (name, n_customers,
    revenue_share),
    ``rfm_cut_points``, ``kmeans`` (k, silhouette, criterion; or ``skipped``), ``clv``
    (model, rule, params, se, loglik, holdout MAE and totals, model comparison, spend model,
    total CLV, ``high_value_at_risk``: the top-20% spenders with P(alive) < 0.5, as the
    terminal counts them; ``None`` when skipped), ``stats`` (target, R², top correlations), ``basket``
    (n_baskets, n_items, n_itemsets, n_rules, thresholds, hit rate@N vs popularity),
    ``propensity`` (horizon, cutoff, auc, pr_auc, brier, top_decile_lift, baseline AUCs,
    ``informative`` and ``not_informative_because``: :func:`propensity_informative`; the
    keys keep their names, and mean what was measured: ``informative`` is True when the
    chosen model's holdout ROC AUC is above :data:`MIN_INFORMATIVE_AUC` and beats every
    baseline, ``not_informative_because`` gives the failed comparisons with their AUCs, and
    ``verdict`` says it in words, e.g. "rank no better than the recency baseline (AUC 0.831
    vs 0.835)", None when the scores rank better), ``caveats`` (the run's caveats, one
    ``{"step", "code", "text"}`` per item: :attr:`AnalysisResult.caveats`, the list every
    surface shows; ``clv.p_alive_informative`` is True when P(alive) can rank customers),
    ``skipped``, ``privacy`` (personal-data columns found, each with ``found_by``, the
    share of sampled values matching and the action taken; pseudonymisation and the key's
    fingerprint: :meth:`valuemax.privacy.PrivacyReport.to_dict`),
    ``params``, ``timings_s`` (seconds per step) and ``peak_rss_mb`` (the process's peak RSS
    at each step's end, MiB: :attr:`AnalysisResult.peak_rss_mb`).
    """
    q = result.quality
    by_reason = {str(r.rule): int(r.rows) for r in q.to_frame().itertuples(index=False)}
    segs = []
    if result.segments is not None:
        segs = [
            {"name": str(r.segment), "n_customers": int(r.n_customers),
             # a log without prices has no revenue: no share (None in JSON)
             "revenue_share": (round(float(r.revenue_share), 6)
                               if hasattr(r, "revenue_share") else None)}
            for r in result.segments.itertuples(index=False)
        ]
    km: dict[str, Any] | None = None
    if result.clusters is not None:
        c = result.clusters
        if c.skipped is None:
            sel = c.selection.set_index("k")
            km = {"k": int(c.k), "silhouette": round(float(sel.loc[c.k, "silhouette"]), 6),
                  "criterion": c.criterion,
                  "clusters": [{"cluster": int(r.cluster), "name": str(r.name),
                                "n_customers": int(r.n_customers)}
                               for r in c.profile.itertuples(index=False)]}
        else:
            km = {"k": None, "silhouette": None, "skipped": c.skipped}
    elif "kmeans" in result.skipped:
        km = {"k": None, "silhouette": None, "skipped": result.skipped["kmeans"]}
    ing = result.ingest
    return {
        "valuemax_version": result.version,
        "source": ing.get("source"),
        "rows_in": int(q.rows_in),
        "rows_clean": int(q.rows_clean),
        "rows_quarantined": int(q.rows_quarantined),
        "quarantine_by_reason": by_reason,
        "n_outliers": int(q.n_outliers),
        "returns_netting": q.reconciliation() or {
            "skipped": "returns='exclude': return lines are quarantined (cancellation, "
                       "return), no refund is deducted from a purchase"},
        "n_customers": len(result.customers),
        "observation_end": q.observation_end.isoformat(),
        "time_unit": result.time_unit,
        "calibration": _calibration(result),
        "mapping": ing.get("mapping"),
        "encoding": ing.get("encoding"),
        "date_formats": ing.get("date_formats"),
        "segments": segs,
        "rfm_cut_points": None if result.rfm is None else
        {k: [float(x) for x in v] for k, v in result.rfm.cut_points.items()},
        "kmeans": km,
        "clv": None if result.value is None else {**result.value.to_dict(),
                                                  "high_value_at_risk": _at_risk(result)},
        "stats": None if result.stats is None else result.stats.to_dict(),
        "basket": None if result.basket is None else result.basket.to_dict(),
        "propensity": None if result.propensity is None else _propensity(result.propensity),
        "caveats": [c.to_dict() for c in result.caveats],
        "skipped": dict(result.skipped),
        "privacy": ing.get("privacy"),
        "params": dict(result.params),
        "timings_s": dict(result.timings_s),
        "peak_rss_mb": dict(result.peak_rss_mb),
    }


def _propensity(found: PropensityResult) -> dict[str, Any]:
    """``summary.json``'s ``propensity``: the result's own summary with ``informative``,
    ``not_informative_because`` (:func:`propensity_informative`) and ``verdict``
    (:func:`propensity_shortfall` when the scores fall short, else None)."""
    ok, why = propensity_informative(found)
    return {**found.to_dict(), "informative": ok, "not_informative_because": why,
            "verdict": None if ok else f"the scores {propensity_shortfall(found)}"}


def _at_risk(result: AnalysisResult) -> dict[str, Any]:
    """``summary.json``'s ``clv.high_value_at_risk``: the terminal's "high value at risk"
    count (top-20% spenders with P(alive) < 0.5: :func:`valuemax.decide.high_value_at_risk`)
    with its thresholds, or ``skipped`` and why (no P(alive); P(alive) cannot rank customers)."""
    from valuemax.decide import high_value_at_risk

    value, cust = result.value, result.customers
    if cust is None or "p_alive" not in cust or "total_spend" not in cust:
        return {"skipped": "no P(alive) or no past spend"}
    if not value.p_alive_informative:
        return {"skipped": f"{value.p_alive_warning}"}
    risk = high_value_at_risk(cust)
    return {"n_customers": len(risk), "n_high_value": int(risk.attrs["n_high_value"]),
            "spend_threshold": float(risk.attrs["spend_threshold"]),
            "p_alive_below": float(risk.attrs["p_alive_below"])}


def _calibration(result: AnalysisResult) -> dict[str, Any]:
    """``summary.json``'s ``calibration``: the calibration/holdout table built for
    ``calibration_end`` (its split, customers and repeat buyers), else ``skipped`` and why
    (no ``calibration_end`` was given; the CLV model choice makes its own split)."""
    if result.calibration is not None:
        unused = None if result.value is None else result.value.calibration_unused
        return {"calibration_end": result.params.get("calibration_end"),
                "n_customers": len(result.calibration),
                "repeat_buyers": int((result.calibration["frequency"] > 0).sum()),
                # the model choice used the split (a holdout comparison), or why not
                "used_by_clv": None if result.value is None else unused is None,
                "not_used_because": unused}
    why = ("no calibration_end given (--calibration-end DATE): no calibration/holdout table "
           "(calibration_holdout.parquet) was built")
    split = None if result.value is None else result.value.calibration_end
    if split is not None:
        why += (f"; the CLV model choice held out the days after {split.isoformat()} on its "
                "own (clv.calibration_end, clv.holdout)")
    return {"skipped": why}


#: A buy-again model whose holdout ROC AUC is at most this ranks customers little better
#: than a coin flip (0.5).
MIN_INFORMATIVE_AUC = 0.55


def propensity_informative(found: PropensityResult) -> tuple[bool, str | None]:
    """Whether the buy-again scores can be used to target customers, and why not.

    Not informative when the chosen model's holdout ROC AUC is at most
    :data:`MIN_INFORMATIVE_AUC`, when it does not beat ranking by recency alone, or when a
    baseline (recency, BTYD expected purchases or P(alive)) ranks the holdout better.

    Parameters
    ----------
    found : valuemax.propensity.PropensityResult
        A fitted buy-again result (its ``metrics`` has one row per model and baseline).

    Returns
    -------
    informative : bool
    reason : str or None
        The failed checks, in words (None when informative).
    """
    m = found.metrics.set_index("model")["roc_auc"].astype(float)
    auc = float(m[found.chosen_model])
    baselines = m.drop([k for k in ("logit", "hgb") if k in m.index]).dropna()
    why = []
    if not auc > MIN_INFORMATIVE_AUC:
        why.append(f"holdout ROC AUC {auc:.3f} <= {MIN_INFORMATIVE_AUC} (0.5 is a coin flip)")
    if "recency" in baselines and not auc > baselines["recency"]:
        why.append(f"it does not beat recency alone (AUC {auc:.3f} vs "
                   f"{baselines['recency']:.3f})")
    best = baselines.drop("recency", errors="ignore")
    if len(best) and best.max() > auc:
        name = _BASELINE_NAMES.get(str(best.idxmax()), str(best.idxmax()))
        why.append(f"the {name} baseline ranks better (AUC {best.max():.3f} vs "
                   f"{auc:.3f})")
    return (not why), ("; ".join(why) or None)


def write_exports(result: AnalysisResult, folder: Path, *, quarantine: ir.Table) -> None:
    """Write ``customers.parquet``/``.csv`` (UTF-8 with BOM), ``quarantine.parquet`` and, when
    computed, ``calibration_holdout.parquet``, ``rules.parquet``/``.csv`` and
    ``recommendations.parquet``/``.csv`` (rules' item lists joined by `` | `` in the CSV).

    ``quarantine`` is an Ibis table: it is written by the engine, never through pandas.
    Every CSV goes through :func:`valuemax._core._csv.write_csv` (formula-safe).
    """
    customers = result.customers
    customers.to_parquet(folder / "customers.parquet", index=False)
    # UTF-8 with a byte-order mark, so that Excel opens Chinese text correctly
    write_csv(customers, folder / "customers.csv")
    quarantine.to_parquet(folder / "quarantine.parquet")
    if result.calibration is not None:
        result.calibration.to_parquet(folder / "calibration_holdout.parquet", index=False)
    basket = result.basket
    if basket is not None:
        write_rule_files(basket.rule_set.rules, basket.recommendations, folder,
                         names=basket.item_names)


def join_items(items: Iterable[str]) -> str:
    """One CSV cell for a list of item codes or names: joined by `` | ``, each item's ``\\``
    written ``\\\\`` and its ``|`` written ``\\|`` (product names such as "CUP | SAUCER"
    occur), so the separator is the only unescaped `` | `` and the cell splits back into
    exactly its items (:func:`split_items`)."""
    return " | ".join(str(x).replace("\\", "\\\\").replace("|", "\\|") for x in items)


def split_items(cell: str) -> list[str]:
    """The items of a :func:`join_items` cell, unescaped (an empty cell: no items)."""
    if cell == "":
        return []
    items, current, chars = [], [], iter(cell)
    for ch in chars:
        if ch == "\\":
            current.append(next(chars, ""))
        elif ch == "|":
            items.append("".join(current)[:-1])      # drop the space before the separator
            current = []
            next(chars, "")                          # and the one after it
        else:
            current.append(ch)
    items.append("".join(current))
    return items


def write_rule_files(rules: pd.DataFrame, recommendations: pd.DataFrame | None, folder: Path,
                     *, names: Mapping[str, str]) -> None:
    """``rules.parquet``/``.csv`` and, when given, ``recommendations.parquet``/``.csv``.

    The rules keep their item codes as lists in Parquet and joined by `` | `` in the CSV
    (:func:`join_items`: a ``|`` or ``\\`` inside a code or name is escaped with a
    backslash, so a cell splits back into exactly its items); an infinite conviction (confidence 1) stays ``inf`` in Parquet and is an empty cell in
    the CSV (the rule set's notes say so).
    When the log names its products (``names``: code -> product name, as
    :attr:`valuemax.basket.BasketResult.item_names`), both files also carry the names, so a
    spreadsheet reader sees what the report shows: ``antecedent_names`` and
    ``consequent_names`` beside the code lists, ``item_name`` beside each recommended
    ``item``; a code the log never names keeps its code there. The columns are there for
    every log, so the files' header does not change from one log to the next: without a
    name column (or when the items are names already) each name is the item itself.
    """
    named = rules
    if {"antecedents", "consequents"} <= set(rules.columns):
        at = rules.columns.get_loc("consequents") + 1
        named = rules.copy()
        for pos, (col, out) in enumerate((("antecedents", "antecedent_names"),
                                          ("consequents", "consequent_names"))):
            named.insert(at + pos, out, [[str(names.get(x, x)) for x in items]
                                         for items in rules[col]])
    named.to_parquet(folder / "rules.parquet", index=False)
    lists = [c for c in ("antecedents", "consequents", "antecedent_names", "consequent_names")
             if c in named]
    text = {c: named[c].map(join_items) for c in lists}
    if "conviction" in named:  # +inf (confidence 1): an empty cell, as the rules' note says
        conv = named["conviction"].astype(float)
        text["conviction"] = conv.where(np.isfinite(conv))
    write_csv(named.assign(**text), folder / "rules.csv")
    if recommendations is None:
        return
    recs = recommendations
    if "item" in recs.columns:
        recs = recs.copy()
        codes = recs["item"].astype(str)  # one lookup per row, vectorised (customers x n)
        named_items = codes.map(dict(names)).fillna(codes).astype(str) if names else codes
        recs.insert(recs.columns.get_loc("item") + 1, "item_name", named_items)
    _write_both(recs, folder / "recommendations.parquet", folder / "recommendations.csv")


def _write_both(frame: pd.DataFrame, parquet: Path, csv: Path) -> None:
    """``frame.to_parquet(parquet, index=False)`` and ``write_csv(frame, csv)``, the frame
    turned into Arrow once: its Python-string columns (a million customers' recommendations:
    5M rows of ids, items and sources as Python objects) converted once for both files, and
    the CSV written from Arrow-backed text (checked for formula starts and quotes by Arrow).
    The same files: the Parquet file is what ``to_parquet`` writes (it converts the same
    way), the CSV's cells the same text (at 10M lines 7.7 CPU s before, 6.3 after: the
    files are most of the rest)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, parquet)
    text = {pa.string(): pd.ArrowDtype(pa.string()),
            pa.large_string(): pd.ArrowDtype(pa.large_string())}
    write_csv(table.to_pandas(types_mapper=text.get), csv)


def propensity_shortfall(found: PropensityResult) -> str:
    """What the buy-again scores fall short of, as a phrase after "the scores": "rank about
    as a coin flip (holdout ROC AUC 0.520)" when the chosen model's AUC is at most
    :data:`MIN_INFORMATIVE_AUC`, else "rank no better than the recency baseline (AUC 0.831
    vs 0.835)" against the best baseline (what :func:`propensity_informative` found: a
    model just short of its baseline is not called uninformative).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> m = pd.DataFrame({"model": ["logit", "recency"], "roc_auc": [0.831, 0.835]})
    >>> propensity_shortfall(SimpleNamespace(metrics=m, chosen_model="logit"))
    'rank no better than the recency baseline (AUC 0.831 vs 0.835)'
    """
    m = found.metrics.set_index("model")["roc_auc"].astype(float)
    auc = float(m[found.chosen_model])
    base = m.drop([k for k in ("logit", "hgb") if k in m.index]).dropna()
    if not auc > MIN_INFORMATIVE_AUC or not len(base):
        return f"rank about as a coin flip (holdout ROC AUC {auc:.3f})"
    best = str(base.idxmax())
    name = _BASELINE_NAMES.get(best, best)
    return f"rank no better than the {name} baseline (AUC {auc:.3f} vs {base[best]:.3f})"


_BASELINE_NAMES = {"recency": "recency", "btyd_p_alive": "BG/NBD P(alive)",
                   "btyd_expected_purchases": "BG/NBD expected purchases"}


__all__ = ["MIN_INFORMATIVE_AUC", "csv_safe", "join_items", "propensity_informative",
           "propensity_shortfall",
           "split_items", "summary_dict", "write_exports", "write_rule_files"]
