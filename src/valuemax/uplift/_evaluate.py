"""Held-out evaluation of one or several uplift models, with seeded bootstrap intervals."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from valuemax._core.exceptions import InputError
from valuemax.uplift._curves import Curve, _cumulative, _rate, qini_curve, uplift_curve
from valuemax.uplift._slices import uplift_at_k, uplift_by_bin
from valuemax.uplift._validation import check_outcome, check_scores, check_treatment


def _areas(s: np.ndarray, t: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(Qini coefficient, AUUC), both ``normalize="none"``, from one ranking pass."""
    n_all, n_t, n_c, r_t, r_c = _cumulative(s, t, y)
    n = float(t.size)
    x = n_all / n
    out = []
    for v in (r_t - _rate(r_c, n_c) * n_t, (_rate(r_t, n_t) - _rate(r_c, n_c)) * n_all):
        gap = v / n - x * v[-1] / n
        out.append(float(np.sum(np.diff(x) * (gap[1:] + gap[:-1]) / 2.0)))
    return out[0], out[1]


def bootstrap_areas(scores: Any, treatment: Any, y: Any, *, n_bootstrap: int = 200,
                    random_state: int = 0) -> np.ndarray:
    """Qini coefficient and AUUC on ``n_bootstrap`` stratified bootstrap samples.

    Each draw resamples, with replacement, ``n_T`` of the treated and ``n_C`` of the control
    customers (so both arms keep their size) from ``np.random.default_rng(random_state)``:
    per draw first the treated indices (``rng.integers(0, n_T, n_T)``), then the control ones.
    The draws depend only on the arms, not on the scores, so every model evaluated with the
    same seed sees the same samples (paired comparison).

    Parameters
    ----------
    scores, treatment, y : array-like of shape (n_customers,)
    n_bootstrap : int, default 200
    random_state : int, default 0

    Returns
    -------
    ndarray of shape (n_bootstrap, 2)
        Columns: Qini coefficient, AUUC (``normalize="none"``).

    Raises
    ------
    InputError
        If ``n_bootstrap`` < 1 or the inputs are invalid.
    """
    if not (isinstance(n_bootstrap, int | np.integer) and n_bootstrap >= 1):
        raise InputError(f"n_bootstrap={n_bootstrap!r} must be an integer >= 1.")
    t = check_treatment(treatment)
    yy, _ = check_outcome(y, t.size)
    s = check_scores(scores, t.size)
    treated, control = np.flatnonzero(t == 1), np.flatnonzero(t == 0)
    rng = np.random.default_rng(random_state)
    out = np.empty((n_bootstrap, 2))
    for b in range(n_bootstrap):
        idx = np.r_[treated[rng.integers(0, treated.size, treated.size)],
                    control[rng.integers(0, control.size, control.size)]]
        out[b] = _areas(s[idx], t[idx], yy[idx])
    return out


