"""Customer lifetime value: buy-till-you-die (BTYD) purchase models and the spend model.

- :class:`BetaGeoModel` (BG/NBD), :class:`ModifiedBetaGeoModel` (MBG/NBD) and
  :class:`ParetoNBDModel` (Pareto/NBD) model repeat purchases and drop-out from each
  customer's ``(frequency, recency, T)``;
- :class:`GammaGammaModel` models the average value of repeat transactions;
- :class:`BetaGeoBetaBinomModel` (BG/BB) models repeat transactions at discrete opportunities
  from ``(frequency, recency, n_periods)``, and :class:`ShiftedBetaGeoModel` (sBG)
  contractual retention from a cohort's survivor counts.

Every model is an estimator (STYLE.md b.1-b.4): hyper-parameters in ``__init__``, data in
``fit``, fitted attributes ending in ``_``, ``summary()`` returning a :class:`FitSummary`,
``from_params(...)`` for published values. Fitting runs on the compressed unique rows.

Which purchase model to use for a customer base is decided here, by :func:`choose_model`
(minimum repeat buyers, holdout comparison or BIC, refit with fallback); the main job only
calls it.
"""

from valuemax.clv._beta_geo import BetaGeoModel
from valuemax.clv._beta_geo_beta_binom import BetaGeoBetaBinomModel
from valuemax.clv._choose import (
    MIN_REPEAT_BUYERS,
    MODEL_OPTIONS,
    ONE_RATE,
    ModelChoice,
    choose_model,
    limit_effect,
)
from valuemax.clv._gamma_gamma import GammaGammaModel
from valuemax.clv._holdout import HoldoutValidation, holdout_validation, tracking_curve
from valuemax.clv._modified_beta_geo import ModifiedBetaGeoModel
from valuemax.clv._pareto_nbd import ParetoNBDModel
from valuemax.clv._results import FitSummary
from valuemax.clv._select import ModelComparison, compare_models, loglik_ties
from valuemax.clv._shifted_beta_geo import ShiftedBetaGeoModel
from valuemax.clv._value import (
    clv_table,
    customer_lifetime_value,
    same_expected_spend,
    spend_independence,
)

__all__ = [
    "MIN_REPEAT_BUYERS",
    "MODEL_OPTIONS",
    "ONE_RATE",
    "BetaGeoBetaBinomModel",
    "BetaGeoModel",
    "FitSummary",
    "GammaGammaModel",
    "HoldoutValidation",
    "ModelChoice",
    "ModelComparison",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "ShiftedBetaGeoModel",
    "choose_model",
    "clv_table",
    "compare_models",
    "customer_lifetime_value",
    "holdout_validation",
    "limit_effect",
    "loglik_ties",
    "same_expected_spend",
    "spend_independence",
    "tracking_curve",
]
