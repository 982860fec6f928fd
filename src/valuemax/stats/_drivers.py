"""What goes with customer value: the correlations and the regression the main job reports."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from valuemax._core.exceptions import InputError
from valuemax.stats._matrix import CorrelationMatrix, correlation_matrix
from valuemax.stats._ols import OLSResult, ols
from valuemax.stats._validation import check_columns, check_frame, is_numeric

#: RFM / behaviour columns of the customer table (valuemax.features.customer_table).
BEHAVIOUR = ("recency_days", "tenure_days", "n_orders", "n_lines", "frequency", "total_spend",
             "avg_order_value", "monetary_value")
#: Columns a BTYD/CLV model adds (valuemax.clv), matched by name.
MODEL_OUTPUT = re.compile(r"^(p_alive|expected_purchases(_\w+)?|clv(_\d+)?)$")
CLV = re.compile(r"^clv_\d+$")  # not the clv_from_prior_only flag

#: Why a column is kept out of the regression, by target kind.
_WHY_SPEND = {
    "avg_order_value": "total_spend = n_orders × avg_order_value exactly, so with log n_orders "
                       "it would make the regression an identity (R² = 1)",
    "monetary_value": "mean spend per repeat purchase day: with the order count it rebuilds "
                      "total_spend almost exactly",
    "frequency": "repeat purchase days, nearly n_orders − 1 (a duplicate of n_orders)",
    "n_lines": "entered as lines per order (n_lines itself grows with n_orders)",
    "total_spend": "the outcome",
}
_WHY_CLV = {
    "total_spend": "total_spend = n_orders × avg_order_value exactly (both are predictors)",
    "monetary_value": "an input of the CLV model (spend model): the fit would recover the "
                      "model's formula, not the customers' behaviour",
    "frequency": "an input of the CLV model, nearly n_orders − 1",
    "n_lines": "entered as lines per order (n_lines itself grows with n_orders)",
}


@dataclass(frozen=True)
class ValueDrivers:
    """What goes with value in a customer table.

    Attributes
    ----------
    correlations : CorrelationMatrix
        Spearman correlations of the behaviour (and model-output) columns, Holm-adjusted.
    regression : OLSResult or None
        OLS (HC3) of the transformed target on the predictors; None when it could not be
        fitted (the reason is in ``notes``).
    target : str
        The regression outcome as read, e.g. ``"log(total_spend)"`` or
        ``"log1p(clv_12)"``.
    notes : list of str
        Target choice, transforms, predictors and excluded columns with reasons, dropped rows.
    target_column : str
        The customer-table column behind ``target``.
    predictors : tuple of str
        Regression terms (``log_n_orders`` = log of ``n_orders``, and so on).
    excluded : dict of str to str
        Column -> why it is not a predictor.
    """

    correlations: CorrelationMatrix
    regression: OLSResult | None
    target: str
    notes: list[str]
    target_column: str = ""
    predictors: tuple[str, ...] = field(default=())
    excluded: dict[str, str] = field(default_factory=dict)

    def top_correlations(self, k: int = 5) -> pd.DataFrame:
        """The ``k`` pairs with the target column of largest |r| (rows of ``long``)."""
        long = self.correlations.long
        col = self.target_column
        part = long[(long["x"] == col) | (long["y"] == col)] if col in self.correlations.columns \
            else long
        part = part.assign(abs_r=part["r"].abs()).sort_values("abs_r", ascending=False)
        return part.drop(columns="abs_r").head(k).reset_index(drop=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary for ``summary.json`` (``stats``); NaN becomes None."""
        reg = self.regression
        top = [{"x": r.x, "y": r.y, "r": r.r, "n": int(r.n), "p_adjusted": r.p_adjusted}
               for r in self.top_correlations().itertuples(index=False)]
        out = {"target": self.target, "target_column": self.target_column,
               "n": None if reg is None else reg.n,
               "r_squared": None if reg is None else reg.r_squared,
               "adj_r_squared": None if reg is None else reg.adj_r_squared,
               "predictors": list(self.predictors), "correlation_method":
               self.correlations.method, "adjust": self.correlations.adjust,
               "top_correlations": top,
               "coefficients": [] if reg is None else reg.coefficients[
                   ["term", "coef", "ci_low", "ci_high", "p_value"]].to_dict(orient="records"),
               "dropped_columns": dict(self.correlations.dropped)}
        return _plain(out)


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _default_features(customers: pd.DataFrame) -> list[str]:
    cols = [c for c in BEHAVIOUR if c in customers.columns]
    return cols + [c for c in customers.columns if isinstance(c, str) and MODEL_OUTPUT.match(c)]


