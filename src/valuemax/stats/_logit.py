"""Logistic regression through statsmodels: odds ratios, marginal effects, separation."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from valuemax._core.exceptions import ConvergenceWarning, InputError
from valuemax.stats._ols import ASSOCIATION, unit_word
from valuemax.stats._validation import check_confidence, check_design, design


@dataclass(frozen=True)
class LogitResult:
    """A fitted logistic regression of a 0/1 outcome.

    Attributes
    ----------
    coefficients : pandas.DataFrame of shape (n_params, 10)
        ``term``, ``coef`` (log-odds per unit), ``se``, ``z``, ``p_value``, ``ci_low``,
        ``ci_high``, ``odds_ratio`` (e^coef), ``or_ci_low``, ``or_ci_high`` (e^ of the
        bounds). With ``penalized=True`` the inference columns are NaN (a penalised fit has
        no valid standard errors) and ``notes`` says so.
    marginal_effects : pandas.DataFrame of shape (n_predictors, 7)
        Average marginal effects on the probability (statsmodels
        ``get_margeff(at="overall")``): ``term``, ``dy_dx``, ``se``, ``z``, ``p_value``,
        ``ci_low``, ``ci_high``. Penalised fit: ``dy_dx = mean(p(1-p))·β`` only.
    pseudo_r_squared : float
        McFadden's ``1 - llf/llnull``.
    n : int
        Rows used.
    reading : list of str
        Plain-language sentences, caveats included.
    notes : list of str
        Rows dropped, separation, penalty.
    penalized : bool
        True when separation forced a ridge-penalised fit.
    y, x : str and tuple of str
        Outcome and predictors.
    confidence : float
        Confidence level of the intervals.
    """

    coefficients: pd.DataFrame
    marginal_effects: pd.DataFrame
    pseudo_r_squared: float
    n: int
    reading: list[str]
    notes: list[str]
    penalized: bool = False
    y: str = ""
    x: tuple[str, ...] = field(default=())
    confidence: float = 0.95

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary: y, x, n, pseudo R², penalized, coefficients (records)."""
        return {"y": self.y, "x": list(self.x), "n": self.n,
                "pseudo_r_squared": self.pseudo_r_squared, "penalized": self.penalized,
                "coefficients": self.coefficients.to_dict(orient="records")}


def _binary(yv: pd.Series, y: str) -> np.ndarray:
    values = yv.to_numpy(dtype=float)
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        shown = ", ".join(f"{v:g}" for v in np.unique(values[bad])[:5])
        raise InputError(f"logit: y={y!r} must be 0/1; {int(bad.sum()):,} of {values.size:,} "
                         f"rows hold other values ({shown}). Recode it, e.g. "
                         f"(df[{y!r}] > 0).astype(int).")
    n1 = int(values.sum())
    if n1 in (0, values.size):
        raise InputError(f"logit: y={y!r} has a single class ({'all 1' if n1 else 'all 0'} "
                         f"in {values.size:,} rows); a logistic model needs both 0 and 1.")
    return values


def _fit_mle(endog: np.ndarray, exog: np.ndarray) -> tuple[Any, bool]:
    """statsmodels Logit by Newton; second value True when separation showed up."""
    # the model's own module: statsmodels.api imports every model and test (~0.2 s more)
    from statsmodels.discrete.discrete_model import Logit
    from statsmodels.tools.sm_exceptions import (
        ConvergenceWarning as SMConvergence,
    )
    from statsmodels.tools.sm_exceptions import (
        HessianInversionWarning,
        PerfectSeparationError,
        PerfectSeparationWarning,
    )

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = Logit(endog, exog).fit(disp=0, maxiter=100)
        except (PerfectSeparationError, np.linalg.LinAlgError):
            return None, True
    flagged = any(issubclass(w.category, PerfectSeparationWarning | SMConvergence
                             | HessianInversionWarning | RuntimeWarning) for w in caught)
    prob = np.asarray(res.predict())
    extreme = bool(np.all((prob < 1e-6) | (prob > 1 - 1e-6)))
    converged = bool(res.mle_retvals.get("converged", True))
    bad_se = not np.all(np.isfinite(np.asarray(res.bse)))
    return res, flagged or extreme or not converged or bad_se


