"""``readout``: the experiment table in, lifts with intervals, corrections and SRM out."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from valuemax._core.exceptions import DataLossWarning, InputError
from valuemax.experiment._compare import (
    MIN_ARM_SIZE,
    Comparison,
    compare_means,
    compare_proportions,
)
from valuemax.experiment._cuped import Adjusted, cuped
from valuemax.experiment._result import CORRECTIONS, ExperimentResult
from valuemax.experiment._srm import SRM_ALPHA, srm_test
from valuemax.experiment._statistics import ArmStatistics, MetricKind, arm_statistics
from valuemax.experiment._table import as_table, check_columns, quarantine_assignments

Correction = Literal["holm", "bh", "none"]
Missing = Literal["error", "exclude"]


def _check_names(name: str, values: Any) -> list[str]:
    if isinstance(values, str):
        values = [values]
    out = list(values)
    if not all(isinstance(v, str) and v for v in out):
        raise InputError(f"{name} must be column names (text); got {out!r}.")
    dup = sorted({v for v in out if out.count(v) > 1})
    if dup:
        raise InputError(f"{name} lists {dup} more than once; give each column once.")
    return out


def _check_arms(stats: ArmStatistics, control: str, arm: str) -> None:
    arms = list(stats.arms)
    if len(arms) < 2:
        raise InputError(f"column {arm!r} holds one arm only ({arms}); an experiment needs a "
                         "control and at least one treatment arm.")
    if control not in arms:
        raise InputError(f"control arm {control!r} is not in column {arm!r}; its arms are "
                         f"{arms}. Pass one of them as control= / --control.")


def _check_sizes(stats: ArmStatistics) -> None:
    small = {a: int(n) for a, n in zip(stats.arms, stats.n, strict=True) if n < MIN_ARM_SIZE}
    if small:
        counts = ", ".join(f"{a}: {int(n):,}" for a, n in zip(stats.arms, stats.n, strict=True))
        raise InputError(
            f"metric {stats.metric!r}: arm(s) {sorted(small)} have fewer than {MIN_ARM_SIZE} "
            f"customers with the outcome, too few for a variance and a t or z test (customers "
            f"per arm: {counts}); collect more data or leave those arms out of the table.")


def _missing(stats: ArmStatistics, missing: str) -> str | None:
    lost = stats.n_missing
    if not lost.sum():
        return None
    by_arm = ", ".join(f"{a}: {int(m):,}" for a, m in zip(stats.arms, lost, strict=True) if m)
    text = (f"metric {stats.metric!r} is missing for {int(lost.sum()):,} of "
            f"{int(stats.n_assigned.sum()):,} assigned customers ({by_arm})")
    if missing == "error":
        raise InputError(f"{text}; fill them (0 when the customer did nothing) or pass "
                         "missing='exclude' (--missing exclude) to leave them out of this metric, "
                         "counted.")
    warnings.warn(f"excluded {text} from that metric", DataLossWarning, stacklevel=3)
    return f"{text}: excluded from that metric (missing='exclude')"


def _compare(stats: ArmStatistics, adj: Adjusted | None, i0: int, i1: int,
             confidence: float) -> Comparison:
    n0, n1 = int(stats.n[i0]), int(stats.n[i1])
    if adj is not None:
        return compare_means(n0, float(adj.total[i0]), float(adj.total_sq[i0]),
                             n1, float(adj.total[i1]), float(adj.total_sq[i1]),
                             confidence=confidence)
    if stats.kind == "proportion":
        return compare_proportions(float(stats.total[i0]), n0, float(stats.total[i1]),
                                   n1, confidence=confidence)
    return compare_means(n0, float(stats.total[i0]), float(stats.total_sq[i0]),
                         n1, float(stats.total[i1]), float(stats.total_sq[i1]),
                         confidence=confidence)


def _arm_rows(stats: ArmStatistics, adj: Adjusted | None) -> list[dict[str, Any]]:
    rows = []
    for i, a in enumerate(stats.arms):
        n = int(stats.n[i])
        mean = stats.total[i] / n if n else float("nan")
        if stats.kind == "proportion":
            sd = math.sqrt(mean * (1 - mean))
        else:
            sd = math.sqrt(max(0.0, (stats.total_sq[i] - stats.total[i] ** 2 / n) / (n - 1)))
        row = {"metric": stats.metric, "arm": a, "kind": stats.kind,
               "n_assigned": int(stats.n_assigned[i]), "n": n,
               "n_missing": int(stats.n_missing[i]), "mean": mean, "sd": sd}
        if adj is not None:
            row["adjusted_mean"] = adj.total[i] / n
            row["adjusted_sd"] = math.sqrt(max(0.0, (adj.total_sq[i] - adj.total[i] ** 2 / n)
                                               / (n - 1)))
            row["variance_reduction"] = float(adj.variance_reduction[i])
        rows.append(row)
    return rows


def readout(
    table: Any,
    *,
    arm: str,
    control: str,
    metrics: Sequence[str],
    covariates: Sequence[str] = (),
    kinds: Mapping[str, MetricKind] | None = None,
    shares: Mapping[str, float] | None = None,
    correction: Correction = "holm",
    confidence: float = 0.95,
    id_column: str | None = None,
    missing: Missing = "error",
    srm_alpha: float = SRM_ALPHA,
    encoding: str | None = None,
) -> ExperimentResult:
    """Read out a randomised experiment from a customer-level table (one row per customer).

    Per arm and metric: customers, mean (rate for 0/1 outcomes) and SD; per treatment arm
    against control: absolute and relative lift with intervals and p-values, then one
    multiple-testing correction over every (treatment arm, metric) pair; optional CUPED
    adjustment; a sample-ratio-mismatch test. The rows stay in the engine: one aggregate
    query per metric returns the sufficient statistics per arm (:func:`arm_statistics`).

    - Means: Welch t on ``(n, Σy, Σy²)`` (:func:`compare_means`); relative lift by the delta
      method.
    - Rates (every outcome 0 or 1): Newcombe's hybrid score interval of the difference,
      pooled z test, delta-method relative lift (:func:`compare_proportions`).
    - With ``covariates``: CUPED, ``y' = y - θᵀ(x - x̄)`` with ``θ`` pooled within arms
      (:func:`cuped`), then Welch t on ``y'`` for every metric (rates included); the arm
      table reports each arm's variance reduction ``1 - Var(y')/Var(y)``.
    - Correction: Holm (default) or Benjamini-Hochberg through
      ``statsmodels.stats.multitest.multipletests`` on the absolute-lift p-values
      (``p_adjusted``); ``significant`` is ``p_adjusted < 1 - confidence``.
    - SRM: Pearson χ² of the assigned counts against ``shares`` (:func:`srm_test`).

    Parameters
    ----------
    table : str, Path, ibis.Table, pandas/polars DataFrame or pyarrow Table
        One row per customer: the arm column, the outcome columns (numeric or boolean; NULL =
        missing outcome), the covariates (numeric, measured before assignment) and optionally
        a customer id. A path is read by DuckDB (CSV, ``.csv.gz``, Parquet).
    arm : str
        Column holding each customer's arm (labels compared as text).
    control : str
        Label of the control arm.
    metrics : sequence of str
        Outcome columns, e.g. ``["visit", "conversion", "spend"]`` (per customer).
    covariates : sequence of str, default ()
        Pre-treatment columns for CUPED, e.g. ``["history"]``.
    kinds : mapping of str to {"auto", "mean", "proportion"}, optional
        Per metric; default ``"auto"`` (a rate when every outcome is 0 or 1).
    shares : mapping of str to float, optional
        Designed allocation per arm (weights, normalised); default equal shares.
    correction : {"holm", "bh", "none"}, default "holm"
    confidence : float, default 0.95
    id_column : str, optional
        Customer id: customers on several rows are quarantined (with all their rows).
    missing : {"error", "exclude"}, default "error"
        Missing outcomes raise, or are left out of that metric with a ``DataLossWarning`` and
        counted in ``n_missing`` and the notes.
    srm_alpha : float, default 0.001
        SRM alert threshold.
    encoding : str, optional
        Text encoding of a CSV ``table`` (default: detected among UTF-8, UTF-16 with a
        byte-order mark and GB18030/GBK; CLI ``--encoding``).

    Returns
    -------
    ExperimentResult

    Raises
    ------
    InputError
        If a column is missing or not numeric; the table holds one arm; ``control`` is not an
        arm (the arms are listed); an arm has fewer than 2 customers with the outcome (counts
        per arm); a rate has values other than 0/1; outcomes are missing and
        ``missing="error"``; covariates are NULL, constant or collinear; or an option is
        invalid.

    Warns
    -----
    DataLossWarning
        With ``missing="exclude"``, when outcomes are missing (the count per arm).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"arm": ["a"] * 4 + ["b"] * 4,
    ...                    "buy": [0, 1, 0, 0, 1, 1, 0, 1],
    ...                    "spend": [0.0, 12.0, 0.0, 0.0, 10.0, 14.0, 0.0, 9.0]})
    >>> r = readout(df, arm="arm", control="a", metrics=["buy", "spend"])
    >>> r.to_frame()[["metric", "arm", "kind", "control_mean", "treatment_mean"]]
      metric arm        kind  control_mean  treatment_mean
    0    buy   b  proportion          0.25            0.75
    1  spend   b        mean          3.00            8.25
    """
    metric_list, cov_list, kinds = _check_options(metrics, covariates, kinds, correction,
                                                  missing, confidence)
    tbl = as_table(table, encoding=encoding)
    if int(tbl.count().to_pyarrow().as_py()) == 0:
        raise InputError("the experiment table has no rows (an empty file, or a header "
                         "only); it needs one row per customer: arm, outcomes and any "
                         "covariates.")
    check_columns(tbl, arm, {"metric": metric_list, "covariate": cov_list,
                             "id": [id_column] if id_column else []})
    split = quarantine_assignments(tbl, arm=arm, id_column=id_column)
    notes: list[str] = []
    if len(split.quarantine):
        counts = split.quarantine["reason"].value_counts()
        notes.append("quarantined " + ", ".join(f"{int(v):,} rows {k}" for k, v in
                                               counts.items()) + " (left out of every arm)")
    all_stats = [arm_statistics(split.clean, arm=arm, metric=m, covariates=cov_list,
                                kind=kinds.get(m, "auto"), id_column=id_column)
                 for m in metric_list]
    first = all_stats[0]
    _check_arms(first, str(control), arm)
    control = str(control)
    srm = srm_test(dict(zip(first.arms, (int(n) for n in first.n_assigned), strict=True)),
                   shares=shares, alpha=srm_alpha)
    if srm.alert:
        notes.append(f"SAMPLE RATIO MISMATCH: arm sizes {dict(zip(srm.arms, srm.observed, strict=True))} "
                     f"differ from the designed shares (χ² = {srm.chi2:.2f}, p = {srm.p_value:.2g}"
                     f" < {srm.alpha}); find the cause before trusting any lift.")
    arm_rows: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    reductions: dict[str, float] = {}
    for stats in all_stats:
        note = _missing(stats, missing)
        if note:
            notes.append(note)
        _check_sizes(stats)
        adj = cuped(stats) if cov_list else None
        arm_rows.extend(_arm_rows(stats, adj))
        if adj is not None:
            reductions[stats.metric] = float(adj.pooled_variance_reduction)
        rows.extend(_metric_rows(stats, adj, control, cov_list, confidence, notes))
    frame = _corrected(pd.DataFrame(rows), correction, confidence)
    return ExperimentResult(
        arm_column=arm, control=control, arms=first.arms, metrics=tuple(metric_list),
        covariates=tuple(cov_list), confidence=float(confidence), correction=correction,
        correction_method=f"{CORRECTIONS[correction][1]}, over {len(frame)} (arm, metric) tests",
        comparisons=frame[_COLUMNS], arm_table=pd.DataFrame(arm_rows), srm=srm,
        quarantine=split.quarantine, notes=tuple(notes), variance_reduction=reductions)


#: Columns of :attr:`ExperimentResult.comparisons`, in order.
_COLUMNS = ["metric", "arm", "control", "kind", "n_control", "n_treatment", "control_mean",
            "treatment_mean", "absolute_lift", "absolute_ci_low", "absolute_ci_high", "p_value",
            "p_adjusted", "significant", "relative_lift", "relative_ci_low", "relative_ci_high",
            "relative_p_value", "statistic", "df", "test", "absolute_method", "relative_method",
            "adjustment", "note"]


def _check_options(metrics: Sequence[str], covariates: Sequence[str],
                   kinds: Mapping[str, MetricKind] | None, correction: str, missing: str,
                   confidence: float) -> tuple[list[str], list[str], dict[str, MetricKind]]:
    """The metric and covariate names and the kinds, after checking every option of
    :func:`readout` that needs no data."""
    metric_list = _check_names("metrics", metrics)
    if not metric_list:
        raise InputError("metrics is empty; name at least one outcome column (--metric).")
    cov_list = _check_names("covariates", covariates)
    both = [c for c in cov_list if c in metric_list]
    if both:
        raise InputError(f"{both} named both as metric and as covariate: a CUPED covariate is "
                         "measured before assignment and cannot be the outcome itself (the "
                         "adjustment would remove the whole effect); name a pre-period column "
                         "with covariates= / --covariate.")
    if correction not in CORRECTIONS:
        raise InputError(f"correction={correction!r} is not supported; choose one of "
                         f"{', '.join(repr(c) for c in CORRECTIONS)} (--correction).")
    if missing not in ("error", "exclude"):
        raise InputError(f"missing={missing!r} is not supported; choose 'error' or 'exclude'.")
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not (
            0.0 < confidence < 1.0):
        raise InputError(f"confidence={confidence!r} must be strictly between 0 and 1.")
    kinds = dict(kinds or {})
    unknown = sorted(set(kinds) - set(metric_list))
    if unknown:
        raise InputError(f"kinds names {unknown}, which are not among metrics {metric_list}.")
    return metric_list, cov_list, kinds


def _metric_rows(stats: ArmStatistics, adj: Adjusted | None, control: str, cov_list: list[str],
                 confidence: float, notes: list[str]) -> list[dict[str, Any]]:
    """One comparison row per treatment arm of one metric against ``control`` (notes of
    the comparisons appended to ``notes``)."""
    i0 = stats.arms.index(control)
    adjustment = "none" if adj is None else "CUPED on " + ", ".join(
        f"{c} (θ = {t:.6g})" for c, t in zip(cov_list, adj.theta, strict=True)) + (
        f"; variance reduced by {adj.pooled_variance_reduction:.2%} (pooled within arms)")
    rows = []
    for i1, a in enumerate(stats.arms):
        if i1 == i0:
            continue
        try:
            comp = _compare(stats, adj, i0, i1, confidence)
        except InputError as exc:
            raise InputError(f"metric {stats.metric!r}, arm {a!r} vs {control!r}: {exc}") from None
        if comp.note:
            notes.append(f"{stats.metric}, {a}: {comp.note}")
        rows.append({"metric": stats.metric, "arm": a, "control": control,
                     "kind": stats.kind, "n_control": int(stats.n[i0]),
                     "n_treatment": int(stats.n[i1]), **comp.to_dict(),
                     "adjustment": adjustment})
    return rows


def _corrected(frame: pd.DataFrame, correction: str, confidence: float) -> pd.DataFrame:
    """``frame`` with ``p_adjusted`` and ``significant`` after ``p_value``: one correction
    over every row (statsmodels ``multipletests``; ``"none"``: the p-values as they are)."""
    from statsmodels.stats.multitest import multipletests

    alpha = 1.0 - confidence
    method = CORRECTIONS[correction][0]
    if method:
        reject, p_adj, _, _ = multipletests(frame["p_value"].to_numpy(float), alpha=alpha,
                                            method=method)
    else:
        p_adj = frame["p_value"].to_numpy(float)
        reject = p_adj < alpha
    frame.insert(frame.columns.get_loc("p_value") + 1, "p_adjusted", p_adj)
    frame.insert(frame.columns.get_loc("p_adjusted") + 1, "significant", np.asarray(reject, bool))
    return frame
