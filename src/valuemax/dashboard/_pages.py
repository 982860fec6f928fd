"""The dashboard's pages, rendered on the server from one read-only store session.

Each function takes a :class:`~valuemax.dashboard._store.StoreSession` and returns the page's
``(title, body parts)``; :mod:`valuemax.dashboard._app` wraps them in the frame.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from valuemax.dashboard import _figures as figs
from valuemax.dashboard._html import (
    alert,
    esc,
    fmt_int,
    fmt_num,
    fmt_pct,
    note,
    plot,
    select,
    table,
    tile,
    url,
)
from valuemax.dashboard._store import EXPERIMENT_TABLES, Filters, StoreSession

#: Rows of a list shown on a page (the CSV export has all of them).
MAX_ROWS = 500

_LABELS = {"customer_id": "customer", "total_spend": "past spend", "n_orders": "orders",
           "recency_days": "days since last purchase", "p_alive": "P(alive)",
           "churn_risk": "churn risk", "n_customers": "customers",
           "share_customers": "share of customers", "revenue_share": "revenue share",
           "expected_incremental_profit": "expected incremental profit"}


def _filter_form(s: StoreSession, f: Filters, action: str) -> str:
    parts = [f'<form class="filters" method="get" action="{esc(action)}">']
    segments = s.segment_names()
    if segments:
        parts.append(select("segment", "Segment", [(x, x) for x in segments], f.segment))
    countries = s.countries()
    if countries:
        label = "Country" if s.country_column.lower() == "country" else \
            f"Country / region ({s.country_column})"
        parts.append(select("country", label, [(c, f"{c} ({n:,})") for c, n in countries],
                            f.country))
    if not segments and not countries:
        return ""
    parts.append('<button type="submit">Apply</button>')
    if f.query():
        parts.append(f'<a href="{esc(action)}">clear filters</a>')
    parts.append("</form>")
    return "".join(parts)


def _labels(s: StoreSession) -> dict[str, str]:
    out = dict(_LABELS)
    if s.clv_column:
        out[s.clv_column] = f"CLV, {s.horizon_months} months"
    if s.country_column:
        out["country"] = s.country_column
    return out


def overview(s: StoreSession, f: Filters) -> tuple[str, list[str]]:
    """KPI tiles, segments, the CLV, P(alive) and churn-risk distributions."""
    k = s.kpis(f)
    body = [_filter_form(s, f, "/"), f'<div class="tiles">{"".join(_tiles(s, f, k))}</div>']
    # the run's caveats (runs.caveats: the list the terminal, summary.json and the report
    # show), step by step, without CLV too (P(alive)'s); the buy-again scores' stands
    # whether or not the tile rests on them (churn_risk is left out when they rank no
    # better than a baseline)
    shown = {step: s.caveats(step) for step in ("value", "propensity", "segments",
                                                "clusters")}
    for step, caveats in shown.items():  # as the report says it beside its figures
        if caveats:
            body.append(f'<div class="alert" data-caveat="{step}">'
                        f'{"".join(f"<p>{esc(c)}</p>" for c in caveats)}</div>')
    if k["n_customers"] == 0:
        body.append(note("No customer passes these filters."))
        return "Overview", body
    seg = s.segments(f)
    plots = _distributions(s, f, seg)
    body.append(f'<h2>Distributions</h2><div class="plots">{"".join(plots)}</div>'
                if plots else note("No CLV, P(alive) or churn scores in this store."))
    if len(seg):
        body.append("<h2>Segments</h2>")
        body.append(note("RFM segments of the filtered customers, by revenue; a segment's "
                         "action is what valuemax recommends doing for its customers. Click "
                         "a segment to filter."))
        body.append(table(seg, table_id="segments", labels=_labels(s),
                          formats={"n_customers": "int", "share_customers": "pct",
                                   "revenue": "num", "revenue_share": "pct"},
                          links={"segment": "/?segment"},
                          link_params={"country": f.country} if f.country else None))
    return "Overview", body


def _tiles(s: StoreSession, f: Filters, k: dict) -> list[str]:
    """The overview's KPI tiles: customers, revenue, CLV total and the share at risk (said
    not informative when the scores it rests on are flagged)."""
    scope = "customers" if not f.query() else \
        "customers in " + ", ".join(f"{a} {b}" for a, b in f.query().items())
    tiles = [tile("customers", "Customers", k["n_customers"], fmt_int(k["n_customers"]), scope),
             tile("revenue", "Revenue", k["revenue"], fmt_num(k["revenue"], 0),
                  "sum of past spend (clean log, in the log's currency)" if k["revenue"] is not None
                  else "the log has no prices (no amount, nor quantity and unit price)")]
    if k["clv_total"] is not None:
        tiles.append(tile("clv_total", f"CLV total, {s.horizon_months} months",
                          k["clv_total"], fmt_num(k["clv_total"], 0),
                          "expected future value (purchase model x spend model)"))
    else:
        tiles.append(tile("clv_total", "CLV total", None, "—", "no clv table in the store"))
    rule = k["at_risk_rule"] or ""
    # the share rests on the buy-again scores, else on P(alive): either may be flagged
    risk_caveats = s.caveats("propensity") if rule.startswith("churn risk") else []
    doubtful = bool(risk_caveats) or (rule.startswith("P(alive)")
                                      and not s.p_alive_informative()[0])
    if k["at_risk_share"] is not None:
        tiles.append(tile("at_risk_share", "Share at risk", k["at_risk_share"],
                          fmt_pct(k["at_risk_share"]),
                          f"{fmt_int(k['n_at_risk'])} customers; {k['at_risk_rule']}"
                          + ("; NOT INFORMATIVE: see the warning below" if doubtful
                             else "")))
    else:
        tiles.append(tile("at_risk_share", "Share at risk", None, "—",
                          "no propensity or P(alive) in the store"))
    return tiles


def _distributions(s: StoreSession, f: Filters, seg: Any) -> list[str]:
    """The overview's plots: CLV, P(alive), churn-risk levels, p_buy and the segments'
    revenue (the last only when no segment filter is set)."""
    plots = []
    if s.clv_column:
        clv = s.values(f, s.clv_column)
        if len(clv):
            plots.append(plot("plot-clv", figs.histogram(
                clv, title=f"CLV over {s.horizon_months} months",
                x_title=f"CLV, {s.horizon_months} months (in the log's currency)")))
    p_alive = s.values(f, "p_alive")
    if len(p_alive):
        plots.append(plot("plot-p-alive", figs.histogram(
            p_alive, title="P(alive): probability the customer is still active",
            x_title="P(alive)", bins=20, x_range=(0.0, 1.0))))
    churn = s.churn_counts(f)
    if len(churn):
        plots.append(plot("plot-churn", figs.churn_bars(churn)))
    p_buy = [c for c in s.view_columns if c.startswith("p_buy_")]
    if p_buy:
        values = s.values(f, p_buy[0])
        if len(values):
            plots.append(plot("plot-p-buy", figs.histogram(
                values, title=f"{p_buy[0]}: probability of buying again",
                x_title=p_buy[0], bins=20, x_range=(0.0, 1.0))))
    if len(seg) and not f.segment and "revenue_share" in seg.columns:
        plots.append(plot("plot-segments", figs.segment_bars(seg)))
    return plots


def at_risk(s: StoreSession, f: Filters) -> tuple[str, list[str]]:
    """The high-value-at-risk list with its CSV export."""
    risk, info = s.at_risk(f)
    body = [_filter_form(s, f, "/at-risk")]
    if info["rule"] is None:
        body.append(note("This store has no past spend (the log has no prices) or neither "
                         "P(alive) nor RFM segments: no list."))
        return "High value at risk", body
    body.append(note(
        f"High past spend: the top {info['top_share']:.0%} of all customers by past spend "
        f"(at least {fmt_num(info['spend_threshold'])}; {fmt_int(info['n_high_value'])} "
        f"customers). At risk: {info['rule']}. {len(risk):,} customers"
        + (" pass the filters." if f.query() else ".")))
    if info.get("action"):
        body.append(alert(f"Action: {info['action']} Why: {info['rationale']}"))
    if risk.empty:
        body.append(note("No high spender is at risk by this rule."))
        return "High value at risk", body
    body.append(f'<p><a class="button" id="export-at-risk" download '
                f'href="{esc(url("/export/at-risk.csv", **f.query()))}">Download CSV '
                f"({len(risk):,} rows)</a></p>")
    if len(risk) > MAX_ROWS:
        body.append(note(f"The first {MAX_ROWS:,} of {len(risk):,} by past spend are shown; "
                         "the CSV has all of them."))
    shown = risk.drop(columns=["action"], errors="ignore")
    body.append(table(shown, table_id="at-risk", max_rows=MAX_ROWS, labels=_labels(s),
                      formats={"total_spend": "num", "n_orders": "int",
                               "recency_days": "int", "p_alive": "num4",
                               **({s.clv_column: "num"} if s.clv_column else {})},
                      links={"customer_id": "/customer?id"}))
    return "High value at risk", body


def at_risk_csv(s: StoreSession, f: Filters) -> pd.DataFrame:
    """The frame of :func:`at_risk` for the CSV (every row, the action included)."""
    return s.at_risk(f)[0]


_CUSTOMER_FIELDS = (
    ("segment", "RFM segment", None), ("action", "recommended action", None),
    ("rfm_cell", "RFM cell (R, F, M scores 1-5)", None),
    ("cluster_name", "cluster", None),
    ("cluster_mixed", "mixed cluster (no one action fits it: act on the RFM segment)", "yesno"),
    ("country", "country", None),
    ("first_purchase", "first purchase", None), ("last_purchase", "last purchase", None),
    ("n_orders", "orders", "int"), ("total_spend", "past spend", "num"),
    ("avg_order_value", "average order value", "num"),
    ("recency_days", "days since last purchase", "int"),
    ("frequency", "frequency (repeat purchase days)", "int"),
    ("recency", "recency (first to last purchase)", "num"),
    ("T", "T (first purchase to observation end)", "num"),
    ("p_alive", "P(alive)", "num4"), ("expected_avg_value", "expected spend per purchase",
                                      "num"),
    ("clv_from_prior_only", "CLV from the prior only (one order, first seen in the last 7 "
     "days: nothing is known of them yet, do not rank them by CLV)", "yesno"),
    ("churn_risk", "churn risk", None),
    ("churn_risk_extrapolated", "buy-again score extrapolated (inactive longer than any "
     "customer the model learnt from: read the RFM segment and P(alive))", "yesno"),
    ("expected_next_purchase", "expected next purchase", None),
)


def customer(s: StoreSession, customer_id: str | None) -> tuple[str, list[str], int]:
    """One customer's stored fields, scores and recommendations; the HTTP status."""
    if not customer_id:
        examples = s.example_ids()
        links = ", ".join(f'<a href="{esc(url("/customer", id=e))}">{esc(e)}</a>'
                          for e in examples)
        return "Customer lookup", [
            note("Type a customer id in the box at the top right."),
            f"<p>Highest past spend: {links}</p>" if examples else ""], 200
    rec = s.customer(customer_id)
    if rec is None:
        near = s.ids_like(customer_id)
        hint = ("Ids containing it: " + ", ".join(
            f'<a href="{esc(url("/customer", id=e))}">{esc(e)}</a>' for e in near)) \
            if near else f"Example ids: {', '.join(esc(e) for e in s.example_ids())}"
        n = s.count("customers")
        return "Customer lookup", [alert(
            f"customer id {customer_id!r} is not in this store ({n:,} customers; ids are "
            "matched exactly, as text).", "error"), f"<p>{hint}</p>"], 404
    rows = []
    fields = list(_CUSTOMER_FIELDS)
    horizon = s.horizon_months
    for col in s.view_columns:
        if col.startswith(("expected_purchases_", "p_buy_")) or re.fullmatch(r"clv_\d+", col):
            label = {"expected_purchases_": f"expected purchases, {horizon} months",
                     "clv_": f"CLV, {horizon} months", "p_buy_": f"{col} (buy again)"}
            kind = "num4" if col.startswith("p_buy_") else "num"
            fields.insert(15, (col, next(v for k, v in label.items() if col.startswith(k)),
                               kind))
    for key, label, kind in fields:
        if key not in rec:
            continue
        value = rec[key]
        if kind == "yesno":  # a flag: words, not a number
            kind, value = None, "—" if pd.isna(value) else ("yes" if value else "no")
        text = {"int": fmt_int, "num": fmt_num, "num4": lambda v: fmt_num(v, 4),
                None: esc}[kind](value)
        data = f' data-value="{float(value)!r}"' if kind and text != "—" else ""
        rows.append(f'<tr data-field="{esc(key)}"><th>{esc(label)}</th>'
                    f'<td class="{"num" if kind else ""}"{data}>{esc(text) if kind else text}'
                    "</td></tr>")
    body = [f'<table id="customer" data-customer-id="{esc(customer_id)}">'
            f"{''.join(rows)}</table>"]
    risk, _ = s.at_risk(Filters())
    if len(risk) and customer_id in set(risk["customer_id"]):
        body.insert(0, alert("This customer is on the high-value-at-risk list: "
                             f"{risk['action'].iloc[0]}"))
    recs = s.recommendations(customer_id)
    if len(recs) and "item" in recs.columns:  # the product's name beside its code
        names = s.item_names({str(i) for i in recs["item"]})
        if names:
            recs.insert(recs.columns.get_loc("item") + 1, "name",
                        [names.get(str(i)) for i in recs["item"]])
    body.append("<h2>Next best products</h2>")
    body.append(table(recs, table_id="recommendations", formats={"score": "num4"})
                if len(recs) else note("No recommendation for this customer in the store."))
    return f"Customer {customer_id}", body, 200


