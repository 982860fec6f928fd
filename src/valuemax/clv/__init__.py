"""Customer lifetime value: buy-till-you-die (BTYD) purchase models and the spend model.

- :class:`BetaGeoModel` (BG/NBD), :class:`ModifiedBetaGeoModel` (MBG/NBD) and
  :class:`ParetoNBDModel` (Pareto/NBD) model repeat purchases and drop-out from each
  customer's ``(frequency, recency, T)``;
- :class:`GammaGammaModel` models the average value of repeat transactions.

Every model is an estimator (STYLE.md b.1-b.4): hyper-parameters in ``__init__``, data in
``fit``, fitted attributes ending in ``_``, ``summary()`` returning a :class:`FitSummary`,
``from_params(...)`` for published values. Fitting runs on the compressed unique rows.
"""

from valuemax.clv._beta_geo import BetaGeoModel
from valuemax.clv._gamma_gamma import GammaGammaModel
from valuemax.clv._modified_beta_geo import ModifiedBetaGeoModel
from valuemax.clv._pareto_nbd import ParetoNBDModel
from valuemax.clv._results import FitSummary

__all__ = [
    "BetaGeoModel",
    "FitSummary",
    "GammaGammaModel",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
]