def _penalized(endog: np.ndarray, exog: np.ndarray, names: list[str], add_constant: bool,
               c: float) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    cols = [j for j, nm in enumerate(names) if nm != "const"]
    model = LogisticRegression(C=c, fit_intercept=add_constant, max_iter=1000)
    model.fit(exog[:, cols], endog.astype(int))
    coef = np.zeros(len(names))
    coef[cols] = model.coef_[0]
    if add_constant:
        coef[names.index("const")] = model.intercept_[0]
    return coef


def _reading(coefs: pd.DataFrame, ame: pd.DataFrame, y: str, alpha: float,
             penalized: bool) -> list[str]:
    out = []
    for row in coefs.itertuples(index=False):
        if row.term == "const":
            continue
        sig = ("" if penalized or row.p_value < alpha else
               f" (not distinguishable from no effect at the {1 - alpha:.0%} level, "
               f"p = {row.p_value:.2g})")
        out.append(f"Each extra {unit_word(row.term)} multiplies the odds of {y} = 1 by "
                   f"e^β = {row.odds_ratio:.4g}, other predictors held fixed{sig}.")
    for row in ame.itertuples(index=False):
        out.append(f"On average over the customers, one more {unit_word(row.term)} changes the "
                   f"probability of {y} = 1 by {row.dy_dx * 100:+.2f} percentage points; the "
                   "change for one customer depends on their starting probability "
                   "(β·p·(1-p)), so it is not a fixed percentage.")
    if penalized:
        out.append("The data are perfectly separated, so the plain maximum-likelihood fit does "
                   "not exist; the coefficients come from a ridge-penalised fit, are shrunk "
                   "towards zero and have no standard errors or p-values.")
    out.append(ASSOCIATION)
    return out


