"""Report sections 1 (Data: source, mapping, quality) and 2 (Customers)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from valuemax._core.schema import CANONICAL_COLUMNS, normalise_name
from valuemax.report import _plots as plots
from valuemax.report._html import (
    figure,
    fmt_int,
    fmt_pct,
    grid2,
    kv,
    note,
    notes_list,
    section,
    sub,
    table,
)

Subs = list[tuple[str, str]]

UNIT_NAMES = {"D": "days", "W": "weeks"}
COUNTRY_NAMES = {"country", "国家", "国家地区", "countryregion"}


def skip_reason(result: Any, *steps: str, default: str) -> str:
    """The recorded reason why one of ``steps`` did not run, else ``default``."""
    skipped = getattr(result, "skipped", None) or {}
    for step in steps:
        if skipped.get(step):
            return f"{step}: {skipped[step]}"
    return default


def _ingest(result: Any) -> dict[str, Any]:
    ing = getattr(result, "ingest", None)
    return dict(ing) if isinstance(ing, dict) else {}


def _mapping_frame(ing: dict[str, Any]) -> pd.DataFrame:
    mapping = dict(ing.get("mapping") or {})
    canon = list(CANONICAL_COLUMNS) + [c for c in mapping if c not in CANONICAL_COLUMNS]
    source = [mapping.get(c) for c in canon]
    how = []
    for c, s in zip(canon, source, strict=True):
        if s is not None:
            how.append("mapped")
        elif c == "amount" and mapping.get("quantity") and mapping.get("unit_price"):
            how.append("derived: quantity × unit_price")
        else:
            how.append("not in the source (left empty)")
    return pd.DataFrame({"canonical": canon, "source column": source, "how": how})


def data_section(result: Any) -> tuple[str, Subs]:
    """Section 1: how the file was read, the column mapping, the quality accounting."""
    ing = _ingest(result)
    parts: list[str] = [sub("data-source", "Source")]
    if ing:
        header = ing.get("header")
        parts.append(kv([
            ("source", ing.get("source", "—")),
            ("format", ing.get("format", "—")),
            ("encoding", ing.get("encoding") or "— (binary format)"),
            ("header row", "—" if header is None else ("yes" if header else "no")),
            ("date formats", ", ".join(ing.get("date_formats") or ()) or "—"),
            ("rows read", fmt_int(ing.get("n_rows"))),
            ("extra columns kept", ", ".join(ing.get("extra_columns") or ()) or "none"),
        ]))
        parts.append(sub("data-mapping", "Column mapping"))
        parts.append(table(_mapping_frame(ing), csv_name="column_mapping",
                           caption="Canonical column -> the source column it was read from."))
        parts.append(notes_list(ing.get("notes") or (), title="Normalisation notes"))
        if not ing.get("notes"):
            parts.append(note("No normalisation was needed: values were used as written."))
    else:
        parts.append(note("No ingest description was recorded for this run.", warn=True))
        parts.append(sub("data-mapping", "Column mapping"))
        parts.append(note("Column mapping unavailable."))

    parts.append(sub("data-quality", "Data quality"))
    parts.append(_quality(getattr(result, "quality", None)))
    subs = [("data-source", "Source"), ("data-mapping", "Column mapping"),
            ("data-quality", "Data quality")]
    lead = ("How the log was read and cleaned. Cleaning never deletes: every input row is "
            "either in the clean log or in the quarantine with a reason code.")
    return section("data", "1. Data", lead, "".join(parts)), subs


def _quality(q: Any) -> str:
    if q is None:
        return note("No quality report was recorded (cleaning did not run).", warn=True)
    rows_in, clean, quar = int(q.rows_in), int(q.rows_clean), int(q.rows_quarantined)
    ok = rows_in == clean + quar
    parts = [
        f'<p class="note{"" if ok else " warn"} accounting">rows_in = rows_clean + '
        f"rows_quarantined: {fmt_int(rows_in)} = {fmt_int(clean)} + {fmt_int(quar)} "
        f'{"✓" if ok else "✗ (accounting does not balance)"}</p>',
    ]
    facts = [("preset", getattr(q, "preset", "—")), ("returns", getattr(q, "returns", "—")),
             ("observation end", getattr(q, "observation_end", "—"))]
    parts.append(kv(facts))
    frame = q.to_frame() if hasattr(q, "to_frame") else pd.DataFrame()
    if len(frame) and {"rule", "rows"} <= set(frame.columns):
        frame = frame.copy()
        frame["share"] = frame["rows"].astype(float) / rows_in if rows_in else np.nan
        cols = [c for c in ("rule", "description", "rows", "share") if c in frame.columns]
        parts.append(table(frame[cols], csv_name="quality_rules", percent=("share",),
                           labels={"share": "share of rows_in"},
                           caption="Rows quarantined by each rule, in rule order."))
        hit = frame[frame["rows"] > 0].sort_values("rows", ascending=False)
        fig = plots.hbar(hit["rule"].tolist(), {"rows quarantined": hit["rows"].tolist()},
                         x_title="rows quarantined (count)")
        if fig is not None:
            parts.append(figure(fig, "Quarantined rows by reason code. The longest bar is the "
                                     "rule that removed most rows; check it matches what you "
                                     "expect of this log (e.g. cancellations, missing ids)."))
        else:
            parts.append(note("No row was quarantined: every input row is in the clean log."))
    else:
        parts.append(note("The quality report has no per-rule counts."))
    n_out = getattr(q, "n_outliers", None)
    if getattr(q, "outliers", None) == "off":
        parts.append(note("Outlier flagging was off (outliers='off'): no row is marked."))
    elif n_out is not None:
        share = fmt_pct(n_out / clean) if clean else "—"
        parts.append(note(
            f"Outliers flagged: {fmt_int(n_out)} clean rows ({share} of rows_clean) are "
            "marked is_outlier = true. They stay in the clean log and in every figure; "
            "filter on is_outlier in the exports to see them."))
    parts.append(notes_list(getattr(q, "notes", ()) or (), title="Cleaning notes"))
    return "".join(parts)


# ---------------------------------------------------------------- customers

_FIELDS = (  # (column, family, unit; "{u}" = time unit)
    ("recency_days", "RFM", "days since last purchase"),
    ("n_orders", "RFM", "orders"),
    ("total_spend", "RFM", "currency"),
    ("avg_order_value", "RFM", "currency per order"),
    ("tenure_days", "RFM", "days since first purchase"),
    ("frequency", "BTYD", "repeat purchase {u}"),
    ("recency", "BTYD", "{u}, first to last purchase"),
    ("T", "BTYD", "{u}, first purchase to observation end"),
    ("monetary_value", "BTYD", "currency per repeat {u1}"),
)


def country_column(customers: pd.DataFrame) -> str | None:
    """The customers' country column (Country, 国家, ...), if any."""
    for col in customers.columns:
        if normalise_name(str(col)) in COUNTRY_NAMES:
            return str(col)
    return None