def _choose_target(customers: pd.DataFrame, target: str | None) -> tuple[str, str]:
    """(target column, reason) — a clv_* column when one exists, else total_spend."""
    if target is not None:
        check_columns(customers, [target], "value_drivers")
        return target, f"target {target!r} chosen by the caller"
    clv = sorted(c for c in customers.columns if isinstance(c, str) and CLV.match(c))
    if clv:
        return clv[0], (f"target {clv[0]!r}: a CLV forecast is in the table, so the regression "
                        "explains forecast value")
    if "total_spend" in customers.columns:
        return "total_spend", "target 'total_spend' (no CLV column in the table)"
    raise InputError("value_drivers needs a 'total_spend' or 'clv_<horizon>' column (or "
                     f"target=...); available columns: {list(customers.columns)}.")


def _transform(values: pd.Series, name: str, notes: list[str]) -> tuple[pd.Series, str]:
    if not is_numeric(values):
        raise InputError(f"value_drivers: target {name!r} must be numeric; it has dtype "
                         f"{values.dtype}.")
    neg = values < 0
    if neg.any():
        notes.append(f"{int(neg.sum()):,} customers with negative {name} (net returns above "
                     "purchases) left out of the regression: a log needs values >= 0.")
        values = values.where(~neg)
    if (values.dropna() > 0).all():
        return np.log(values), f"log({name})"
    notes.append(f"{name} has zeros, so the outcome is log1p({name}) = log(1 + {name}).")
    return np.log1p(values), f"log1p({name})"


