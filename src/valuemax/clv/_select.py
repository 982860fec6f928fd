"""Choose a repeat-purchase model by holdout error: fit each on calibration, score on holdout."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from valuemax._core.exceptions import ConvergenceError, ConvergenceWarning, InputError
from valuemax.clv._beta_geo import BetaGeoModel
from valuemax.clv._btyd import limit_corner
from valuemax.clv._holdout import HoldoutValidation, holdout_validation
from valuemax.clv._modified_beta_geo import ModifiedBetaGeoModel
from valuemax.clv._pareto_nbd import ParetoNBDModel

#: Model names accepted by :func:`compare_models`.
MODELS = {"BG/NBD": BetaGeoModel, "MBG/NBD": ModifiedBetaGeoModel,
          "Pareto/NBD": ParetoNBDModel}
#: Relative MAE gap within which models count as tied (then the lowest BIC wins).
MAE_TIE = 0.01
#: Log-likelihoods closer than this (absolute, on the calibration data) cannot tell two
#: models apart: they fit the data equally well (often both reached the same limiting model).
LOGLIK_TIE = 0.01
RULE = ("The chosen model has the lowest holdout MAE (mean absolute error of each customer's "
        "predicted against actual holdout purchases); models within 1% of that MAE count as "
        "tied, and among them the one with the lowest BIC is chosen (BICs within 0.02 count "
        "as equal: then BG/NBD, MBG/NBD, Pareto/NBD in that order).")
_COLUMNS = ["model", "loglik", "n_params", "bic", "aic", "holdout_mae", "holdout_rmse",
            "predicted_total", "actual_total", "converged", "chosen"]


@dataclass(frozen=True, eq=False)
class ModelComparison:
    """Fit statistics and holdout scores of several purchase models, and the one chosen.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per fitted model: ``model``, ``loglik``, ``n_params``, ``bic``, ``aic``
        (calibration fit), ``holdout_mae``, ``holdout_rmse``, ``predicted_total``,
        ``actual_total`` (holdout purchases), ``converged``, ``chosen`` (bool).
    chosen : str
        Name of the chosen model.
    rule : str
        The choice rule, in one sentence.
    models : dict of str to model
        The fitted models by name.
    validations : dict of str to HoldoutValidation
        Holdout validation of each fitted model.
    failures : dict of str to str
        Models whose fit raised ``ConvergenceError``, with the message.
    notes : dict of str to list of str
        Warnings (``ConvergenceWarning``) raised while fitting each model.
    indistinguishable : tuple of tuple of str
        Groups of models whose calibration log-likelihoods agree within ``LOGLIK_TIE``
        (0.01): the data cannot tell them apart, whichever is chosen.
    boundary : dict of str to tuple of str
        Each fitted model's ``boundary_``: the limiting models its estimates reached.
    """

    table: pd.DataFrame
    chosen: str
    rule: str
    models: dict[str, Any]
    validations: dict[str, HoldoutValidation]
    failures: dict[str, str]
    notes: dict[str, list[str]] = field(default_factory=dict)
    indistinguishable: tuple[tuple[str, ...], ...] = ()
    boundary: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def messages(self) -> list[str]:
        """Plain sentences on limits reached and models that cannot be told apart."""
        out = [f"{name} reached a limit: {', '.join(limits)}."
               for name, limits in self.boundary.items() if limits]
        out += [f"{' and '.join(group)} fit the calibration data equally well (log-likelihoods "
                f"within {LOGLIK_TIE}): the data cannot tell them apart."
                for group in self.indistinguishable]
        return out

    def to_dict(self) -> dict[str, Any]:
        """The comparison as JSON-able Python values.

        Returns
        -------
        dict
            ``chosen``, ``rule``, ``table`` (list of row dicts), ``indistinguishable``,
            ``boundary``, ``messages``, ``failures``, ``notes``,
            ``params`` (fitted parameters by model) and ``validations`` (each
            ``HoldoutValidation.to_dict()``).
        """
        rows = []
        for row in self.table.to_dict(orient="records"):
            rows.append({k: (v if isinstance(v, str) else bool(v) if isinstance(v, bool | np.bool_)
                             else int(v) if k == "n_params" else float(v))
                         for k, v in row.items()})
        return {"chosen": self.chosen, "rule": self.rule, "table": rows,
                "indistinguishable": [list(g) for g in self.indistinguishable],
                "boundary": {k: list(v) for k, v in self.boundary.items()},
                "messages": self.messages,
                "failures": dict(self.failures), "notes": {k: list(v) for k, v in
                                                           self.notes.items()},
                "params": {name: {k: float(v) for k, v in m.params_.items()}
                           for name, m in self.models.items()},
                "validations": {name: v.to_dict() for name, v in self.validations.items()}}


def _choose(table: pd.DataFrame) -> str:
    best = table["holdout_mae"].min()
    tied = table[table["holdout_mae"] <= best * (1 + MAE_TIE)]
    return lowest_bic(dict(zip(tied["model"], tied["bic"], strict=True)))


def lowest_bic(bics: dict[str, float]) -> str:
    """The model of lowest BIC; BICs within ``2 * LOGLIK_TIE`` of it count as equal and
    the first of those in :data:`MODELS`' order wins.

    Models that reached the same limiting model (e.g. all three at no drop-out) have BICs
    that differ by rounding noise (1e-11): the plain minimum would follow the noise, and a
    change of optimiser path would change the chosen model without any change in the fit.

    Examples
    --------
    >>> lowest_bic({"Pareto/NBD": 200.0, "MBG/NBD": 200.0 + 1e-11, "BG/NBD": 200.0 + 2e-11})
    'BG/NBD'
    >>> lowest_bic({"Pareto/NBD": 190.0, "BG/NBD": 200.0})
    'Pareto/NBD'
    """
    low = min(bics.values())
    equal = [name for name, bic in bics.items() if bic <= low + 2 * LOGLIK_TIE]
    order = list(MODELS)
    return min(equal, key=lambda n: (order.index(n) if n in order else len(order), n))


def compare_models(frequency_cal: Any, recency_cal: Any, T_cal: Any, frequency_holdout: Any,
                   duration_holdout: Any, *, time_unit: str = "D",
                   models: tuple[str, ...] = ("BG/NBD", "MBG/NBD", "Pareto/NBD"),
                   random_state: Any = 0, penalizer: float = 0.0,
                   n_starts: int = 3) -> ModelComparison:
    """Fit each purchase model on the calibration period and choose one by holdout error.

    Each model is fitted by maximum likelihood on ``(frequency_cal, recency_cal, T_cal)`` and
    scored with :func:`holdout_validation`. Rule: the lowest holdout MAE; models within 1%
    of the best MAE are tied and the tie goes to the lowest BIC (``k ln n - 2 LL`` on the
    calibration data, the same customers for every model). A model whose fit raises
    ``ConvergenceError`` is listed in ``failures`` (never dropped silently);
    ``ConvergenceWarning`` s raised while fitting are kept in ``notes`` and re-emitted.
    Models whose log-likelihoods agree within ``LOGLIK_TIE`` are listed in
    ``indistinguishable`` and each model's limits (``boundary_``) in ``boundary``.
    Once a model's drop-out parameter ran to the search bound (no drop-out), the models
    after it start at that limit (:func:`~valuemax.clv._btyd.limit_corner`): the same data
    take them to the same limit, where the start is kept without an optimiser run when it
    already is the limit's optimum, and they start over from their own start if it is not.

    Parameters
    ----------
    frequency_cal, recency_cal, T_cal : array-like of shape (n_customers,)
        Calibration ``(x, t_x, T)`` in ``time_unit``.
    frequency_holdout : array-like of shape (n_customers,)
        Purchase occasions in the holdout period; integers >= 0.
    duration_holdout : float or array-like of shape (n_customers,)
        Holdout length in ``time_unit``; > 0.
    time_unit : {"D", "W"}, default "D"
        Unit of the time inputs.
    models : tuple of str, default ("BG/NBD", "MBG/NBD", "Pareto/NBD")
        Names from :data:`MODELS`, each at most once.
    random_state : int, Generator or None, default 0
        Seed of the optimisers' random starting points.
    penalizer : float, default 0.0
        L2 penalty passed to every model.
    n_starts : int, default 3
        Most optimiser starting points of every model (the first fixed; the others random,
        tried only when the first optimum fails a check).

    Returns
    -------
    ModelComparison
        The table, the chosen model, the rule, fitted models, validations and failures.

    Raises
    ------
    ValueError
        If ``models`` is empty, repeats a name or names an unknown model (the message lists
        the choices), or a hyper-parameter is invalid.
    InputError
        If the inputs break the models' rules (see :func:`holdout_validation`).
    ConvergenceError
        If every model fails to converge; the message names each failure.

    References
    ----------
    .. [1] Fader, Hardie & Lee (2005). "Counting Your Customers" the Easy Way.
       Marketing Science 24(2):275-284 (calibration/holdout validation of BG/NBD against
       Pareto/NBD).

    Examples
    --------
    >>> from valuemax.clv import BetaGeoModel
    >>> sim = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426).simulate(
    ...     500, 39.0, random_state=1)
    >>> hold = np.random.default_rng(2).poisson(0.5 * sim["frequency"] + 0.1)
    >>> cmp = compare_models(sim["frequency"], sim["recency"], sim["T"], hold, 39.0,
    ...                      models=("BG/NBD", "Pareto/NBD"))
    >>> cmp.table.columns.tolist()[:5], cmp.chosen in cmp.models
    (['model', 'loglik', 'n_params', 'bic', 'aic'], True)
    """
    names = tuple(models) if not isinstance(models, str) else (models,)
    unknown = [n for n in names if n not in MODELS]
    if not names or unknown or len(set(names)) != len(names):
        raise ValueError(f"compare_models: models must be distinct names from {list(MODELS)}; "
                         f"got {list(names)}")
    fitted: dict[str, Any] = {}
    validations: dict[str, HoldoutValidation] = {}
    failures: dict[str, str] = {}
    notes: dict[str, list[str]] = {}
    corner = None  # the no-drop-out limit's point, once a model reached it (see below)
    for name in names:
        model = MODELS[name](time_unit=time_unit, penalizer=penalizer, n_starts=n_starts,
                             random_state=random_state)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            try:
                model.fit(frequency_cal, recency_cal, T_cal, start=corner)
            except ConvergenceError as exc:
                failures[name] = str(exc)
        others = [w for w in caught if not issubclass(w.category, ConvergenceWarning)]
        kept = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
        for w in others:  # not ours to swallow: pass them on unchanged
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        for message in kept:
            warnings.warn(f"compare_models, {name}: {message}", ConvergenceWarning,
                          stacklevel=2)
        if kept:
            notes[name] = kept
        if name in failures:
            continue
        fitted[name] = model
        if corner is None and not penalizer:
            corner = limit_corner(model)
        validations[name] = holdout_validation(model, frequency_cal, recency_cal, T_cal,
                                               frequency_holdout, duration_holdout)
    if not fitted:
        detail = "; ".join(f"{n}: {msg}" for n, msg in failures.items())
        raise ConvergenceError(f"compare_models: no model converged ({detail}).")
    rows = []
    for name, model in fitted.items():
        s, v = model.summary(), validations[name]
        rows.append({"model": name, "loglik": s.loglik, "n_params": len(model.params_),
                     "bic": s.bic, "aic": s.aic, "holdout_mae": v.mae,
                     "holdout_rmse": v.rmse, "predicted_total": v.predicted_total,
                     "actual_total": v.actual_total, "converged": bool(s.converged),
                     "chosen": False})
    table = pd.DataFrame(rows, columns=_COLUMNS)
    if not np.all(np.isfinite(table["holdout_mae"])):
        raise InputError("compare_models: a holdout MAE is not finite; check the holdout "
                         "inputs.")
    chosen = _choose(table)
    table["chosen"] = table["model"] == chosen
    return ModelComparison(table=table, chosen=chosen, rule=RULE, models=fitted,
                           validations=validations, failures=failures, notes=notes,
                           indistinguishable=loglik_ties(
                               dict(zip(table["model"], table["loglik"], strict=True))),
                           boundary={n: tuple(m.boundary_) for n, m in fitted.items()})


def loglik_ties(logliks: dict[str, float]) -> tuple[tuple[str, ...], ...]:
    """Groups (of 2 or more) of models whose log-likelihoods agree within ``LOGLIK_TIE``.

    Models are sorted by log-likelihood and chained while neighbours are within the
    tolerance.

    Parameters
    ----------
    logliks : dict of str to float
        Log-likelihood of each model (summed over customers), keyed by model name.

    Returns
    -------
    tuple of tuple of str
        The groups, best log-likelihood first, each from the best model down; empty when
        no two models tie.

    Examples
    --------
    >>> loglik_ties({"BG/NBD": -100.0, "MBG/NBD": -100.004, "Pareto/NBD": -98.0})
    (('BG/NBD', 'MBG/NBD'),)
    """
    order = sorted(logliks, key=lambda n: -logliks[n])
    groups, current = [], order[:1]
    for name in order[1:]:
        if abs(logliks[current[-1]] - logliks[name]) <= LOGLIK_TIE:
            current.append(name)
        else:
            groups.append(current)
            current = [name]
    groups.append(current)
    return tuple(tuple(g) for g in groups if len(g) > 1)
