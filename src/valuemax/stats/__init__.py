"""Statistics with inference on the customer table: what goes with value, and how sure we are.

- correlation (Pearson, Spearman, Kendall tau-b) with n, p-value and a stated confidence
  interval (:func:`correlation`), and its matrix form with a Holm or Benjamini-Hochberg
  correction (:func:`correlation_matrix`);
- regression through statsmodels: OLS with HC3 and VIF (:func:`ols`), logistic regression
  with odds ratios and average marginal effects (:func:`logit`);
- k-fold and time-ordered cross-validation (:func:`cross_validate`);
- :func:`value_drivers`, what the main job calls on the customer table.

scipy, statsmodels and scikit-learn are imported lazily, inside the functions. Every result
says in plain words that its numbers are associations, not causes.
"""

from valuemax.stats._correlation import CorrelationTest, correlation
from valuemax.stats._cv import CVResult, cross_validate
from valuemax.stats._drivers import ValueDrivers, value_drivers
from valuemax.stats._logit import LogitResult, logit
from valuemax.stats._matrix import CorrelationMatrix, correlation_matrix
from valuemax.stats._ols import OLSResult, ols

__all__ = [
    "CVResult",
    "CorrelationMatrix",
    "CorrelationTest",
    "LogitResult",
    "OLSResult",
    "ValueDrivers",
    "correlation",
    "correlation_matrix",
    "cross_validate",
    "logit",
    "ols",
    "value_drivers",
]