def value_drivers(
    customers: pd.DataFrame,
    *,
    target: str | None = None,
    features: Sequence[str] | None = None,
    confidence: float = 0.95,
) -> ValueDrivers:
    """What goes with customer value: rank correlations and a log-scale regression.

    1. Spearman correlations (pairwise complete, Holm-adjusted over the pairs) of the
       behaviour columns (recency_days, tenure_days, n_orders, n_lines, frequency,
       total_spend, avg_order_value, monetary_value) and any model outputs (p_alive,
       expected_purchases_*, clv_*) present.
    2. An OLS with HC3 standard errors of ``log(total_spend)`` — or ``log1p(clv_<h>)`` when
       a CLV column exists — on predictors chosen to avoid accounting identities:
       ``recency_days`` and ``tenure_days`` (days, bounded by the observation window, kept
       linear), ``log_n_orders`` (log of the right-skewed order count) and
       ``log_lines_per_order`` (log of n_lines / n_orders); for a CLV target also
       ``log_avg_order_value``. Left out, with the reason in ``excluded``: avg_order_value
       for spend (``total_spend = n_orders × avg_order_value``, an identity with R² = 1),
       monetary_value and frequency (near-duplicates / model inputs), the model outputs.

    Parameters
    ----------
    customers : pandas.DataFrame of shape (n_customers, n_columns)
        One row per customer (``valuemax.features.customer_table`` plus optional CLV
        columns).
    target : str, optional
        Outcome column (``"total_spend"`` or a ``clv_*`` column); default as above.
    features : sequence of str, optional
        Columns of the correlation matrix; default as in step 1.
    confidence : float, default 0.95
        Confidence level of the intervals.

    Returns
    -------
    ValueDrivers
        ``correlations``, ``regression``, ``target``, ``notes``, ``to_dict()``.

    Raises
    ------
    InputError
        If ``customers`` is not a non-empty DataFrame, has neither total_spend nor a clv_*
        column, or fewer than two usable feature columns.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> n = 200
    >>> orders = rng.integers(1, 20, n)
    >>> aov = rng.lognormal(3, 0.5, n)
    >>> cust = pd.DataFrame({"recency_days": rng.integers(0, 365, n),
    ...                      "tenure_days": rng.integers(365, 730, n), "n_orders": orders,
    ...                      "n_lines": orders * rng.integers(1, 9, n),
    ...                      "total_spend": orders * aov, "avg_order_value": aov})
    >>> vd = value_drivers(cust)
    >>> vd.target, vd.regression.r_squared < 0.99
    ('log(total_spend)', True)
    """
    customers = check_frame(customers, "value_drivers")
    notes: list[str] = []
    col, why = _choose_target(customers, target)
    notes.append(why + ".")
    feats = list(features) if features is not None else _default_features(customers)
    if col not in feats and features is None:
        feats.append(col)
    corr = correlation_matrix(customers, columns=feats, method="spearman", adjust="holm",
                              confidence=confidence)
    notes.extend(f"{c} left out of the correlations: {r}." for c, r in corr.dropped.items())
    outcome, target_name = _transform(customers[col], col, notes)
    is_clv = bool(CLV.match(col))
    data = pd.DataFrame({"log_" + col if target_name.startswith("log(") else "log1p_" + col:
                         outcome}, index=customers.index)
    y_name = data.columns[0]
    cols = set(customers.columns)
    built: dict[str, str] = {}
    for c in ("recency_days", "tenure_days"):
        if c in cols and is_numeric(customers[c]):
            data[c] = customers[c].astype(float)
            built[c] = f"{c} (days, linear)"
    if "n_orders" in cols and is_numeric(customers["n_orders"]):
        orders = customers["n_orders"].astype(float)
        data["log_n_orders"] = np.log(orders.where(orders > 0))
        built["log_n_orders"] = "log(n_orders)"
        if "n_lines" in cols and is_numeric(customers["n_lines"]):
            per = customers["n_lines"].astype(float) / orders.where(orders > 0)
            data["log_lines_per_order"] = np.log(per.where(per > 0))
            built["log_lines_per_order"] = "log(n_lines / n_orders)"
    if is_clv and "avg_order_value" in cols and is_numeric(customers["avg_order_value"]):
        aov = customers["avg_order_value"].astype(float)
        data["log_avg_order_value"] = np.log(aov.where(aov > 0))
        built["log_avg_order_value"] = "log(avg_order_value)"
    why_out = dict(_WHY_CLV if is_clv else _WHY_SPEND)
    for c in customers.columns:
        if isinstance(c, str) and MODEL_OUTPUT.match(c) and c != col:
            why_out[c] = ("an output of the CLV/BTYD model fitted on the same history "
                          "(a component or proxy of the outcome)")
    excluded = {c: r for c, r in why_out.items() if c in cols and c != col}
    for c in list(built):
        values = data[c].dropna()
        if values.empty or np.ptp(values.to_numpy()) == 0:
            notes.append(f"predictor {c} dropped: constant or missing for every customer.")
            del built[c]
            data = data.drop(columns=c)
    regression = None
    if built:
        notes.append("regression predictors: " + "; ".join(built.values()) + ".")
        try:
            regression = ols(data, y_name, list(built), robust="HC3", confidence=confidence)
        except InputError as exc:
            notes.append(f"regression not fitted: {exc}")
        else:
            notes.extend(regression.notes)
    else:
        notes.append("regression not fitted: none of recency_days, tenure_days, n_orders is "
                     "usable.")
    if regression is not None and is_clv:
        notes.append(f"{col} is a model forecast built from the purchase history, so a high R² "
                     "describes the model more than the customers.")
    return ValueDrivers(correlations=corr, regression=regression, target=target_name,
                        notes=notes, target_column=col, predictors=tuple(built),
                        excluded=excluded)
