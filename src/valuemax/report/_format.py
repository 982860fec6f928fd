"""Display text for the report: escaping, number formats and readable column headers.

Every number shown in the page goes through :func:`fmt_value` (thousands separators, a
precision suited to its size) or :func:`fmt_pct` (``<0.1%`` for tiny non-zero shares); every
table header through :func:`header`, so a machine name such as ``n_customers`` is shown as
"customers" everywhere while the CSV downloads keep the machine names.
"""

from __future__ import annotations

import html
import math
import re
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
    "share_same_action": "share in segments with this action",
    "mean_recency_days": "mean days since last purchase",
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
    "recency_days": "days since last purchase",
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
    "customers_with_suggestions": "customers with suggestions",
    "top_suggestions": "top suggestions",
    "importance_mean": "mean AUC drop",
    "importance_sd": "SD of the AUC drop",
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "brier": "Brier score",
    "top_decile_lift": "top-decile lift",
    "churn_risk": "churn risk",
    "holdout_mae": "holdout error per customer",
    "holdout_rmse": "holdout RMSE",
    "predicted_total": "predicted holdout purchases",
    "actual_total": "actual holdout purchases",
    "std_error": "standard error",
    "loglik": "log-likelihood",
    "bic": "BIC",
    "source column": "source column",
}

#: Plain words for the machine names that reach the page (features, columns, model keys).
#: :func:`plain` substitutes them as whole words; :func:`term` maps one name.
TERMS: dict[str, str] = {
    "customer_id": "customer id", "order_id": "order id", "order_ts": "order date",
    "unit_price": "unit price", "product_id": "product code", "product_name": "product name",
    "recency_days": "days since last purchase", "n_orders": "orders", "n_lines": "order lines",
    "total_spend": "total spend", "avg_order_value": "average order value",
    "tenure_days": "days since first purchase", "monetary_value": "spend per repeat purchase",
    "log_total_spend": "log of total spend", "log_n_orders": "log of orders",
    "log_lines_per_order": "log of lines per order", "log_avg_order_value":
    "log of average order value", "log1p_recency_days": "log of days since last purchase",
    "log1p_n_orders": "log of orders", "log1p_total_spend": "log of total spend",
    "log1p_avg_order_value": "log of average order value",
    "log1p_tenure_days": "log of days since first purchase",
    "log_recency_days": "log of days since last purchase",
    "log_tenure_days": "log of days since first purchase",
    "ipt_mean": "mean days between purchases", "ipt_cv": "regularity of the gaps between "
    "purchases", "spend_last_90d": "spend in the last 90 days", "spend_prev_90d":
    "spend in the 90 days before", "spend_trend": "spend trend", "product_diversity":
    "share of distinct products", "return_rate": "share returned",
    "p_alive": "P(alive)", "expected_avg_value": "expected spend per purchase",
    "clv_from_prior_only": "the CLV-from-the-prior-only flag",
    "expected_next_purchase": "expected next purchase", "btyd_expected_purchases":
    "BG/NBD expected purchases", "btyd_p_alive": "BG/NBD P(alive)",
    "frequency_holdout": "holdout purchases", "monetary_holdout": "holdout spend per purchase",
    "duration_holdout": "holdout length", "split_date": "split date",
    "min_support": "minimum support", "min_confidence": "minimum confidence",
    "min_lift": "minimum lift", "max_len": "maximum rule length", "rows_in": "rows in",
    "rows_clean": "clean rows", "rows_quarantined": "quarantined rows",
    "is_outlier": "outlier flag", "r_score": "R score", "f_score": "F score",
    "m_score": "M score", "rfm_cell": "RFM cell", "cluster_name": "cluster",
    "observation_end": "observation end", "calibration_end": "calibration end",
    "time_unit": "time unit", "const": "intercept",
}
_TERM_WORD = re.compile(r"(?<![\w.])(" + "|".join(sorted(map(re.escape, TERMS), key=len,
                                                          reverse=True)) + r")(?![\w(=])")
# a name followed by "=" is an option's value in a command (--map order_id=COLUMN): kept
_HORIZON_TERM = re.compile(r"(?<![\w.])(clv|expected_purchases)_(\d+)(?![\w(=])")
_P_BUY = re.compile(r"(?<![\w.])p_buy_(\d+)d(?![\w(=])")

#: What a marketer should not have to read in the visible page: machine identifiers
#: (snake_case), optimiser internals, scientific-notation floats, parameter vectors and
#: exception class names. Such text goes to the "Model diagnostics" part.
TECHNICAL = re.compile(
    r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b"          # snake_case identifiers
    r"|ABNORMAL|converged_|\w+_\b"               # optimiser flags, fitted attributes
    r"|\b\d+(?:\.\d+)?[eE][-+]?\d+\b"             # 2.7e-11
    r"|\[\s*-?[\d.]+(?:[eE][-+]?\d+)?(?:\s*,\s*-?[\d.]+(?:[eE][-+]?\d+)?){1,}\s*\]"
    r"|\b[A-Z][a-z]+(?:[A-Z][a-z]+)*(?:Error|Warning|Exception)\b"
    r"|\b[A-Za-z]+(?:Model|Classifier|Regressor)\.[a-z_]+"
    r"|\b(?:[A-Z][a-z]+){2,}(?:CV|Classifier|Regressor|Model)\b"  # CalibratedClassifierCV
    # statistics jargon a marketer should not meet outside the diagnostics (QA findings)
    r"|0\.6745|\bMAD\b|Fader & Hardie|BTYD summary|\bheterogeneity\b|search bound"
    r"|log-likelihood|\bBIC\b|independence assumption|\bNaN\b|CV ROC AUC"
    r"|sigmoid calibration|dropped feature|e\^β|\bMAE\b|\bHC3\b|\bVIF\b|\bHolm\b"
    r"|[-+]inf\b|\bJSON\b")


