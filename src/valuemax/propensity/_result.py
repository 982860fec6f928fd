"""``PropensityResult``: what :func:`fit_propensity` returns."""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

#: churn_risk from the calibrated probability of buying within the horizon:
#: p >= 0.5 -> "Low", 0.2 <= p < 0.5 -> "Medium", p < 0.2 -> "High".
CHURN_THRESHOLDS: dict[str, float] = {"low_at_least": 0.5, "high_below": 0.2}


def churn_risk(p: Any) -> pd.Series:
    """Map probabilities to Low/Medium/High churn risk with :data:`CHURN_THRESHOLDS`."""
    p = pd.Series(p, dtype=float)
    out = pd.Series("Medium", index=p.index, dtype="string")
    out[p >= CHURN_THRESHOLDS["low_at_least"]] = "Low"
    out[p < CHURN_THRESHOLDS["high_below"]] = "High"
    return out


def _num(v: Any) -> float | None:
    v = float(v)
    return None if math.isnan(v) else v


@dataclass(frozen=True)
class PropensityResult:
    """Buy-again propensity: holdout evaluation, baselines and scores at the log's end.

    Attributes
    ----------
    horizon_days : int
        H, the label window in days.
    cutoff : datetime.date
        Holdout cutoff: features before it, label in ``[cutoff, cutoff + H)``.
    scores : pandas.DataFrame of shape (n_customers, 6)
        As of the day after the observation end: ``customer_id``, ``p_buy_<H>d``
        (calibrated probability of a purchase within H days), ``churn_risk``
        (Low/Medium/High, see :data:`CHURN_THRESHOLDS`), ``expected_next_purchase`` (date:
        last purchase day + the customer's mean inter-purchase time, or + the median of
        those means over repeat customers for one-time buyers) and
        ``next_purchase_basis`` ("own" or "population"), ``churn_risk_extrapolated``
        (bool: the customer has been inactive longer than any row the scoring model was
        fitted on, so ``p_buy_<H>d`` and ``churn_risk`` extrapolate beyond the training
        data: a customer silent for 445 days can read "Medium"; read them with their RFM
        segment and P(alive)).
    metrics : pandas.DataFrame
        One row per model and baseline on the holdout: ``model``, ``roc_auc``, ``pr_auc``,
        ``brier`` (NaN for scores that are not probabilities: recency, expected
        purchases), ``top_decile_lift``, ``chosen`` (bool).
    chosen_model : str
        "logit" or "hgb": the higher mean time-ordered CV ROC AUC on the training origins
        (ties to the logit); never chosen on the holdout.
    calibration : pandas.DataFrame
        ``model``, ``mean_predicted``, ``fraction_positive`` (10 quantile bins, holdout).
    gains : pandas.DataFrame
        ``model``, ``decile``, ``customer_share``, ``buyer_share`` (cumulative gain), ``lift``.
    importance : pandas.DataFrame
        ``feature``, ``importance_mean``, ``importance_sd``: drop in holdout ROC AUC when the
        feature is permuted (chosen model, seeded).
    notes : tuple of str
        Origins used, CV scheme, calibration method, dropped features, NaN policy, warnings.
    origins : tuple of datetime.date
        Training cutoffs (rolling origins).
    label_days : int
        Label window of the training origins (H unless the log was too short, see notes).
    cv_results : pandas.DataFrame
        The grid: ``model``, hyper-parameters, ``cv_auc``, ``cv_auc_sd``.
    params : dict
        Chosen hyper-parameters per model and the calibration method.
    base_rate : float
        Share of holdout customers who bought within H days.
    n_train, n_holdout : int
        Training and holdout rows.
    features : tuple of str
        Feature columns used (after dropping constant / all-missing ones).
    setup : dict
        The set-up the data allowed: ``models`` (``["logit", "hgb"]``, or ``["logit"]`` when
        the training rows are too few for gradient boosting), ``cv`` ("time-ordered" over
        the origins or "stratified" within one), ``cv_folds`` (int), ``calibration``
        (per model ``{"method": "sigmoid" | "isotonic", "folds": int}``) and ``refit``
        ("holdout", or "training" when the holdout has too few rows of a class to refit)
        and ``refit_calibration`` (``{"method", "folds"}`` of the refit, None without one).
    left_out : dict of str to str
        Models and baselines left out (``"hgb"``, ``"btyd_expected_purchases"``,
        ``"btyd_p_alive"``) and why.
    """

    horizon_days: int
    cutoff: _dt.date
    scores: pd.DataFrame
    metrics: pd.DataFrame
    chosen_model: str
    calibration: pd.DataFrame
    gains: pd.DataFrame
    importance: pd.DataFrame
    notes: tuple[str, ...] = ()
    origins: tuple[_dt.date, ...] = ()
    label_days: int = 0
    cv_results: pd.DataFrame = field(default_factory=pd.DataFrame)
    params: dict[str, Any] = field(default_factory=dict)
    base_rate: float = float("nan")
    n_train: int = 0
    n_holdout: int = 0
    features: tuple[str, ...] = ()
    setup: dict[str, Any] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)

    @property
    def score_column(self) -> str:
        """Name of the probability column, e.g. ``"p_buy_90d"``."""
        return f"p_buy_{self.horizon_days}d"

    def churn_counts(self) -> pd.DataFrame:
        """Customers per churn-risk level with the probability range of each level and, when
        the scores carry ``churn_risk_extrapolated``, how many of them are inactive longer
        than any customer the model was fitted on (``extrapolated``: their level is an
        extrapolation). Empty when the scores carry no ``churn_risk`` (the pipeline leaves
        it out when the scores are not informative)."""
        rng = {"Low": f"p >= {CHURN_THRESHOLDS['low_at_least']}",
               "Medium": f"{CHURN_THRESHOLDS['high_below']} <= p < "
                         f"{CHURN_THRESHOLDS['low_at_least']}",
               "High": f"p < {CHURN_THRESHOLDS['high_below']}"}
        if "churn_risk" not in self.scores:  # left out: the scores are not informative
            return pd.DataFrame({"churn_risk": pd.Series(dtype="string"),
                                 "rule": pd.Series(dtype="string"),
                                 "customers": pd.Series(dtype="int64")})
        counts = self.scores["churn_risk"].value_counts()
        out = pd.DataFrame({"churn_risk": list(rng), "rule": list(rng.values()),
                            "customers": [int(counts.get(k, 0)) for k in rng]})
        if "churn_risk_extrapolated" in self.scores:
            flagged = self.scores.loc[self.scores["churn_risk_extrapolated"].astype(bool),
                                      "churn_risk"].value_counts()
            out["extrapolated"] = [int(flagged.get(k, 0)) for k in rng]
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (``summary.json["propensity"]``); NaN becomes None."""
        m = self.metrics.set_index("model")
        chosen = m.loc[self.chosen_model]
        baselines = [k for k in m.index if k not in ("logit", "hgb")]
        auc = float(chosen["roc_auc"])
        return {
            "horizon_days": self.horizon_days,
            "cutoff": self.cutoff.isoformat(),
            "origins": [o.isoformat() for o in self.origins],
            "label_days": self.label_days,
            "chosen_model": self.chosen_model,
            "auc": auc,
            "pr_auc": float(chosen["pr_auc"]),
            "brier": _num(chosen["brier"]),
            "top_decile_lift": float(chosen["top_decile_lift"]),
            "base_rate": _num(self.base_rate),
            "n_train": self.n_train,
            "n_holdout": self.n_holdout,
            "models": {k: {c: _num(m.loc[k, c]) for c in ("roc_auc", "pr_auc", "brier",
                                                          "top_decile_lift")}
                       for k in m.index},
            "baseline_auc": {k: float(m.loc[k, "roc_auc"]) for k in baselines},
            "beats_baseline": {k: auc > float(m.loc[k, "roc_auc"]) for k in baselines},
            "churn_thresholds": dict(CHURN_THRESHOLDS),
            "churn_counts": {r["churn_risk"]: r["customers"]
                             for r in self.churn_counts().to_dict("records")},
            "features": list(self.features),
            "setup": self.setup,
            "left_out": dict(self.left_out),
            "notes": list(self.notes),
        }