def rules(s: StoreSession) -> tuple[str, list[str]]:
    """Association rules by lift (the 200 strongest), with a support/confidence plot."""
    found = s.rules()
    if found is None:
        return "Association rules", [note(
            "This store has no rules table: the log had no product column, or the basket "
            "step was skipped (see the run's report).")]
    frame, n = found
    frame = frame.copy()
    sides = [c for c in ("antecedents", "consequents") if c in frame.columns]
    codes = {str(v) for c in sides for items in frame[c]
             if hasattr(items, "__iter__") and not isinstance(items, str) for v in items}
    names = s.item_names(codes)  # the report's rule tables name products the same way
    for col in sides:
        frame[col] = frame[col].map(lambda v: _items(v, names))
    if n == 0:
        return "Association rules", [note(
            "The basket step found no rule above its support, confidence and lift "
            "thresholds in this log (valuemax rules LOG --min-support ... to explore lower "
            "ones).")]
    body = [note(f"{n:,} rules; the {min(n, len(frame)):,} of highest lift are shown. "
                 "Read 'A → B' as: baskets with A also hold B with this confidence, "
                 "lift times more often than baskets in general.")]
    if {"support", "confidence", "lift", "antecedents", "consequents"} <= set(frame.columns):
        body.append(f'<div class="plots">{plot("plot-rules", figs.rules_scatter(frame))}</div>')
    show = [c for c in ("antecedents", "consequents", "support", "confidence", "lift",
                        "leverage", "conviction", "count") if c in frame.columns]
    body.append(table(frame[show] if show else frame, table_id="rules",
                      formats={"support": "num4", "confidence": "num4", "lift": "num",
                               "leverage": "num4", "conviction": "num", "count": "int"}))
    return "Association rules", body


