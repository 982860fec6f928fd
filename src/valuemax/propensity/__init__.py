"""Who buys next: buy-again propensity within H days, its baselines and per-customer scores.

- :func:`build_training_frame`: point-in-time features (RFM, BTYD summary, inter-purchase
  times, spend trend, product diversity, categorical modes) and the buy-again label at
  rolling cutoffs, built in the engine;
- :func:`fit_propensity`: logistic regression and gradient boosting tuned by time-ordered
  CV, calibrated, compared with recency and BG/NBD on a holdout window, then scoring every
  customer (:class:`PropensityResult`);
- :func:`can_run`: whether the log spans the two horizons the job needs.
"""

from valuemax.propensity._days import build_training_frame
from valuemax.propensity._fit import can_run, fit_propensity
from valuemax.propensity._models import SeparationWarning
from valuemax.propensity._result import CHURN_THRESHOLDS, PropensityResult

__all__ = [
    "CHURN_THRESHOLDS",
    "PropensityResult",
    "SeparationWarning",
    "build_training_frame",
    "can_run",
    "fit_propensity",
]
