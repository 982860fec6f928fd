"""The log-likelihoods of the CLV models, one module per model family.

- :mod:`.bg_nbd`: BG/NBD and MBG/NBD (continuous time, drop-out after a purchase);
- :mod:`.pareto_nbd`: Pareto/NBD (continuous time, drop-out at any time) and its
  died-integral term (series, binomial series or quadrature; no hypergeometric function);
- :mod:`.discrete`: BG/BB (discrete purchase opportunities) and sBG (contractual retention);
- :mod:`.gamma_gamma`: Gamma-Gamma (average repeat-transaction value);
- :mod:`.special`: the log-space special functions they share.

All are pure vectorised array functions: parameters and sufficient statistics in, one
log-likelihood per row out, on the papers' scale. Nothing is fitted or validated here; the
estimators validate at their public boundary. The names below are the index of them all.
"""

from valuemax.clv._likelihoods.bg_nbd import (
    bg_nbd_loglik,
    bg_nbd_loglik_grad,
    mbg_nbd_loglik,
    mbg_nbd_loglik_grad,
)
from valuemax.clv._likelihoods.discrete import bg_bb_loglik, sbg_loglik
from valuemax.clv._likelihoods.gamma_gamma import gamma_gamma_loglik, gamma_gamma_loglik_grad
from valuemax.clv._likelihoods.pareto_nbd import pareto_nbd_loglik, pareto_nbd_loglik_grad
from valuemax.clv._likelihoods.special import log_beta_ratio, log_rising

__all__ = [
    "bg_bb_loglik",
    "bg_nbd_loglik",
    "bg_nbd_loglik_grad",
    "gamma_gamma_loglik",
    "gamma_gamma_loglik_grad",
    "log_beta_ratio",
    "log_rising",
    "mbg_nbd_loglik",
    "mbg_nbd_loglik_grad",
    "pareto_nbd_loglik",
    "pareto_nbd_loglik_grad",
    "sbg_loglik",
]