def _stats(customers: pd.DataFrame, unit: str) -> pd.DataFrame:
    fields = [f for f in _FIELDS if f[0] in customers.columns]
    cols = [f[0] for f in fields]
    num = customers[cols].apply(pd.to_numeric, errors="coerce").astype(float)
    u1 = unit[:-1] if unit.endswith("s") else unit
    return pd.DataFrame({
        "field": cols,
        "family": [f[1] for f in fields],
        "unit": [f[2].format(u=unit, u1=u1) for f in fields],
        "mean": num.mean().to_numpy(),
        "median": num.median().to_numpy(),
        "p90": num.quantile(0.9).to_numpy(),
        "min": num.min().to_numpy(),
        "max": num.max().to_numpy(),
    })


def customers_section(result: Any) -> tuple[str, Subs]:
    """Section 2: how many customers, their RFM/BTYD distributions and summary statistics."""
    cust = getattr(result, "customers", None)
    subs = [("cust-overview", "Overview"), ("cust-dist", "Distributions"),
            ("cust-stats", "Summary statistics")]
    lead = ("One row per customer at the observation end: marketing RFM fields (days, orders, "
            "currency) and the BTYD summary (Fader & Hardie) in the stated time unit.")
    if cust is None or len(cust) == 0:
        body = note("No customer table: " + skip_reason(
            result, "customers", default="no clean transactions to summarise."), warn=True)
        return section("customers", "2. Customers", lead, body), []
    tu = str(getattr(result, "time_unit", "") or "D")
    unit = UNIT_NAMES.get(tu, tu)
    q = getattr(result, "quality", None)
    obs = getattr(q, "observation_end", None) or (getattr(result, "params", None) or {}).get(
        "observation_end", "—")
    n = len(cust)
    facts = [("customers", fmt_int(n)), ("observation end", obs),
             ("time unit", f"{tu} ({unit}) for frequency, recency, T")]
    if "n_orders" in cust:
        one = (pd.to_numeric(cust["n_orders"], errors="coerce") == 1).sum()
        facts.append(("one-time buyers (n_orders = 1)", f"{fmt_int(one)} ({fmt_pct(one / n)})"))
    if "frequency" in cust:
        zero = (pd.to_numeric(cust["frequency"], errors="coerce") == 0).sum()
        facts.append(("no repeat purchase (frequency = 0)",
                      f"{fmt_int(zero)} ({fmt_pct(zero / n)})"))
    parts = [sub("cust-overview", "Overview"), kv(facts)]

    parts.append(sub("cust-dist", "Distributions"))
    parts.append(_distributions(cust))
    country = country_column(cust)
    if country is not None:
        parts.append(_countries(cust, country))
        subs.insert(2, ("cust-country", "Countries"))
    else:
        parts.append(note("No country column in the source: customers are not broken down "
                          "by geography."))
    parts.append(sub("cust-stats", "Summary statistics"))
    stats = _stats(cust, unit)
    if len(stats):
        parts.append(table(stats, csv_name="customer_summary_statistics",
                           caption="Mean, median and 90th percentile over customers."))
    else:
        parts.append(note("The customer table has none of the RFM/BTYD fields."))
    if {"customer_id", "total_spend"} <= set(cust.columns):
        cols = [c for c in ("customer_id", "n_orders", "total_spend", "recency_days", country,
                            "segment", "cluster_name") if c and c in cust.columns]
        top = cust.nlargest(10, "total_spend")[cols]
        parts.append(sub("cust-top", "Top customers by total spend"))
        parts.append(table(top, csv_name="top_customers",
                           caption="The 10 customers with the highest total_spend (currency)."))
        subs.append(("cust-top", "Top customers"))
    return section("customers", "2. Customers", lead, "".join(parts)), subs


