"""Did it work? The readout of a randomised experiment, and how big the next one must be.

- :func:`readout`: a customer-level table (one row per customer: arm, outcomes, pre-treatment
  covariates) in; per arm n, mean or rate and SD; per treatment arm absolute and relative lift
  against control with intervals and p-values (Welch for means, Newcombe's score interval for
  rates, delta method for relative lift), Holm or Benjamini-Hochberg across arms × metrics,
  CUPED adjustment with its variance reduction, and a sample-ratio-mismatch test against the
  designed shares. The sufficient statistics per arm are computed in the engine
  (:func:`arm_statistics`), so the rows never reach pandas.
- :func:`compare_means`, :func:`compare_proportions`, :func:`srm_test`: the same tests from
  sufficient statistics (n, sums, sums of squares; conversions).
- :func:`outcomes_from_log`, :func:`readout_from_log`: an assignment file (``customer_id, arm,
  assigned_at``) plus the transaction log; outcomes (converted, orders, revenue net of returns)
  over a stated window after each assignment and pre-period covariates, computed in the engine.
- :func:`plan`: power, minimum detectable effect or sample size for means and rates.

scipy and statsmodels are imported inside the functions.
"""

from valuemax.experiment._assignments import Outcomes, outcomes_from_log, readout_from_log
from valuemax.experiment._compare import Comparison, compare_means, compare_proportions
from valuemax.experiment._cuped import Adjusted, cuped
from valuemax.experiment._plan import PowerPlan, plan
from valuemax.experiment._readout import readout
from valuemax.experiment._result import ExperimentResult
from valuemax.experiment._srm import SRMTest, srm_test
from valuemax.experiment._statistics import ArmStatistics, arm_statistics

__all__ = [
    "Adjusted",
    "ArmStatistics",
    "Comparison",
    "ExperimentResult",
    "Outcomes",
    "PowerPlan",
    "SRMTest",
    "arm_statistics",
    "compare_means",
    "compare_proportions",
    "cuped",
    "outcomes_from_log",
    "plan",
    "readout",
    "readout_from_log",
    "srm_test",
]