@dataclass(frozen=True)
class UpliftEvaluation:
    """Scores of several uplift models on the same held-out customers.

    Attributes
    ----------
    table : DataFrame
        One row per model: ``model, qini, qini_ci_low, qini_ci_high, qini_excludes_zero, auuc,
        auuc_ci_low, auuc_ci_high, auuc_excludes_zero, k, uplift_at_k, uplift_at_k_by_group,
        uplift_at_k_note, conclusion``. Qini and AUUC are ``normalize="none"`` areas above
        random (outcome units per customer; :func:`qini_coefficient`, :func:`auuc`); the
        intervals are percentile intervals of :func:`bootstrap_areas` (None without bootstrap).
    bins : DataFrame
        :func:`uplift_by_bin` of each model, with a ``model`` column.
    curves : dict
        ``{model: {"qini": Curve, "uplift": Curve}}``.
    outcome_kind : {"binary", "continuous"}
    confidence : float
    n_bootstrap : int
    random_state : int
    """

    table: pd.DataFrame
    bins: pd.DataFrame
    curves: dict[str, dict[str, Curve]] = field(repr=False)
    outcome_kind: str
    confidence: float
    n_bootstrap: int
    random_state: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the tables as records (NaN as None), curves as lists."""
        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [{k: (None if isinstance(v, float) and math.isnan(v) else
                         v.item() if isinstance(v, np.generic) else v) for k, v in r.items()}
                    for r in frame.to_dict("records")]
        return {"outcome_kind": self.outcome_kind, "confidence": self.confidence,
                "n_bootstrap": self.n_bootstrap, "random_state": self.random_state,
                "models": records(self.table), "bins": records(self.bins),
                "curves": {m: {k: {"share_targeted": c.share_targeted.tolist(),
                                   "value": c.value.tolist(),
                                   "n_one_arm_points": c.n_one_arm_points}
                               for k, c in cs.items()} for m, cs in self.curves.items()}}


def _conclusion(name: str, metric: str, value: float, lo: float | None, hi: float | None,
                confidence: float, n_bootstrap: int) -> str:
    if lo is None or hi is None:
        return f"{name}: {metric} {value:.6g}; no bootstrap interval (n_bootstrap=0)."
    where = ("excludes 0 (above it): the model ranks customers better than random" if lo > 0
             else "excludes 0 (below it): the model ranks customers worse than random"
             if hi < 0 else "includes 0: no evidence that the model ranks better than "
             "random")
    return (f"{name}: {metric} {value:.6g}, {confidence:.0%} bootstrap interval "
            f"[{lo:.6g}, {hi:.6g}] ({n_bootstrap} seeded stratified draws) {where}.")


def evaluate_uplift(scores: Mapping[str, Any] | Any, treatment: Any, y: Any, *,
                    k: float = 0.3, n_bins: int = 10, n_bootstrap: int = 200,
                    confidence: float = 0.95, random_state: int = 0,
                    outcome: Literal["auto", "binary", "continuous"] = "auto"
                    ) -> UpliftEvaluation:
    """Evaluate uplift scores on held-out customers: Qini, AUUC, uplift@k, bins, intervals.

    Each model is scored on its own (the same numbers as evaluating it alone, with the same
    bootstrap draws for every model); nothing is pooled across models.

    Parameters
    ----------
    scores : mapping of str to array-like of shape (n_customers,), or one array-like
        Uplift scores per model (one array is named ``"model"``).
    treatment : array-like of shape (n_customers,)
        1 treated, 0 control; both arms present.
    y : array-like of shape (n_customers,)
        Outcome: 0/1 response or an amount.
    k : float, default 0.3
        Share targeted for uplift@k (:func:`uplift_at_k`, both strategies).
    n_bins : int, default 10
        Bins of :func:`uplift_by_bin` (deciles).
    n_bootstrap : int, default 200
        Stratified bootstrap draws for the Qini and AUUC intervals; 0 for none.
    confidence : float, default 0.95
        Level of every interval, in (0, 1).
    random_state : int, default 0
        Seed of the bootstrap.
    outcome : {"auto", "binary", "continuous"}, default "auto"
        Interval family of the bins.

    Returns
    -------
    UpliftEvaluation

    Raises
    ------
    InputError
        If no model is given, a score vector is invalid, one arm is empty, or an option is out
        of range.

    Examples
    --------
    >>> ev = evaluate_uplift({"a": [0.9, 0.6, 0.3, 0.1]}, [1, 0, 1, 0], [1, 0, 0, 1],
    ...                      n_bootstrap=0, n_bins=2)
    >>> ev.table[["model", "qini", "auuc"]].to_dict("records")
    [{'model': 'a', 'qini': 0.1875, 'auuc': 0.28125}]
    """
    if not isinstance(scores, Mapping):
        scores = {"model": scores}
    if not scores:
        raise InputError("scores is empty; pass {model name: uplift scores}.")
    if not 0 < confidence < 1:
        raise InputError(f"confidence={confidence!r} must be in (0, 1), e.g. 0.95.")
    if not (isinstance(n_bootstrap, int | np.integer) and n_bootstrap >= 0):
        raise InputError(f"n_bootstrap={n_bootstrap!r} must be an integer >= 0.")
    t = check_treatment(treatment)
    yy, kind = check_outcome(y, t.size, kind=outcome)
    alpha = 1 - confidence
    rows, bins, curves = [], [], {}
    for name, raw in scores.items():
        s = check_scores(raw, t.size, name=f"scores[{name!r}]")
        q, a = _areas(s, t, yy)
        row: dict[str, Any] = {"model": str(name), "qini": q}
        if n_bootstrap:
            draws = bootstrap_areas(s, t, yy, n_bootstrap=n_bootstrap,
                                    random_state=random_state)
            lows = np.quantile(draws, alpha / 2, axis=0)
            highs = np.quantile(draws, 1 - alpha / 2, axis=0)
        else:
            lows = highs = [None, None]
        for j, (metric, value) in enumerate((("qini", q), ("auuc", a))):
            lo = None if lows[j] is None else float(lows[j])
            hi = None if highs[j] is None else float(highs[j])
            row[metric] = value
            row[f"{metric}_ci_low"], row[f"{metric}_ci_high"] = lo, hi
            row[f"{metric}_excludes_zero"] = None if lo is None else bool(lo > 0 or hi < 0)
        at_k = uplift_at_k(s, t, yy, k=k, strategy="overall")
        by_group = uplift_at_k(s, t, yy, k=k, strategy="by_group")
        row.update(k=k, uplift_at_k=at_k.uplift, uplift_at_k_by_group=by_group.uplift,
                   uplift_at_k_note="; ".join(n for n in (at_k.note, by_group.note) if n))
        row["conclusion"] = " ".join(
            _conclusion(str(name), m, row[m], row[f"{m}_ci_low"], row[f"{m}_ci_high"],
                        confidence, n_bootstrap) for m in ("qini", "auuc"))
        rows.append(row)
        b = uplift_by_bin(s, t, yy, n_bins=n_bins, confidence=confidence, outcome=kind)
        b.insert(0, "model", str(name))
        bins.append(b)
        curves[str(name)] = {"qini": qini_curve(s, t, yy), "uplift": uplift_curve(s, t, yy)}
    return UpliftEvaluation(pd.DataFrame(rows), pd.concat(bins, ignore_index=True), curves,
                            kind, confidence, int(n_bootstrap), random_state)