def term(name: Any) -> str:
    """The plain words for one machine name (``n_orders`` -> "orders"), else the name.

    >>> term("recency_days"), term("clv_12"), term("Country")
    ('days since last purchase', '12-month CLV', 'Country')
    """
    return plain(str(name))


def plain(text: Any) -> str:
    """``text`` with every known machine name replaced by plain words.

    >>> plain("log_total_spend rises with n_orders; p_buy_90d and expected_purchases_12")
    'log of total spend rises with orders; P(buy within 90 days) and expected purchases, 12 months'
    >>> plain("map the column as order_id (CLI: --map order_id=COLUMN)")
    'map the column as order id (CLI: --map order_id=COLUMN)'
    """
    out = _HORIZON_TERM.sub(lambda m: f"{m.group(2)}-month CLV" if m.group(1) == "clv"
                            else f"expected purchases, {m.group(2)} months", str(text))
    out = _P_BUY.sub(lambda m: f"P(buy within {m.group(1)} days)", out)
    return _TERM_WORD.sub(lambda m: TERMS[m.group(1)], out)


def explained_share(target: str, r_squared: float, predictors: Any) -> str:
    """The value regression's fit in plain words: which predictors, together, explain what
    share of the spread in the target between customers (R² in brackets).

    >>> explained_share("log(clv_12)", 0.8812, ["log_n_orders", "recency_days"])
    'together, log of orders and days since last purchase explain 88% of the spread in (log) 12-month CLV between customers (R² 0.88; associations, not causes)'
    """
    names = [plain(p) for p in predictors]
    said = (", ".join(names[:-1]) + " and " + names[-1]) if len(names) > 1 else \
        "".join(names)
    what = re.sub(r"^log1?p?\((.*)\)$", r"(log) \1", plain(target))
    return (f"together, {said} explain {r_squared:.0%} of the spread in {what} between "
            f"customers (R² {r_squared:.2f}; associations, not causes)")


def is_technical(text: Any) -> bool:
    """True when ``text``, even after :func:`plain`, holds machine names or raw internals.

    >>> is_technical("ipt_cv below two gaps"), is_technical("estimates [7.4, 62.8, 0.0]")
    (False, True)
    >>> is_technical("ABNORMAL: line search failed"), is_technical("p = 2.7e-11")
    (True, True)
    >>> is_technical("12,054 of 23,570 customers have no repeat purchase")
    False
    """
    return bool(TECHNICAL.search(plain(text)))

#: Columns holding fractions in [0, 1], shown as percentages in every table.
PERCENT_COLUMNS = frozenset({"share_customers", "revenue_share", "share", "share_same_action"})


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

    >>> fmt_num(1234.5678), fmt_num(12.345), fmt_num(0.123456), fmt_num(2.7e-11)
    ('1,235', '12.3', '0.123', '≈0')
    >>> fmt_num(8.3e-5), fmt_num(-0.000607)
    ('0.000083', '-0.000607')
    """
    if is_missing(value):
        return "—"
    v = float(value)
    if not math.isfinite(v):
        return str(v)
    if v != 0 and v == round(v) and abs(v) < 1e15:
        return f"{int(v):,}"
    a = abs(v)
    if 0 < a < 1e-6:  # never 2.7e-11 in the page; the CSV keeps the value
        return "≈0"
    if 0 < a < 1e-4:  # two significant digits in plain decimals (an SE of 8.3e-5 is not ≈0)
        return f"{v:.{1 - math.floor(math.log10(a))}f}"
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


def plural(n: Any, word: str, many: str | None = None) -> str:
    """``word`` in the singular for one, else its plural (``many``, or ``word`` + "s").

    >>> plural(1, "customer"), plural(2, "customer"), plural(0, "basket"), plural(3, "day")
    ('customer', 'customers', 'baskets', 'days')
    >>> plural(2, "category", "categories")
    'categories'
    """
    one = not is_missing(n) and float(n) == 1
    return word if one else (many or word + "s")


def count(n: Any, word: str, many: str | None = None) -> str:
    """``n`` with thousands separators and ``word`` in the right number.

    >>> count(1, "customer"), count(1234, "customer"), count(2, "query", "queries")
    ('1 customer', '1,234 customers', '2 queries')
    """
    return f"{fmt_int(n)} {plural(n, word, many)}"


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
