"""From a customer-level table to held-out uplift scores and their evaluation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from valuemax._core.exceptions import InputError
from valuemax.io import read_customer_table
from valuemax.uplift._class_transformation import ClassTransformationUplift
from valuemax.uplift._dr_learner import DRLearnerUplift
from valuemax.uplift._evaluate import UpliftEvaluation, evaluate_uplift
from valuemax.uplift._overlap import OverlapCheck, propensity_overlap
from valuemax.uplift._two_model import TwoModelUplift
from valuemax.uplift._validation import check_outcome, treatment_indicator

ModelName = Literal["t", "dr", "ct"]
#: Model codes of :func:`uplift_study` and ``valuemax uplift --model``.
MODELS: dict[str, str] = {"t": "two-model (T-learner)", "dr": "DR-learner",
                          "ct": "class transformation"}


#: Outcome magnitude from which squares (variances, the curves' sums) overflow float64.
HUGE_OUTCOME = 1e150


def _check_ids(frame: pd.DataFrame, id_column: str) -> None:
    """Refuse a missing id column, or ids given on more than one row (one customer would
    count twice in the fit and the curves)."""
    if id_column not in frame.columns:
        raise InputError(f"id column {id_column!r} is not in the table; available: "
                         f"{list(frame.columns)}.")
    ids = frame[id_column]
    twice = ids[ids.duplicated(keep=False) & ids.notna()]
    if len(twice):
        shown = ", ".join(map(repr, sorted(set(twice.astype(str)))[:5]))
        raise InputError(f"{twice.nunique():,} ids of {id_column!r} are on more than one row "
                         f"({len(twice):,} rows; e.g. {shown}); the table needs one row per "
                         "customer: keep one row each (e.g. the first assignment).")


def _rows(frame: pd.DataFrame, mask: np.ndarray, n: int = 5) -> str:
    """The first ``n`` row labels of ``frame`` where ``mask`` holds (the table's own rows,
    0-based for a file: a subset keeps its table's labels)."""
    return ", ".join(map(str, frame.index[mask][:n]))


def design_matrix(frame: pd.DataFrame, features: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Numeric and boolean columns as they are; text/categorical columns one-hot (``col=value``).

    Raises
    ------
    InputError
        If a feature column is missing (missing and available columns listed) or holds
        missing values (count and first rows).
    """
    missing = [c for c in features if c not in frame.columns]
    if missing:
        raise InputError(f"feature columns {missing} are not in the table; available: "
                         f"{list(frame.columns)}. Fix --feature / features=.")
    parts, names = [], []
    for col in features:
        s = frame[col]
        na = s.isna().to_numpy()
        if na.any():
            raise InputError(f"feature {col!r} is missing for {int(na.sum()):,} of {len(s):,} "
                             f"customers (rows {_rows(frame, na)}); fill or drop them first.")
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            values = s.to_numpy(dtype=np.float64)
            inf = ~np.isfinite(values)
            if inf.any():
                raise InputError(f"feature {col!r} is infinite for {int(inf.sum()):,} of "
                                 f"{len(s):,} customers (rows {_rows(frame, inf)}); fix or drop "
                                 "them first.")
            parts.append(values[:, None])
            names.append(col)
        else:
            levels = sorted(s.astype(str).unique())
            text = s.astype(str).to_numpy()
            parts.append(np.column_stack([(text == lv).astype(np.float64) for lv in levels]))
            names.extend(f"{col}={lv}" for lv in levels)
    return np.hstack(parts), names


@dataclass(frozen=True)
class UpliftStudy:
    """Uplift scores of every selected customer and the held-out evaluation.

    Attributes
    ----------
    scores : DataFrame
        One row per customer of the two arms: ``row`` (0-based row in the table), the id
        column when given, ``arm``, ``treatment`` (1/0), ``split`` ("train"/"holdout") and
        ``uplift_<model>`` per model (models fitted on the training split, so the training
        rows' scores are in-sample; :func:`cross_fit_predict` gives out-of-fold scores).
    evaluation : UpliftEvaluation
        On the holdout split only.
    models : list of str
    features : list of str
        Design-matrix columns (one-hot levels as ``col=value``).
    outcome : str
    n_train, n_holdout : int
    n_other_arms : int
        Rows of other arms, not part of the comparison (counted, not scored).
    overlap : OverlapCheck or None
        With ``observational=True``.
    notes : list of str
    """

    scores: pd.DataFrame
    evaluation: UpliftEvaluation
    models: list[str]
    features: list[str]
    outcome: str
    n_train: int
    n_holdout: int
    n_other_arms: int
    overlap: OverlapCheck | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the evaluation, counts, overlap; not the per-customer scores)."""
        return {"outcome": self.outcome, "models": self.models, "features": self.features,
                "n_train": self.n_train, "n_holdout": self.n_holdout,
                "n_other_arms": self.n_other_arms,
                "overlap": None if self.overlap is None else {
                    "bounds": list(self.overlap.bounds), "n_outside": self.overlap.n_outside,
                    "share_outside": self.overlap.share_outside,
                    "message": self.overlap.message},
                "notes": self.notes, "evaluation": self.evaluation.to_dict()}


def _model(code: str, kind: str, share: float, observational: bool, random_state: int) -> Any:
    if code == "t":
        return TwoModelUplift(outcome=kind, random_state=random_state)
    if code == "dr":
        return DRLearnerUplift(propensity=None if observational else share, outcome=kind,
                               random_state=random_state)
    if kind != "binary":
        raise InputError("model 'ct' (class transformation) needs a 0/1 outcome; for revenue "
                         "use --model t or --model dr.")
    return ClassTransformationUplift(random_state=random_state)


def uplift_study(table: Any, *, treatment: str, treated: Any, control: Any, outcome: str,
                 features: Sequence[str], models: Sequence[ModelName] = ("t",),
                 id_column: str | None = None, holdout: float = 0.3, k: float = 0.3,
                 n_bins: int = 10, n_bootstrap: int = 200, confidence: float = 0.95,
                 observational: bool = False, random_state: int = 0,
                 encoding: str | None = None) -> UpliftStudy:
    """Fit uplift models on a training split and evaluate them on the held-out customers.

    Rows of the ``treated`` and ``control`` arms are kept (other arms are counted in
    ``n_other_arms``); a seeded split stratified by arm (and response, for a 0/1 outcome) holds
    out ``holdout`` of them; each model is fitted on the rest and scores every kept customer;
    :func:`evaluate_uplift` scores the holdout. In a randomised experiment (the default) the
    DR-learner uses the training treated share as the known propensity; with
    ``observational=True`` it estimates it, and :func:`propensity_overlap` is reported.

    Parameters
    ----------
    table : str, Path or DataFrame
        One row per customer (CSV, .csv.gz, .csv.zst or Parquet; read by
        :func:`valuemax.io.read_customer_table`).
    treatment : str
        Column of arm labels.
    treated, control : scalar
        The two arm labels compared.
    outcome : str
        Outcome column: 0/1 response or an amount (e.g. spend).
    features : sequence of str
        Pre-treatment columns (never outcomes: they would leak). Text columns are one-hot.
    models : sequence of {"t", "dr", "ct"}, default ("t",)
        T-learner, DR-learner, class transformation (0/1 outcomes only).
    id_column : str, optional
        Customer id column copied into ``scores``.
    holdout : float, default 0.3
        Held-out share, in (0, 1).
    k, n_bins, n_bootstrap, confidence : see :func:`evaluate_uplift`
    observational : bool, default False
        Treatment was not randomised: estimate propensities and check overlap.
    random_state : int, default 0
        Seed of the split, the learners, the folds and the bootstrap.
    encoding : str, optional
        Text encoding of a CSV ``table`` (default: detected among UTF-8, UTF-16 with a
        byte-order mark and GB18030/GBK; CLI ``--encoding``).

    Returns
    -------
    UpliftStudy

    Raises
    ------
    InputError
        If a column or arm is missing, features are empty, a model code is unknown, the outcome
        has missing values, ``holdout`` is out of range, or a split leaves an arm empty.
    """
    frame = read_customer_table(table, encoding=encoding)
    for role, col in (("treatment", treatment), ("outcome", outcome)):
        if col not in frame.columns:
            raise InputError(f"{role} column {col!r} is not in the table; available: "
                             f"{list(frame.columns)}.")
    if not features:
        raise InputError("name the pre-treatment features (features= / --feature COL, "
                         "repeatable); outcome columns must not be features.")
    leak = [c for c in features if c in (treatment, outcome)]
    if leak:
        raise InputError(f"features {leak} include the treatment or outcome column; drop them.")
    bad = [m for m in models if m not in MODELS]
    if bad or not models:
        raise InputError(f"models {list(models)}: unknown {bad}; choose among {list(MODELS)} "
                         f"({', '.join(f'{k}: {v}' for k, v in MODELS.items())}).")
    if not 0 < holdout < 1:
        raise InputError(f"holdout={holdout!r} must be a share in (0, 1), e.g. 0.3.")
    if isinstance(random_state, bool) or (isinstance(random_state, int | np.integer)
                                          and not 0 <= random_state < 2**32):
        raise InputError(f"random_state={random_state!r} must be a whole number >= 0 and "
                         "below 2**32 (CLI --random-state).")
    if id_column is not None:
        _check_ids(frame, id_column)
    indicator = treatment_indicator(frame[treatment].to_numpy(), treated=treated,
                                    control=control)
    keep = indicator >= 0
    sub = frame.loc[keep]
    t = indicator[keep]
    values = pd.to_numeric(sub[outcome], errors="coerce").to_numpy(dtype=np.float64)
    huge = np.isfinite(values) & (np.abs(values) >= HUGE_OUTCOME)
    if huge.any():
        raise InputError(f"outcome {outcome!r} has {int(huge.sum()):,} values of magnitude >= "
                         f"{HUGE_OUTCOME:.0e} (rows {_rows(sub, huge)}): their squares overflow "
                         "and every score would follow them. Fix those rows (a unit or "
                         "export error?) or drop them.")
    y, kind = check_outcome(sub[outcome].to_numpy(), int(keep.sum()), name=f"outcome {outcome!r}")
    X, names = design_matrix(sub, list(features))
    from sklearn.model_selection import train_test_split

    strata = t * 2 + (y.astype(np.int64) if kind == "binary" else 0)
    rows = np.arange(t.size)
    try:
        train, test = train_test_split(rows, test_size=holdout, stratify=strata,
                                       random_state=random_state)
    except ValueError as exc:
        raise InputError(f"cannot hold out {holdout:.0%} stratified by arm: {exc}") from exc
    train, test = np.sort(train), np.sort(test)  # table order: the bootstrap draws follow it
    share = float(t[train].mean())
    scores = pd.DataFrame({"row": np.flatnonzero(keep)})
    if id_column is not None:
        scores[id_column] = sub[id_column].to_numpy()
    scores["arm"] = sub[treatment].to_numpy()
    scores["treatment"] = t
    split = np.full(t.size, "train", dtype=object)
    split[test] = "holdout"
    scores["split"] = split
    held: dict[str, np.ndarray] = {}
    for code in models:
        m = _model(code, kind, share, observational, random_state).fit(X[train], t[train],
                                                                      y[train])
        scores[f"uplift_{code}"] = m.predict(X)
        held[code] = scores[f"uplift_{code}"].to_numpy()[test]
    evaluation = evaluate_uplift(held, t[test], y[test], k=k, n_bins=n_bins,
                                 n_bootstrap=n_bootstrap, confidence=confidence,
                                 random_state=random_state, outcome=kind)
    overlap = propensity_overlap(X, t, random_state=random_state) if observational else None
    notes = [f"{(~keep).sum():,} rows of other arms than {treated!r} and {control!r} are not "
             "part of this comparison."] if (~keep).any() else []
    return UpliftStudy(scores, evaluation, list(models), names, outcome, int(train.size),
                       int(test.size), int((~keep).sum()), overlap, notes)