def _items(value: Any, names: dict[str, str]) -> Any:
    """A rule side stored as a list of items, as text ``"a, b"`` with each product code
    replaced by its name when ``names`` has one."""
    if isinstance(value, str) or value is None:
        return value
    try:
        return ", ".join(names.get(str(v), str(v)) for v in value)
    except TypeError:
        return value


def _generic(frame: pd.DataFrame, table_id: str) -> str:
    return table(frame, table_id=table_id, max_rows=MAX_ROWS)


def experiments(s: StoreSession, f: Filters) -> tuple[str, list[str], int]:
    """Experiment readouts, uplift scores and targets, when the store has them."""
    present = [t for t in EXPERIMENT_TABLES if s.has(t)]
    if not present:
        return "Experiments & targeting", [note(
            "This store has no experiments, uplift_scores or targets table.")], 404
    body = [_filter_form(s, f, "/experiments")]
    exp = s.table("experiments", limit=MAX_ROWS)
    if exp is not None:
        body.append("<h2>Experiment readouts</h2>")
        body.append(_generic(exp, "experiments") if len(exp)
                    else note("The experiments table is empty."))
    up = s.table("uplift_scores", f)
    if up is not None:
        body.append("<h2>Uplift scores</h2>")
        cols = [c for c in _uplift_columns(up) if up[c].notna().any()]
        if not cols:
            body.append(note("No numeric uplift column to show."))
        else:
            plots, facts = [], []
            for i, col in enumerate(cols[:4]):
                v = up[col].dropna().to_numpy(dtype=float)
                facts.append(f"{col}: mean {fmt_num(v.mean(), 4)}, "
                             f"{fmt_pct((v > 0).mean())} positive")
                plots.append(plot("plot-uplift" + (f"-{i}" if i else ""), figs.histogram(
                    v, title=f"Distribution of {col}", x_title=col, clip_quantile=None)))
            body.append(note(f"{len(up):,} scored customers; " + "; ".join(facts) + "."))
            body.append(f'<div class="plots">{"".join(plots)}</div>')
    tg = s.table("targets", f, order="rank")
    if tg is not None:
        body.append("<h2>Targets</h2>")
        need = {"customer_id", "expected_incremental_profit", "rank"}
        if not need <= set(tg.columns):
            body.append(alert(f"The targets table lacks {sorted(need - set(tg.columns))}; "
                              "shown as stored.", "error"))
            body.append(_generic(tg, "targets"))
        elif tg.empty:
            body.append(note("No target passes these filters."))
        else:
            total = float(tg["expected_incremental_profit"].sum())
            held = ""
            if "assigned_arm" in tg.columns:
                n_held = int((tg["assigned_arm"] == "holdout").sum())
                held = (f"{n_held:,} of them held out as the control (assigned_arm "
                        "holdout), to measure the campaign")
            body.append('<div class="tiles">'
                        + tile("targets", "Customers in the target list", len(tg),
                               fmt_int(len(tg)), held)
                        + tile("target_profit", "Expected incremental profit", total,
                               fmt_num(total), "if every listed customer is contacted")
                        + "</div>")
            plots = [plot("plot-profit", figs.profit_curve(tg))]
            if "arm" in tg.columns:
                plots.append(plot("plot-arms", figs.arm_bars(tg)))
            body.append(f'<div class="plots">{"".join(plots)}</div>')
            body.append(f'<p><a class="button" id="export-targets" download href="'
                        f'{esc(url("/export/targets.csv", **f.query()))}">Download CSV '
                        f"({len(tg):,} rows)</a></p>")
            if len(tg) > MAX_ROWS:
                body.append(note(f"The first {MAX_ROWS:,} of {len(tg):,} by rank are shown; "
                                 "the CSV has all of them."))
            body.append(table(tg, table_id="targets", max_rows=MAX_ROWS, labels=_LABELS,
                              formats={"expected_incremental_profit": "num", "rank": "int"},
                              links={"customer_id": "/customer?id"}))
    return "Experiments & targeting", body, 200


def targets_csv(s: StoreSession, f: Filters) -> pd.DataFrame | None:
    """The targets of the filtered customers, by rank (None when there is no table)."""
    return s.table("targets", f, order="rank")


def _uplift_columns(frame: pd.DataFrame) -> list[str]:
    """The numeric columns named like an uplift (``uplift``, ``uplift_t``, ``uplift_dr``)."""
    return [c for c in frame.columns if "uplift" in c.lower()
            and pd.api.types.is_numeric_dtype(frame[c])
            and not pd.api.types.is_bool_dtype(frame[c])]


def error_body(message: str) -> list[str]:
    """A page body for a refused request."""
    return [alert(message, "error")]


def context(s: StoreSession) -> dict[str, Any]:
    """What the frame needs: the last run and whether to show the experiments link."""
    return {"run": s.last_run(),
            "show_experiments": any(s.has(t) for t in EXPERIMENT_TABLES)}
