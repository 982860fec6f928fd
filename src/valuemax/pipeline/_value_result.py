"""The value step's result object: models, per-customer table, validation, notes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from valuemax.clv import (
    BetaGeoModel,
    GammaGammaModel,
    HoldoutValidation,
    ModelComparison,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
)


@dataclass
class ValueResult:
    """What the customer-value step produced (``AnalysisResult.value``).

    Attributes
    ----------
    model_name : {"BG/NBD", "MBG/NBD", "Pareto/NBD"}
        The purchase model chosen (``rule`` says how).
    model : valuemax.clv.BetaGeoModel, ModifiedBetaGeoModel or ParetoNBDModel
        The chosen model refitted on the whole observation period (``time_unit``).
    spend_model : valuemax.clv.GammaGammaModel or None
        Gamma-Gamma on the repeat buyers with positive spend; None when too few.
    table : pandas.DataFrame of shape (n_customers, 5)
        ``customer_id``, ``p_alive``, ``expected_purchases_<h>`` (purchases in the next
        h months), ``expected_avg_value`` (currency per purchase), ``clv_<h>`` (currency,
        discounted, times ``margin``; absent without a spend model).
    time_unit : {"D", "W"}
        Unit of the model's recency, T and ``alpha``.
    horizon_months, discount_rate, margin
        CLV settings: months of 30.4375 days, monthly rate, profit share.
    calibration_end : datetime.date or None
        End of the calibration period of the holdout comparison (None: no holdout).
    comparison : valuemax.clv.ModelComparison or None
        The models fitted on the calibration period and scored on the holdout.
    validation : valuemax.clv.HoldoutValidation or None
        The chosen model's holdout validation (conditional expectations, MAE, RMSE, naive).
    tracking : pandas.DataFrame or None
        Weekly cumulative repeat purchases of the calibration cohort: ``week``,
        ``week_end``, ``actual``, ``expected``, ``holdout`` (bool).
    spend_check : dict or None
        Gamma-Gamma's independence check (:func:`valuemax.clv.spend_independence`).
    spend_model_calibration : valuemax.clv.GammaGammaModel or None
        Gamma-Gamma fitted on the calibration period's repeat buyers.
    rule : str
        How the model was chosen, in one sentence.
    notes : list of str
        Everything the reader should know: defaults chosen, customers excluded, warnings.
    p_alive_warning : str or None
        Why P(alive) cannot rank customers in this log (drop-out parameters at a limit or
        not identified, or P(alive) nearly equal for everyone); None when it can.
    boundary : dict of str to list of str
        Each purchase model's limits reached (its ``boundary_``, e.g. "no purchase-rate
        heterogeneity"): the calibration fits with a holdout, else the whole-period fits.
    indistinguishable : list of list of str
        Groups of purchase models whose log-likelihoods agree (the data cannot tell them
        apart).
    degenerate : bool
        Every purchase model reached a limit: no model is crowned and CLV rests on the
        naive purchase rate (a note says so).
    history_days : int or None
        Days from the first purchase to the observation end (the notes say when the CLV
        horizon is longer).
    calibration_unused : str or None
        Why the calibration end the caller gave was not used to choose the model (too few
        repeat buyers by then: chosen by BIC on the whole period instead) and how to fix
        it; None when it was used or none was given.
    """

    model_name: str
    model: BetaGeoModel | ModifiedBetaGeoModel | ParetoNBDModel
    spend_model: GammaGammaModel | None
    table: pd.DataFrame
    time_unit: Literal["D", "W"]
    horizon_months: int
    discount_rate: float
    margin: float
    calibration_end: dt.date | None = None
    comparison: ModelComparison | None = None
    validation: HoldoutValidation | None = None
    tracking: pd.DataFrame | None = None
    spend_check: dict[str, object] | None = None
    spend_model_calibration: GammaGammaModel | None = None
    rule: str = ""
    notes: list[str] = field(default_factory=list)
    p_alive_warning: str | None = None
    boundary: dict[str, list[str]] = field(default_factory=dict)
    indistinguishable: list[list[str]] = field(default_factory=list)
    degenerate: bool = False
    history_days: int | None = None
    calibration_unused: str | None = None

    @property
    def clv_skipped(self) -> str | None:
        """Why CLV was not computed (None when it was): the value step's note saying so
        (no prices, too few repeat buyers, no convergence), from its reason on."""
        if self.spend_model is not None:
            return None
        said = next((n for n in self.notes if "CLV not computed: " in n), None)
        if said is None:
            return "no spend model was fitted"
        return said[said.index("CLV not computed: ") + len("CLV not computed: "):]

    @property
    def p_alive_informative(self) -> bool:
        """False when the model cannot tell active customers from lost ones (see warning)."""
        return self.p_alive_warning is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (``summary.json`` key ``clv``).

        Top level: the chosen model refitted on the whole period (``model``, ``params``,
        ``se``, ``loglik``, ``bic``), the holdout validation of the chosen model
        (``holdout``), the comparison table (``comparison``), the spend model and CLV
        settings. ``calibration_fits`` and ``spend_model_calibration``: every model as
        fitted on the calibration period only (the published set-up of the BTYD papers).
        ``boundary`` (limits each purchase model reached), ``indistinguishable`` (models the
        data cannot tell apart), ``degenerate`` (every model at a limit: CLV rests on the
        naive rate) and ``history_days`` go with the plain-language ``notes``.
        """
        s = self.model.summary()
        h = self.horizon_months
        out: dict[str, Any] = {
            "model": self.model_name, "rule": self.rule, "time_unit": self.time_unit,
            "params": _floats(s.estimates, s.param_names),
            "se": _floats(s.std_errors, s.param_names),
            "loglik": float(s.loglik), "bic": float(s.bic), "n_customers": int(s.n_obs),
            "converged": bool(s.converged),
            "horizon_months": h, "discount_rate_monthly": self.discount_rate,
            "margin": self.margin,
            "calibration_end": None if self.calibration_end is None
            else self.calibration_end.isoformat(),
            "holdout": None if self.validation is None else self.validation.to_dict(),
            "comparison": None if self.comparison is None else self.comparison.to_dict(),
            "spend_model": None, "spend_check": self.spend_check,
            "total_clv": None, "notes": list(self.notes),
            "p_alive_informative": self.p_alive_informative,
            "p_alive_warning": self.p_alive_warning,
            "boundary": {k: list(v) for k, v in self.boundary.items()},
            "indistinguishable": [list(g) for g in self.indistinguishable],
            "degenerate": self.degenerate, "history_days": self.history_days,
            "calibration_unused": self.calibration_unused,
        }
        if self.spend_model is not None:
            g = self.spend_model.summary()
            out["spend_model"] = {"model": "Gamma-Gamma", "params": _floats(g.estimates,
                                  g.param_names), "se": _floats(g.std_errors, g.param_names),
                                  "loglik": float(g.loglik), "n_customers": int(g.n_obs),
                                  "converged": bool(g.converged)}
            out["total_clv"] = float(self.table[f"clv_{h}"].sum())
        if self.comparison is not None:
            fits = {}
            for name, m in self.comparison.models.items():
                c = m.summary()
                fits[name] = {"params": _floats(c.estimates, c.param_names),
                              "se": _floats(c.std_errors, c.param_names),
                              "loglik": float(c.loglik), "bic": float(c.bic),
                              "n_customers": int(c.n_obs), "converged": bool(c.converged)}
            out["calibration_fits"] = fits
        if self.spend_model_calibration is not None:
            g = self.spend_model_calibration.summary()
            out["spend_model_calibration"] = {
                "params": _floats(g.estimates, g.param_names),
                "se": _floats(g.std_errors, g.param_names), "loglik": float(g.loglik),
                "n_customers": int(g.n_obs)}
        return out


def _floats(values: Any, names: Any) -> dict[str, float | None]:
    return {n: (float(v) if np.isfinite(v) else None) for n, v in zip(names, values,
                                                                        strict=True)}
