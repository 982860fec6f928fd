"""Report section 2 (Customers: distributions, countries, statistics, calibration split)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from valuemax._core.schema import geography_column
from valuemax.report import _plots as plots
from valuemax.report._format import fmt_count_share, fmt_int, fmt_num, fmt_pct, plural
from valuemax.report._html import figure, grid2, kv, note, section, sub, table

if TYPE_CHECKING:  # type only: the report renders the pipeline's record, never imports it
    from valuemax.pipeline import AnalysisResult

Subs = list[tuple[str, str]]

UNIT_NAMES = {"D": "days", "W": "weeks"}
#: Rows of the calibration/holdout table offered for download (shown: the first 20).
CALIBRATION_ROWS = 1000

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


#: Page names of the purchase-model fields: "recency" there is the time between the first
#: and the last purchase, not the days since the last purchase (the RFM recency).
_NAMES = {"frequency": "repeat purchases (frequency)",
          "recency": "{u} between first and last purchase",
          "T": "{u} from first purchase to observation end"}


def country_column(customers: pd.DataFrame) -> str | None:
    """The customers' place column (Country, 国家, 省份, 城市, ...: see
    :data:`valuemax._core.schema.GEOGRAPHY_COLUMNS`), if any."""
    return geography_column([c for c in customers.columns if c != "customer_id"])


def _stats(customers: pd.DataFrame, unit: str) -> pd.DataFrame:
    fields = [f for f in _FIELDS if f[0] in customers.columns]
    cols = [f[0] for f in fields]
    num = customers[cols].apply(pd.to_numeric, errors="coerce").astype(float)
    u1 = unit[:-1] if unit.endswith("s") else unit
    return pd.DataFrame({
        "field": [_NAMES.get(c, c).format(u=unit) for c in cols],
        "family": [f[1].replace("BTYD", "purchase model") for f in fields],
        "unit": [f[2].format(u=unit, u1=u1) for f in fields],
        "mean": num.mean().to_numpy(),
        "median": num.median().to_numpy(),
        "p90": num.quantile(0.9).to_numpy(),
        "min": num.min().to_numpy(),
        "max": num.max().to_numpy(),
    })


def customers_section(result: AnalysisResult, *,
                      title: str = "Customers") -> tuple[str, Subs]:
    """Section 2: how many customers, their RFM/BTYD distributions and summary statistics.

    ``result.customers`` has at least one customer (``analyze`` refuses a log without a
    usable row).
    """
    cust = result.customers
    subs = [("cust-overview", "Overview"), ("cust-dist", "Distributions"),
            ("cust-stats", "Summary statistics")]
    lead = ("One row per customer at the observation end: marketing RFM fields (days, orders, "
            "currency) and the purchase-model summary (repeat purchases, time between the first and "
            "the last purchase, time since the first purchase) in the stated time unit.")
    unit = UNIT_NAMES[result.time_unit]
    obs = result.quality.observation_end
    n = len(cust)
    facts = [("customers", fmt_int(n)), ("observation end", obs),
             ("time unit", f"{unit} for the purchase-model fields")]
    if "n_orders" in cust:
        one = (pd.to_numeric(cust["n_orders"], errors="coerce") == 1).sum()
        facts.append(("one-time buyers (one order)", fmt_count_share(one, n)))
    if "frequency" in cust:
        zero = (pd.to_numeric(cust["frequency"], errors="coerce") == 0).sum()
        facts.append(("no repeat purchase (frequency = 0)", fmt_count_share(zero, n)))
    parts = [sub("cust-overview", "Overview"), kv(facts)]

    parts.append(sub("cust-dist", "Distributions"))
    parts.append(_distributions(cust))
    country = country_column(cust)
    if country is not None:
        parts.append(_countries(cust, country))
        subs.insert(2, ("cust-country", "Geography"))
    else:
        parts.append(note("No country column in the source (nor a region, province or city "
                          "column): customers are not broken down by geography."))
    parts.append(sub("cust-stats", "Summary statistics"))
    stats = _stats(cust, unit)
    if len(stats):
        parts.append(table(stats, csv_name="customer_summary_statistics", terms=("field",),
                           caption="Mean, median and 90th percentile over customers."))
    else:
        parts.append(note("The customer table has none of the RFM/BTYD fields."))
    if {"customer_id", "total_spend"} <= set(cust.columns):
        cols = [c for c in ("customer_id", "n_orders", "total_spend", "recency_days", country,
                            "segment", "cluster_name") if c and c in cust.columns]
        top = cust.nlargest(10, "total_spend")[cols]
        parts.append(sub("cust-top", "Top customers by total spend"))
        parts.append(table(top, csv_name="top_customers",
                           caption="The 10 customers with the highest total spend (currency)."))
        subs.append(("cust-top", "Top customers"))
    cal = result.calibration
    if cal is not None:
        parts.append(sub("cust-calibration", "Calibration / holdout split"))
        parts.append(_calibration(cal, result, unit))
        subs.append(("cust-calibration", "Calibration / holdout"))
    return section("customers", title, lead, "".join(parts)), subs


def _distributions(cust: pd.DataFrame) -> str:
    blocks = []
    if "recency_days" in cust:
        fig = plots.histogram(cust["recency_days"], x_title="days since last purchase", unit="days", integer=True)
        if fig is not None:
            blocks.append(figure(fig, "Days since each customer's last purchase. A tall left "
                                      "edge means many recently active customers; a long "
                                      "right tail, customers who may have lapsed."))
    if "n_orders" in cust:
        orders = pd.to_numeric(cust["n_orders"], errors="coerce")
        p95 = orders.quantile(0.95)
        cap = int(max(10, np.ceil(p95))) if pd.notna(p95) else 10
        fig = plots.count_bars(orders, x_title="orders per customer", unit="orders",
                               cap=cap)
        if fig is not None:
            capped = f" (the last bar collects {cap} or more)" if orders.max() > cap else ""
            blocks.append(figure(fig, f"Orders per customer{capped}. "
                                      + _one_time_sentence(orders) + " A long flat tail "
                                      "means a loyal core of repeat buyers."))
    if "total_spend" in cust:
        fig, n_out = plots.log_histogram(cust["total_spend"], x_title="total spend (currency, "
                                         "log scale)", unit="currency")
        if fig is not None:
            extra = (f" {fmt_int(n_out)} {plural(n_out, 'customer')} with no positive total "
                     f"spend {'is' if n_out == 1 else 'are'} not drawn."
                     if n_out else "")
            blocks.append(figure(fig, "Total spend per customer on a log scale: each tick is "
                                      "a multiple of the previous one. Spend is usually "
                                      "skewed, with a few customers worth many times the "
                                      "median." + extra))
    if "avg_order_value" in cust:
        fig, n_out = plots.log_histogram(cust["avg_order_value"], x_title="average order value "
                                         "(currency per order, log scale)",
                                         unit="currency per order", color=plots.PALETTE[4])
        if fig is not None:
            extra = (f" {fmt_int(n_out)} customer{'s' if n_out != 1 else ''} with no positive "
                     f"average order value {'are' if n_out != 1 else 'is'} not drawn."
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
    fig = plots.hbar(top.index.tolist(), series, x_title="share (%)", y_title=country,
                     percent=True)
    head = sub("cust-country", f"Customers by {country}")
    if fig is None:
        return head + note(f"The column {country} is empty.")
    more = f" Top 15 of {len(agg):,} values shown." if len(agg) > 15 else ""
    return head + figure(fig, "Share of customers and of revenue by the customer's most "
                              f"frequent {country}. Where the revenue bar is longer than the "
                              "customer bar, customers there spend more than average." + more)


def _one_time_sentence(orders: pd.Series) -> str:
    """What the first bar of the orders chart holds, from the data (never assumed)."""
    valid = orders.dropna()
    if valid.empty:
        return "No customer has a recorded order count."
    one = int((valid == 1).sum())
    if one == 0:
        low = int(valid.min())
        return (f"No customer bought exactly once (0% one-time buyers): every customer has "
                f"at least {low:,} orders, so the first bar is {low:,} orders.")
    return (f"The first bar is the {one:,} one-time buyers (one order), "
            f"{fmt_pct(one / len(valid))} of customers.")


def _calibration(cal: pd.DataFrame, result: AnalysisResult, unit: str) -> str:
    """Subsection: the calibration/holdout table (BTYD summary to the calibration end)."""
    params = result.params
    n = len(cal)
    if n == 0:
        return note("The calibration/holdout table is empty: no customer had bought by the "
                    "calibration end.", warn=True)
    facts: list[tuple[str, Any]] = [
        ("calibration end", params.get("calibration_end") or "—"),
        ("customers (first purchase by the calibration end)", fmt_int(n)),
    ]
    if "frequency" in cal:
        rep = int((pd.to_numeric(cal["frequency"], errors="coerce") > 0).sum())
        facts.append(("repeat buyers in calibration (frequency > 0)", fmt_count_share(rep, n)))
    if "frequency_holdout" in cal:
        fh = pd.to_numeric(cal["frequency_holdout"], errors="coerce")
        facts.append(("mean purchases in the holdout period",
                      fmt_num(fh.mean())))
        facts.append(("customers buying in the holdout", fmt_count_share(int((fh > 0).sum()), n)))
    if "duration_holdout" in cal and cal["duration_holdout"].notna().any():
        facts.append(("holdout length", f"{fmt_num(cal['duration_holdout'].dropna().iloc[0])} "
                                        f"{unit}"))
    show = [c for c in ("customer_id", "frequency", "recency", "T", "monetary_value",
                        "frequency_holdout", "monetary_holdout") if c in cal.columns]
    top = cal.head(CALIBRATION_ROWS)
    cap = (f"For checking a purchase model against the holdout; recency and T in {unit}. "
           f"The CSV holds the first {len(top):,} of the {n:,} customers (customer id order); "
           "the full table is in the output folder (calibration_holdout.parquet).")
    return (kv(facts) + table(top, csv_name="calibration_holdout", show=show or None,
                              max_rows=20, labels={"frequency": "frequency (repeat purchases)",
                                                   "recency": f"recency ({unit})",
                                                   "T": f"T ({unit})"}, caption=cap))
