"""Ordinary least squares through statsmodels, with VIF, diagnostics and a plain reading."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from valuemax._core.exceptions import InputError
from valuemax._core.validation import check_choice
from valuemax.stats._validation import check_confidence, check_design, design

ASSOCIATION = ("These are associations, not causes: the customers who differ in a predictor "
               "also differ in ways the model does not see, so changing the predictor need not "
               "change the outcome.")

#: Predictor names whose unit reads better than "unit" in a sentence.
UNIT_WORDS = {"n_orders": "order", "n_lines": "order line", "frequency": "repeat purchase day",
              "recency_days": "day since the last purchase", "tenure_days": "day of tenure"}


#: The plain words of the quantities a logged predictor or target can hold ("1% more orders
#: goes with about 0.50% more total spend"); other names are shown with blanks for "_".
QUANTITY_WORDS = {"n_orders": "orders", "n_lines": "order lines", "total_spend": "total spend",
                  "avg_order_value": "average order value",
                  "lines_per_order": "lines per order",
                  "recency_days": "days since the last purchase",
                  "tenure_days": "days of tenure", "frequency": "repeat purchase days",
                  "monetary_value": "spend per repeat purchase"}


def quantity_words(name: str) -> str:
    """The plain words of a quantity, its ``log_``/``log1p_``/``ln_`` prefix removed.

    >>> quantity_words("log_n_orders"), quantity_words("log_clv_12"), quantity_words("x")
    ('orders', '12-month CLV', 'x')
    """
    bare = name[name.index("_") + 1:] if is_log_name(name) else name
    horizon = re.fullmatch(r"clv_(\d+)", bare)
    if horizon:
        return f"{horizon.group(1)}-month CLV"
    return QUANTITY_WORDS.get(bare, bare.replace("_", " "))


def is_log_name(name: str) -> bool:
    """True when a column name says it holds a natural log (``log_...`` or ``log1p_...``)."""
    return name.startswith(("log_", "log1p_", "ln_"))


def unit_word(name: str) -> str:
    """"each extra <unit word> of ..." wording for a predictor."""
    return UNIT_WORDS.get(name, f"unit of {name}")


@dataclass(frozen=True)
class OLSResult:
    """A fitted linear regression.

    Attributes
    ----------
    coefficients : pandas.DataFrame of shape (n_params, 7)
        ``term``, ``coef``, ``se``, ``t``, ``p_value``, ``ci_low``, ``ci_high`` (the
        intercept is ``const``); in units of y per unit of the term.
    r_squared, adj_r_squared : float
        Coefficient of determination and its degrees-of-freedom adjusted version.
    n : int
        Rows used.
    vif : pandas.DataFrame of shape (n_predictors, 2)
        ``term``, ``vif``: variance inflation factor of each predictor (constant excluded).
    residuals, fitted : ndarray of shape (n,)
        Residuals and fitted values, for residual-vs-fitted and Q-Q plots.
    reading : list of str
        Plain-language sentences, caveats included.
    notes : list of str
        What was dropped or assumed (rows with missing values, covariance type).
    y, x : str and tuple of str
        Outcome and predictors.
    robust : str or None
        ``"HC3"`` when heteroskedasticity-robust standard errors were used.
    confidence : float
        Confidence level of the intervals.
    log_outcome : bool
        Whether y is read as a natural log.
    """

    coefficients: pd.DataFrame
    r_squared: float
    adj_r_squared: float
    n: int
    vif: pd.DataFrame
    residuals: np.ndarray
    fitted: np.ndarray
    reading: list[str]
    notes: list[str]
    y: str = ""
    x: tuple[str, ...] = field(default=())
    robust: str | None = None
    confidence: float = 0.95
    log_outcome: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary: y, x, n, R², adjusted R², robust, coefficients (records)."""
        return {"y": self.y, "x": list(self.x), "n": self.n, "r_squared": self.r_squared,
                "adj_r_squared": self.adj_r_squared, "robust": self.robust,
                "coefficients": self.coefficients.to_dict(orient="records")}


def vif_frame(exog: np.ndarray, names: list[str]) -> pd.DataFrame:
    """VIF of every non-constant column (statsmodels ``variance_inflation_factor``)."""
    from statsmodels.stats.outliers_influence import variance_inflation_factor

    rows = [(name, float(variance_inflation_factor(exog, j)))
            for j, name in enumerate(names) if name != "const"]
    return pd.DataFrame(rows, columns=["term", "vif"])


def _reading(coefs: pd.DataFrame, y: str, log_y: bool, r2: float, n: int,
             resid: np.ndarray, alpha: float) -> list[str]:
    out = [f"The predictors together account for {r2:.1%} of the variation in {y} "
           f"(R², {n:,} rows)."]
    for row in coefs.itertuples(index=False):
        if row.term == "const":
            continue
        sig = "" if row.p_value < alpha else (f" (not distinguishable from zero at the "
                                              f"{1 - alpha:.0%} level, p = {row.p_value:.2g})")
        if log_y and is_log_name(row.term):
            out.append(f"1% more {quantity_words(row.term)} goes with about "
                       f"{abs(row.coef):.2f}% {'less' if row.coef < 0 else 'more'} "
                       f"{quantity_words(y)} "
                       "(an elasticity: both "
                       f"on log scales), other predictors held fixed{sig}.")
        elif log_y:
            factor = float(np.exp(row.coef))
            base = y[y.index("_") + 1:] if is_log_name(y) else y
            out.append(f"Each extra {unit_word(row.term)} is associated with {base} "
                       f"multiplied by e^β = ×{factor:.6g} ({(factor - 1) * 100:+.3g}%), "
                       f"other predictors held fixed{sig}.")
        else:
            out.append(f"Each extra {unit_word(row.term)} is associated with {row.coef:+.4g} "
                       f"in {y}, other predictors held fixed{sig}.")
    if log_y:
        out.append(f"{y} is on a log scale: effects are multiplicative (percent changes), "
                   "and a prediction back-transformed by exp is a median, not a mean.")
    sd = float(np.std(resid, ddof=1)) if resid.size > 1 else 0.0
    n_out = int((np.abs(resid) > 3 * sd).sum()) if sd > 0 else 0
    out.append(f"{n_out:,} of {n:,} rows ({n_out / n:.1%}) have a residual beyond 3 standard "
               "deviations: outliers pull least squares, so check the residual plots before "
               "trusting small effects.")
    out.append(ASSOCIATION)
    return out


