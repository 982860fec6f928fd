"""The experiment readout's result object."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from valuemax.experiment._srm import SRMTest

#: Multiple-testing corrections: option value -> (statsmodels ``multipletests`` method, words).
CORRECTIONS: dict[str, tuple[str, str]] = {
    "holm": ("holm", "Holm (1979) step-down, family-wise error rate"),
    "bh": ("fdr_bh", "Benjamini-Hochberg (1995), false discovery rate"),
    "none": ("", "none: p-values unadjusted"),
}


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


@dataclass(frozen=True)
class ExperimentResult:
    """Readout of a randomised experiment: per-arm figures, lifts against control, SRM.

    Attributes
    ----------
    arm_column : str
        The column holding the arm.
    control : str
        The control arm's label.
    arms : tuple of str
        All arm labels, sorted.
    metrics : tuple of str
        Outcome columns, in the order asked.
    covariates : tuple of str
        CUPED covariates (empty: no adjustment).
    confidence : float
        Level of every interval.
    correction : {"holm", "bh", "none"}
        Multiple-testing correction applied to the absolute-lift p-values of all
        (treatment arm, metric) pairs together; ``correction_method`` says it in words.
        Intervals are not adjusted.
    correction_method : str
    comparisons : pandas.DataFrame
        One row per (metric, treatment arm): see :meth:`to_frame`.
    arm_table : pandas.DataFrame
        One row per (metric, arm): ``metric, arm, kind, n_assigned, n, n_missing, mean, sd``
        and, with covariates, ``adjusted_mean, adjusted_sd, variance_reduction``
        (``1 - Var(adjusted)/Var(raw)`` within the arm).
    srm : SRMTest
        Sample-ratio-mismatch test of ``n_assigned`` against the designed shares.
    quarantine : pandas.DataFrame
        Rows left out, with ``reason`` (``arm_missing``, ``customer_id_missing``,
        ``assigned_twice_same_arm``, ``assigned_to_several_arms``; from a log also
        ``assigned_at_missing`` and ``window_not_observed``) and the customer id when one was
        given.
    notes : tuple of str
        Plain-language caveats (SRM alert, quarantined or missing counts, undefined figures).
    variance_reduction : dict of str to float
        With covariates: per metric, CUPED's pooled within-arm variance reduction
        ``1 - Σ_a SS_a(y') / Σ_a SS_a(y)`` (a share in [0, 1]); empty without covariates.
    """

    arm_column: str
    control: str
    arms: tuple[str, ...]
    metrics: tuple[str, ...]
    covariates: tuple[str, ...]
    confidence: float
    correction: str
    correction_method: str
    comparisons: pd.DataFrame
    arm_table: pd.DataFrame
    srm: SRMTest
    quarantine: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: tuple[str, ...] = ()
    variance_reduction: dict[str, float] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per (metric, treatment arm) against control.

        Returns
        -------
        pandas.DataFrame
            Columns ``metric, arm, control, kind, n_control, n_treatment, control_mean,
            treatment_mean, absolute_lift, absolute_ci_low, absolute_ci_high, p_value,
            p_adjusted, significant, relative_lift, relative_ci_low, relative_ci_high,
            relative_p_value, statistic, df, test, absolute_method, relative_method,
            adjustment, note``. ``adjustment`` names the CUPED covariates, their ``θ`` and the
            pooled within-arm variance reduction of the metric (or ``none``). Means are per customer in the metric's unit (rates for
            proportions); ``significant`` is ``p_adjusted < 1 - confidence``.
        """
        return self.comparisons.copy()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able summary (what ``valuemax experiment --json`` prints)."""
        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [{k: _clean(v.item() if hasattr(v, "item") else v) for k, v in row.items()}
                    for row in frame.to_dict(orient="records")]

        return {
            "arm_column": self.arm_column, "control": self.control, "arms": list(self.arms),
            "metrics": list(self.metrics), "covariates": list(self.covariates),
            "confidence": self.confidence, "correction": self.correction,
            "correction_method": self.correction_method,
            "srm": {k: _clean(v) for k, v in self.srm.to_dict().items()},
            "arm_table": records(self.arm_table), "comparisons": records(self.comparisons),
            "quarantine": {"n_rows": len(self.quarantine),
                           "by_reason": {str(k): int(v) for k, v in
                                         self.quarantine["reason"].value_counts().items()}
                           if len(self.quarantine) else {}},
            "notes": list(self.notes),
            "variance_reduction": {k: float(v) for k, v in self.variance_reduction.items()},
        }