def logit(
    df: pd.DataFrame,
    y: str,
    x: str | list[str],
    *,
    add_constant: bool = True,
    confidence: float = 0.95,
    penalty_c: float = 1.0,
) -> LogitResult:
    """Logistic regression of a 0/1 outcome (statsmodels ``Logit``, Newton's method).

    Coefficients are log-odds per unit of a predictor; ``odds_ratio = e^coef`` is the factor
    by which one more unit multiplies the odds (not the probability: DESIGN.md §7), with its
    interval ``e^ci``. Average marginal effects are statsmodels'
    ``get_margeff(at="overall")``. Rows with a missing value are dropped and counted in
    ``notes``.

    Under perfect or quasi-perfect separation the maximum-likelihood estimate does not
    exist (statsmodels warns, or a coefficient diverges); a
    ``valuemax._core.ConvergenceWarning`` is emitted and the model is refitted with an L2
    penalty (scikit-learn ``LogisticRegression(C=penalty_c)``, intercept unpenalised);
    ``penalized`` is then True.

    Parameters
    ----------
    df : pandas.DataFrame of shape (n_rows, n_columns)
        The table.
    y : str
        Outcome column holding only 0 and 1 (bool allowed), both present.
    x : str or list of str
        Numeric predictor columns.
    add_constant : bool, default True
        Add an intercept (term ``const``).
    confidence : float, default 0.95
        Confidence level of the intervals.
    penalty_c : float, default 1.0
        Inverse L2 strength of the fallback fit (scikit-learn's ``C``).

    Returns
    -------
    LogitResult
        Coefficients with odds ratios, average marginal effects, McFadden pseudo R², n,
        reading, ``penalized``.

    Raises
    ------
    InputError
        If y is not 0/1 or has one class, a column is missing or not numeric, too few rows
        remain, or the design is perfectly collinear.

    Warns
    -----
    ConvergenceWarning
        Perfect separation: a penalised fit is returned.

    Examples
    --------
    >>> df = pd.DataFrame({"n_orders": [1, 2, 3, 4, 5, 6, 7, 8],
    ...                    "bought": [0, 0, 1, 0, 1, 0, 1, 1]})
    >>> res = logit(df, "bought", "n_orders")
    >>> row = res.coefficients.iloc[1]
    >>> bool(np.isclose(row.odds_ratio, np.exp(row.coef)))
    True
    """
    confidence = check_confidence(confidence)
    yv, xv, notes = design(df, y, x, who="logit")
    endog = _binary(yv, y)
    names = list(xv.columns)
    exog = xv.to_numpy(dtype=float)
    if add_constant:
        exog = np.column_stack([np.ones(len(exog)), exog])
        names = ["const", *names]
    check_design(exog, names, "logit", n_notes=" ".join(notes))
    res, separated = _fit_mle(endog, exog)
    alpha = 1 - confidence
    if not separated:
        ci = np.asarray(res.conf_int(alpha=alpha))
        coefs = pd.DataFrame({"term": names, "coef": res.params, "se": res.bse,
                              "z": res.tvalues, "p_value": res.pvalues, "ci_low": ci[:, 0],
                              "ci_high": ci[:, 1]})
        mf = res.get_margeff(at="overall", method="dydx").summary_frame(alpha=alpha)
        ame = pd.DataFrame({"term": [n for n in names if n != "const"],
                            "dy_dx": mf.iloc[:, 0].to_numpy(), "se": mf.iloc[:, 1].to_numpy(),
                            "z": mf.iloc[:, 2].to_numpy(), "p_value": mf.iloc[:, 3].to_numpy(),
                            "ci_low": mf.iloc[:, 4].to_numpy(),
                            "ci_high": mf.iloc[:, 5].to_numpy()})
        pseudo = float(res.prsquared)
    else:
        warnings.warn(
            f"logit: {y!r} is perfectly (or quasi-perfectly) separated by {list(xv.columns)}: "
            "the maximum-likelihood coefficients diverge. Returning a ridge-penalised fit "
            f"(scikit-learn LogisticRegression, C={penalty_c}) flagged penalized=True, "
            "without standard errors.", ConvergenceWarning, stacklevel=2)
        coef = _penalized(endog, exog, names, add_constant, penalty_c)
        nan = np.full(len(names), np.nan)
        coefs = pd.DataFrame({"term": names, "coef": coef, "se": nan, "z": nan,
                              "p_value": nan, "ci_low": nan, "ci_high": nan})
        eta = exog @ coef
        prob = 1.0 / (1.0 + np.exp(-eta))
        slopes = float(np.mean(prob * (1 - prob)))
        keep = [j for j, nm in enumerate(names) if nm != "const"]
        nan_k = np.full(len(keep), np.nan)
        ame = pd.DataFrame({"term": [names[j] for j in keep], "dy_dx": slopes * coef[keep],
                            "se": nan_k, "z": nan_k, "p_value": nan_k, "ci_low": nan_k,
                            "ci_high": nan_k})
        pseudo = _mcfadden(endog, prob)
        notes.append(f"perfect separation: ridge-penalised fit (C={penalty_c}); se, z, "
                     "p-values and intervals are not defined and left NaN")
    coefs["odds_ratio"] = np.exp(coefs["coef"])
    coefs["or_ci_low"] = np.exp(coefs["ci_low"])
    coefs["or_ci_high"] = np.exp(coefs["ci_high"])
    return LogitResult(
        coefficients=coefs.reset_index(drop=True), marginal_effects=ame,
        pseudo_r_squared=pseudo, n=len(endog),
        reading=_reading(coefs, ame, y, alpha, separated), notes=notes, penalized=separated,
        y=y, x=tuple(xv.columns), confidence=confidence)


def _mcfadden(endog: np.ndarray, prob: np.ndarray) -> float:
    """McFadden's pseudo R² of probabilities ``prob`` against the intercept-only model."""
    eps = np.finfo(float).tiny
    llf = float(np.sum(endog * np.log(np.maximum(prob, eps))
                       + (1 - endog) * np.log(np.maximum(1 - prob, eps))))
    p0 = float(endog.mean())
    llnull = float(endog.size * (p0 * np.log(p0) + (1 - p0) * np.log(1 - p0)))
    return 1.0 - llf / llnull