def ols(
    df: pd.DataFrame,
    y: str,
    x: str | list[str],
    *,
    robust: Literal["HC3"] | None = None,
    add_constant: bool = True,
    confidence: float = 0.95,
    log_outcome: bool | None = None,
) -> OLSResult:
    """Least-squares regression of ``y`` on ``x`` (statsmodels ``OLS``).

    Rows with a missing value in y or any predictor are dropped and counted in ``notes``.
    With ``robust="HC3"`` the standard errors are MacKinnon & White's HC3 sandwich [1]_
    (statsmodels ``cov_type="HC3"``; tests and intervals then use the normal distribution, as
    statsmodels does); otherwise the classical ones (t distribution).

    Parameters
    ----------
    df : pandas.DataFrame of shape (n_rows, n_columns)
        The table.
    y : str
        Numeric outcome column.
    x : str or list of str
        Numeric predictor columns (bool columns are read as 0/1).
    robust : {None, "HC3"}, default None
        Covariance of the coefficients.
    add_constant : bool, default True
        Add an intercept (term ``const``).
    confidence : float, default 0.95
        Confidence level of the intervals.
    log_outcome : bool, optional
        Read y as a natural log in ``reading`` (each unit of x multiplies the outcome by
        e^β). Default: True when the name starts with ``log_``, ``log1p_`` or ``ln_``.

    Returns
    -------
    OLSResult
        Coefficients table, R², adjusted R², n, VIF, residuals, fitted values, reading.

    Raises
    ------
    InputError
        If a column is missing or not numeric, holds infinite values, fewer usable rows than
        parameters + 1 remain, the design is perfectly collinear (the message names the
        redundant columns), or the outcome is constant.

    References
    ----------
    .. [1] MacKinnon, J. G. & White, H. (1985). Some heteroskedasticity-consistent
       covariance matrix estimators with improved finite sample properties. Journal of
       Econometrics 29(3):305-325.

    Examples
    --------
    >>> df = pd.DataFrame({"x": [0.0, 1, 2, 3, 4], "y": [1.0, 3.1, 4.9, 7.2, 8.8]})
    >>> res = ols(df, "y", "x")
    >>> [round(v, 3) for v in res.coefficients["coef"]]
    [1.06, 1.97]
    """
    # the model's own module: statsmodels.api imports every model and test (~0.2 s more)
    from statsmodels.regression.linear_model import OLS

    check_choice("robust", robust, (None, "HC3"))
    confidence = check_confidence(confidence)
    yv, xv, notes = design(df, y, x, who="ols")
    names = list(xv.columns)
    exog = xv.to_numpy(dtype=float)
    if add_constant:
        exog = np.column_stack([np.ones(len(exog)), exog])
        names = ["const", *names]
    check_design(exog, names, "ols", n_notes=" ".join(notes))
    yy = yv.to_numpy(dtype=float)
    if np.ptp(yy) == 0:
        raise InputError(f"ols: the outcome {y!r} has the same value ({yy[0]:g}) for all "
                         f"{len(yy):,} rows: there is no variation to explain. Pick another "
                         "outcome, or a sample where it varies.")
    cov = "HC3" if robust else "nonrobust"
    if robust:
        # HC3 divides each squared residual by (1 - leverage)^2: undefined for a row that
        # alone determines a coefficient (leverage 1, e.g. a tiny log); HC1 then
        q, _ = np.linalg.qr(exog)
        n_one = int(np.sum(np.sum(q * q, axis=1) > 1 - 1e-9))
        if n_one:
            cov = "HC1"
            notes.append(f"HC3 is undefined here: {n_one:,} row{'s' if n_one > 1 else ''} "
                         f"alone determine{'' if n_one > 1 else 's'} a coefficient (leverage "
                         f"1); HC1 robust standard errors used instead")
    res = OLS(yv.to_numpy(dtype=float), exog).fit(cov_type=cov)
    ci = np.asarray(res.conf_int(alpha=1 - confidence))
    coefs = pd.DataFrame({"term": names, "coef": res.params, "se": res.bse, "t": res.tvalues,
                          "p_value": res.pvalues, "ci_low": ci[:, 0], "ci_high": ci[:, 1]})
    notes.append(f"standard errors: {cov} heteroskedasticity-robust (normal-based tests)"
                 if robust else "standard errors: classical OLS (t-based tests)")
    log_y = is_log_name(y) if log_outcome is None else bool(log_outcome)
    resid, fitted = np.asarray(res.resid), np.asarray(res.fittedvalues)
    return OLSResult(
        coefficients=coefs, r_squared=float(res.rsquared),
        adj_r_squared=float(res.rsquared_adj), n=int(res.nobs),
        vif=vif_frame(exog, names), residuals=resid, fitted=fitted,
        reading=_reading(coefs, y, log_y, float(res.rsquared), int(res.nobs), resid,
                         1 - confidence),
        notes=notes, y=y, x=tuple(xv.columns), robust=robust, confidence=confidence,
        log_outcome=log_y)
