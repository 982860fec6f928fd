"""Display text for the report: escaping, number formats and readable column headers.

Every number shown in the page goes through :func:`fmt_value` (thousands separators, a
precision suited to its size) or :func:`fmt_pct` (``<0.1%`` for tiny non-zero shares); every
table header through :func:`header`, so a machine name such as ``n_customers`` is shown as
"customers" everywhere while the CSV downloads keep the machine names.
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np
import pandas as pd

#: Readable table headers for the machine column names of the result's tables.
LABELS: dict[str, str] = {
    "customer_id": "customer id",
    "n_customers": "customers",
    "share_customers": "share of customers",
    "revenue": "revenue (currency)",
    "revenue_share": "share of revenue",
    "mean_recency_days": "mean recency (days)",
    "mean_n_orders": "mean orders",
    "mean_total_spend": "mean spend (currency)",
    "r_level": "recency level",
    "f_level": "frequency level",
    "m_level": "spend level",
    "top_countries": "top countries",
    "rationale": "why",
    "cluster_name": "cluster",
    "ward_cluster": "Ward group",
    "n_orders": "orders",
    "n_lines": "lines",
    "total_spend": "total spend (currency)",
    "avg_order_value": "average order value (currency)",
    "recency_days": "recency (days)",
    "tenure_days": "tenure (days)",
    "first_purchase": "first purchase",
    "last_purchase": "last purchase",
    "monetary_value": "monetary value (currency)",
    "frequency_holdout": "holdout purchases",
    "monetary_holdout": "holdout spend per purchase (currency)",
    "duration_holdout": "holdout length",
    "r_score": "R score",
    "f_score": "F score",
    "m_score": "M score",
    "rfm_cell": "RFM cell",
}

#: Columns holding fractions in [0, 1], shown as percentages in every table.
PERCENT_COLUMNS = frozenset({"share_customers", "revenue_share", "share"})


def header(column: Any, labels: dict[str, str] | None = None) -> str:
    """The display header of ``column``: ``labels`` first, then :data:`LABELS`, else as is.

    >>> header("n_customers"), header("rule"), header("rows", {"rows": "rows quarantined"})
    ('customers', 'rule', 'rows quarantined')
    """
    name = str(column)
    return (labels or {}).get(name) or LABELS.get(name) or name


def esc(value: Any) -> str:
    """Escape any value for HTML text or attribute context.

    >>> esc('<script>alert("1")</script>')
    '&lt;script&gt;alert(&quot;1&quot;)&lt;/script&gt;'
    """
    return html.escape(str(value), quote=True)


def is_missing(value: Any) -> bool:
    """True for None, NaN, NaT and pandas NA."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def fmt_int(value: Any) -> str:
    """Integer with thousands separators; '—' when missing.

    >>> fmt_int(1234567)
    '1,234,567'
    """
    return "—" if is_missing(value) else f"{int(value):,}"


def fmt_num(value: Any) -> str:
    """A float with precision that suits its size; '—' when missing.

    >>> fmt_num(1234.5678), fmt_num(12.345), fmt_num(0.123456)
    ('1,235', '12.3', '0.123')
    """
    if is_missing(value):
        return "—"
    v = float(value)
    if not math.isfinite(v):
        return str(v)
    if v != 0 and v == round(v) and abs(v) < 1e15:
        return f"{int(v):,}"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:,.1f}"
    if a >= 1:
        return f"{v:,.2f}"
    return f"{v:.3g}"


def fmt_pct(value: Any) -> str:
    """A fraction in [0, 1] as a percentage; ``<0.1%`` for a tiny non-zero share.

    >>> fmt_pct(0.1234), fmt_pct(0.0), fmt_pct(0.00004), fmt_pct(0.9996)
    ('12.3%', '0%', '<0.1%', '>99.9%')
    """
    if is_missing(value):
        return "—"
    v = float(value)
    if v == 0:
        return "0%"
    if 0 < abs(v) < 0.0005:
        return "<0.1%" if v > 0 else ">-0.1%"
    if 0.9995 <= v < 1:
        return ">99.9%"
    return f"{100.0 * v:,.1f}%"


def fmt_value(value: Any) -> str:
    """Any cell value as display text (not yet escaped)."""
    if is_missing(value):
        return "—"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return fmt_int(value)
    if isinstance(value, float | np.floating):
        return fmt_num(value)
    if isinstance(value, dict | list | tuple) and len(value) == 0:
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {fmt_value(v)}" for k, v in value.items())
    if isinstance(value, list | tuple | np.ndarray):
        return ", ".join(fmt_value(v) for v in value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def fmt_count_share(count: Any, total: Any) -> str:
    """``count`` with its share of ``total``, e.g. "1,234 (28.5%)".

    >>> fmt_count_share(1234, 4330), fmt_count_share(0, 0)
    ('1,234 (28.5%)', '0')
    """
    if is_missing(count):
        return "—"
    if is_missing(total) or not total:
        return fmt_int(count)
    return f"{fmt_int(count)} ({fmt_pct(count / total)})"