def _distributions(cust: pd.DataFrame) -> str:
    blocks = []
    if "recency_days" in cust:
        fig = plots.histogram(cust["recency_days"], x_title="recency_days (days since last "
                              "purchase)", unit="days", integer=True)
        if fig is not None:
            blocks.append(figure(fig, "Days since each customer's last purchase. A tall left "
                                      "edge means many recently active customers; a long "
                                      "right tail, customers who may have lapsed."))
    if "n_orders" in cust:
        orders = pd.to_numeric(cust["n_orders"], errors="coerce")
        p95 = orders.quantile(0.95)
        cap = int(max(10, np.ceil(p95))) if pd.notna(p95) else 10
        fig = plots.count_bars(orders, x_title="n_orders (orders per customer)", unit="orders",
                               cap=cap)
        if fig is not None:
            capped = f" (the last bar collects {cap} or more)" if orders.max() > cap else ""
            blocks.append(figure(fig, f"Orders per customer{capped}. The height of the first "
                                      "bar is the number of one-time buyers; a long flat tail "
                                      "means a loyal core."))
    if "total_spend" in cust:
        fig, n_out = plots.log_histogram(cust["total_spend"], x_title="total_spend (currency, "
                                         "log scale)", unit="currency")
        if fig is not None:
            extra = (f" {fmt_int(n_out)} customers with total_spend <= 0 are not drawn."
                     if n_out else "")
            blocks.append(figure(fig, "Total spend per customer on a log scale: each tick is "
                                      "a multiple of the previous one. Spend is usually "
                                      "skewed, with a few customers worth many times the "
                                      "median." + extra))
    if "avg_order_value" in cust:
        fig, n_out = plots.log_histogram(cust["avg_order_value"], x_title="avg_order_value "
                                         "(currency per order, log scale)",
                                         unit="currency per order", color=plots.PALETTE[4])
        if fig is not None:
            extra = (f" {fmt_int(n_out)} customers with avg_order_value <= 0 are not drawn."
                     if n_out else "")
            blocks.append(figure(fig, "Average order value per customer on a log scale: the "
                                      "typical basket. Compare with total spend to see whether "
                                      "value comes from bigger orders or more of them." + extra))
    if not blocks:
        return note("No distribution to draw: recency_days, n_orders and total_spend are "
                    "missing or empty.")
    return grid2(*blocks)


def _countries(cust: pd.DataFrame, country: str) -> str:
    spend = pd.to_numeric(cust["total_spend"], errors="coerce") if "total_spend" in cust else None
    frame = pd.DataFrame({"country": cust[country].astype("string").fillna("(missing)")})
    frame["revenue"] = spend if spend is not None else np.nan
    agg = frame.groupby("country", sort=False).agg(customers=("country", "size"),
                                                   revenue=("revenue", "sum"))
    agg = agg.sort_values("customers", ascending=False)
    top = agg.head(15)
    series = {"share of customers": (top["customers"] / len(cust)).tolist()}
    total = agg["revenue"].sum()
    if spend is not None and total > 0:
        series["share of revenue"] = (top["revenue"] / total).tolist()
    fig = plots.hbar(top.index.tolist(), series, x_title="share (%)", percent=True)
    head = sub("cust-country", f"Countries ({country})")
    if fig is None:
        return head + note("The country column is empty.")
    more = f" Top 15 of {len(agg):,} countries shown." if len(agg) > 15 else ""
    return head + figure(fig, "Share of customers and of revenue by the customer's most "
                              "frequent country. Where the revenue bar is longer than the "
                              "customer bar, customers there spend more than average." + more)
