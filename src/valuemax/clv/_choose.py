"""Model policy: which repeat-purchase model to use for a customer base, and why.

:func:`choose_model` is the one place that decides: the minimum number of repeat buyers,
the holdout comparison (:func:`valuemax.clv.compare_models`) or, without a holdout, the
lowest BIC on the whole period, the refit on the whole period with its fallback to the next
model when the refit does not converge, and the plain-language evidence (limits reached,
models the data cannot tell apart, customers first seen on the last day).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from valuemax._core.exceptions import ConvergenceError, InputError, StepNotApplicable
from valuemax._core.validation import check_choice
from valuemax.clv._btyd import RepeatPurchaseModel, limit_corner
from valuemax.clv._select import MODELS, ModelComparison, compare_models, loglik_ties, lowest_bic
from valuemax.clv._validation import MIN_REPEAT_BUYERS_TO_FIT
from valuemax.clv._words import unpinned_note

#: Fewest repeat buyers (customers with frequency > 0) :func:`choose_model` works with, on
#: the whole period and, for the holdout comparison, by the calibration end. Twice the
#: estimators' own floor (``MIN_REPEAT_BUYERS_TO_FIT`` = 10, below which a 3-4 parameter
#: model is not identified): choosing compares up to three such models, and with 10-19
#: repeat buyers their holdout errors and BICs differ by noise. The main job has always used
#: 20 (it also fits Gamma-Gamma only on at least this many repeat buyers with spend).
MIN_REPEAT_BUYERS = 2 * MIN_REPEAT_BUYERS_TO_FIT
#: ``model=`` options (the CLI's ``--clv-model``) and the model each one forces.
MODEL_OPTIONS: dict[str, str | None] = {"auto": None, "bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD",
                                        "pareto": "Pareto/NBD"}
#: The columns of a calibration/holdout table (:func:`valuemax.features.calibration_holdout`).
_HOLDOUT_COLUMNS = ("frequency", "recency", "T", "frequency_holdout", "duration_holdout")


@dataclass(frozen=True, eq=False)
class ModelChoice:
    """The repeat-purchase model chosen for a customer base, fitted on the whole period.

    Attributes
    ----------
    name : {"BG/NBD", "MBG/NBD", "Pareto/NBD"}
        The model used (the comparison's choice, or the next one when its whole-period refit
        did not converge: ``notes`` say so).
    model : BetaGeoModel, ModifiedBetaGeoModel or ParetoNBDModel
        ``name`` fitted on the whole period's ``(frequency, recency, T)`` in ``time_unit``.
    rule : str
        How it was chosen, in one sentence (prefixed by "no model can be crowned" when
        ``degenerate``).
    comparison : ModelComparison or None
        The holdout comparison on the calibration period; None when the choice fell back to
        BIC on the whole period (no calibration table, or too few repeat buyers by its end).
    limits : dict of str to tuple of str
        Each model's limits reached (``boundary_``): the calibration fits with a holdout,
        else the whole-period fits.
    indistinguishable : tuple of tuple of str
        Groups of models whose log-likelihoods agree within ``LOGLIK_TIE`` (0.01).
    degenerate : bool
        Every model reached a limit. What that means for the predictions depends on the
        limit the chosen model reached (:func:`limit_effect`): only at
        :data:`ONE_RATE` does every customer buy at the population's average rate; at
        the others the holdout comparison still chooses on merit.
    notes : tuple of str
        Plain sentences for the reader, in the order they arose.
    """

    name: str
    model: RepeatPurchaseModel
    rule: str
    comparison: ModelComparison | None
    limits: dict[str, tuple[str, ...]]
    indistinguishable: tuple[tuple[str, ...], ...]
    degenerate: bool
    notes: tuple[str, ...]


def choose_model(frequency: Any, recency: Any, T: Any, *,
                 calibration: pd.DataFrame | Callable[[], pd.DataFrame] | None = None,
                 calibration_end: dt.date | None = None,
                 no_holdout: str = "no calibration/holdout table was given",
                 time_unit: str = "D", model: str = "auto", random_state: Any = 0,
                 n_starts: int = 3) -> ModelChoice:
    """Choose a repeat-purchase model on a holdout (or by BIC) and fit it on the whole period.

    The policy, in order:

    1. Fewer than :data:`MIN_REPEAT_BUYERS` (20) customers with ``frequency > 0``: no model
       is chosen (``StepNotApplicable``).
    2. With a calibration/holdout table holding at least 20 repeat buyers, fit the models on
       the calibration period and choose by :func:`compare_models` (lowest holdout MAE;
       the lowest BIC among models within 1% of it). Otherwise (no table, or too few repeat
       buyers by ``calibration_end``: a note says so) fit every model on the whole period
       and take the lowest BIC (``k ln n - 2 LL``).
    3. Refit the chosen model on the whole period; if that does not converge, the next model
       (BG/NBD, MBG/NBD, Pareto/NBD order) is used and a note says so.
    4. Note each model that reached a limit of its parameter space, the models the data
       cannot tell apart, and the customers first seen on the last day (``T == 0``: valid,
       scored as new customers). When every model reached a limit the choice is
       ``degenerate``.

    Parameters
    ----------
    frequency, recency, T : array-like of shape (n_customers,)
        The whole period's ``(x, t_x, T)`` in ``time_unit`` (pandas Series for the notes on
        ``T == 0``).
    calibration : pandas.DataFrame, callable returning one, or None
        The calibration/holdout table (columns ``frequency``, ``recency``, ``T``,
        ``frequency_holdout``, ``duration_holdout``, one row per customer, as
        :func:`valuemax.features.calibration_holdout` returns). A callable is called only
        once step 1 has passed (building the table costs a pass over the log). None: choose
        by BIC.
    calibration_end : datetime.date, optional
        The calibration end, for the notes only.
    no_holdout : str, default "no calibration/holdout table was given"
        Why ``calibration`` is None, for the rule (e.g. "the span is under 90 days, too
        short for a holdout comparison").
    time_unit : {"D", "W"}, default "D"
        Unit of every time input.
    model : {"auto", "bgnbd", "mbgnbd", "pareto"}, default "auto"
        "auto" chooses; any other forces that model (still compared on the holdout, and
        replaced by the next one only when its whole-period refit does not converge).
    random_state : int, Generator or None, default 0
        Seed of the optimisers' random restarts.
    n_starts : int, default 3
        Most optimiser starting points of every fit.

    Returns
    -------
    ModelChoice
        The model used, fitted on the whole period, the rule, the comparison (if any), the
        evidence and the notes.

    Raises
    ------
    StepNotApplicable
        With fewer than :data:`MIN_REPEAT_BUYERS` repeat buyers on the whole period.
    InputError
        If ``model`` or ``time_unit`` is not one of the options, the calibration table lacks
        a column, or the inputs break the models' rules.
    ConvergenceError
        If no model converges on the whole period (or, by BIC, on the observation period).

    References
    ----------
    .. [1] Fader, Hardie & Lee (2005). "Counting Your Customers" the Easy Way. Marketing
       Science 24(2):275-284 (BG/NBD against Pareto/NBD on a calibration/holdout split).

    Examples
    --------
    >>> from valuemax.clv import BetaGeoModel
    >>> sim = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426,
    ...                                time_unit="W").simulate(400, 39.0, random_state=1)
    >>> choice = choose_model(sim["frequency"], sim["recency"], sim["T"], time_unit="W",
    ...                       model="bgnbd")
    >>> choice.name, choice.comparison is None, choice.model.time_unit_
    ('BG/NBD', True, 'W')
    >>> choose_model([0, 1, 0], [0.0, 2.0, 0.0], [5.0, 5.0, 5.0])
    Traceback (most recent call last):
    ...
    valuemax._core.exceptions.StepNotApplicable: only 1 repeat buyers (customers with 2+ purchase days): fitting a purchase model needs at least 20
    """
    check_choice("model", model, MODEL_OPTIONS, who="choose_model")
    frequency, recency, T = (pd.Series(v) if not isinstance(v, pd.Series) else v
                             for v in (frequency, recency, T))
    n_repeat = int((frequency > 0).sum())
    if n_repeat < MIN_REPEAT_BUYERS:
        raise StepNotApplicable(
            f"only {n_repeat:,} repeat buyers (customers with 2+ purchase days): fitting a "
            f"purchase model needs at least {MIN_REPEAT_BUYERS}")
    forced = MODEL_OPTIONS[model]
    notes: list[str] = []
    why = no_holdout
    cal = calibration() if callable(calibration) else calibration
    comparison = None
    if cal is not None:
        missing = [c for c in _HOLDOUT_COLUMNS if c not in cal.columns]
        if missing:
            raise InputError(f"choose_model: the calibration table lacks column(s) {missing}; "
                             f"it has {list(cal.columns)}. Build it with "
                             "valuemax.features.calibration_holdout(...).")
        end = calibration_end.isoformat() if calibration_end is not None else "?"
        _note_new(cal["T"], notes, f"calibration end {end}",
                  " in the holdout check only (the delivered scores use their whole "
                  "history)")
        n_cal = int((cal["frequency"] > 0).sum())
        if n_cal < MIN_REPEAT_BUYERS:
            notes.append(f"no holdout comparison: only {n_cal:,} repeat buyers by the "
                         f"calibration end {end} (at least {MIN_REPEAT_BUYERS} needed); the "
                         "model is chosen by BIC on the whole period")
            why = f"too few repeat buyers by the calibration end {end} for a holdout comparison"
        else:
            names = tuple(MODELS) if forced is None else (forced,)
            comparison = compare_models(
                cal["frequency"], cal["recency"], cal["T"], cal["frequency_holdout"],
                cal["duration_holdout"], time_unit=time_unit, models=names,
                random_state=random_state, n_starts=n_starts)
    if comparison is not None:
        chosen, rule = comparison.chosen, comparison.rule
        limits, ties = comparison.boundary, comparison.indistinguishable
    else:
        chosen, rule, limits, ties, whole = _by_bic(frequency, recency, T, time_unit,
                                                    random_state, n_starts, forced, notes, why)
    _note_new(T, notes, "the observation end")
    if comparison is None and chosen in whole:  # fitted on the whole period already
        fitted, name = whole[chosen], chosen
    else:
        fitted, name = _fit_full(frequency, recency, T, chosen, time_unit, random_state,
                                 n_starts, notes, comparison)
    if comparison is None:
        limits = {**limits, name: tuple(fitted.boundary_)}
    notes.extend(_evidence_notes(limits, ties, name, fitted))
    degenerate = bool(limits) and all(limits.values())
    if degenerate:
        rule = _degenerate_rule(name, tuple(fitted.boundary_), rule,
                                loose=unpinned_note(fitted))
    return ModelChoice(name=name, model=fitted, rule=rule, comparison=comparison,
                       limits=dict(limits), indistinguishable=tuple(ties),
                       degenerate=degenerate, notes=tuple(notes))


#: The limit at which a purchase model gives every customer the population's average purchase
#: rate while active (``r -> inf`` with ``r / alpha`` fixed): its predictions do not use the
#: customers' own purchase rates.
ONE_RATE = "no purchase-rate heterogeneity"


def limit_effect(boundary: Any) -> str | None:
    """What a purchase model's limits (its ``boundary_``) mean for its predictions, in
    plain words; None without a limit.

    Only :data:`ONE_RATE` makes every customer buy at the same rate (the population's
    ``r / alpha``); "no drop-out" keeps each customer's own rate (``(r + x) / (alpha + T)``,
    the NBD's) but ignores recency; the drop-out-heterogeneity limits keep both.

    >>> limit_effect(("no drop-out",))[:36]
    'nobody leaves in the model (P(alive)'
    >>> limit_effect(()) is None
    True
    """
    found = tuple(boundary)
    if not found:
        return None
    out = []
    gone = "no drop-out" in found
    if ONE_RATE in found:
        out.append("every customer gets about the same expected purchases: the population's "
                   "average purchase rate, with nobody leaving" if gone else
                   "every customer buys at the population's average purchase rate while "
                   "active, so expected purchases differ between customers only through "
                   "their chance of still being active (P(alive))")
    elif gone:
        out.append("nobody leaves in the model (P(alive) close to 1): expected purchases "
                   "follow each customer's own purchase rate (frequency over T, shrunk "
                   "toward the population's), whatever the recency")
    if not gone and any("drop-out" in f and "heterogeneity" in f for f in found):
        out.append("every customer has the same chance of dropping out; P(alive) still "
                   "follows each customer's frequency and recency")
    bound = [f.removesuffix(" at the search bound") for f in found
             if f.endswith(" at the search bound")]
    if bound:
        out.append(f"{', '.join(bound)} at the search bound: this log does not pin "
                   f"{'it' if len(bound) == 1 else 'them'} down")
    return "; ".join(out)


def _degenerate_rule(name: str, boundary: tuple[str, ...], rule: str,
                     loose: str | None = None) -> str:
    """The rule when every model reached a limit: true for the limit ``name`` reached on
    the whole period (``boundary``); ``rule`` is the choice's own rule, its own sentence
    after it. ``loose`` (:func:`valuemax.clv._words.unpinned_note`) replaces "reached
    none" when some parameter of the refit is not pinned down.

    >>> _degenerate_rule("MBG/NBD", (), "the chosen model has the lowest MAE").split("; ")[1]
    'MBG/NBD refitted on the whole period reached none. The chosen model has the lowest MAE.'
    """
    effect = limit_effect(boundary)
    rule = rule.strip()
    rule = rule[:1].upper() + rule[1:] + ("" if rule.endswith(".") else ".")
    if ONE_RATE in boundary:
        return (f"no model can be crowned on buying patterns: every purchase model reached a "
                f"limit, and {name} is at its limit of {ONE_RATE}, so {effect}. {rule}")
    if effect is None:
        reached = "reached none" if loose is None else f"is at no limit, but {loose}"
        return (f"every purchase model reached a limit on the calibration period; {name} "
                f"refitted on the whole period {reached}. {rule}")
    return (f"every purchase model reached a limit; {name} was still chosen by the rule "
            f"below, and at its limit {effect}. {rule}")


def _by_bic(frequency, recency, T, time_unit, random_state, n_starts, forced, notes, why):
    """The model with the lowest BIC on the whole period, with every model's limits, the
    groups of models the data cannot tell apart and the fits (the chosen one is the
    whole-period model: not fitted again); ``why`` says why there is no holdout."""
    if forced is not None:
        return forced, f"{forced} as asked (no holdout: {why})", {}, (), {}
    fits: dict[str, RepeatPurchaseModel] = {}
    corner = None  # handed on as in compare_models: the no-drop-out limit, once reached
    for name, cls in MODELS.items():
        try:
            fits[name] = cls(time_unit=time_unit, random_state=random_state,
                             n_starts=n_starts).fit(frequency, recency, T, start=corner)
            corner = limit_corner(fits[name]) if corner is None else corner
        except ConvergenceError as exc:
            notes.append(f"{name} did not converge on the observation period: {exc}")
    if not fits:
        raise ConvergenceError("no purchase model converged on the observation period; "
                               "see the notes above")
    bics = {name: m.summary().bic for name, m in fits.items()}
    best = lowest_bic(bics)
    ties = loglik_ties({name: m.loglik_ for name, m in fits.items()})
    limits = {name: tuple(m.boundary_) for name, m in fits.items()}
    return best, f"lowest BIC on the observation period ({best}); {why}", limits, ties, fits


def _fit_full(frequency, recency, T, chosen, time_unit, random_state, n_starts, notes,
              comparison):
    order = [chosen] + [n for n in MODELS if n != chosen and (
        comparison is None or n in comparison.models)]
    for name in order:
        # from the model's own start, not the calibration fit's: a calibration fit at the
        # no-drop-out limit does not put the whole period there (Online Retail in weeks:
        # the whole period shows drop-out, 0.07 nats better than the limit), and at the
        # limit's corner the likelihood is too flat in the drop-out parameters to tell
        try:
            m = MODELS[name](time_unit=time_unit, random_state=random_state,
                             n_starts=n_starts).fit(frequency, recency, T)
            if name != chosen:
                notes.append(f"{chosen} did not converge on the whole period; {name} used")
            return m, name
        except ConvergenceError as exc:
            notes.append(f"{name} did not converge on the whole period: {exc}")
    raise ConvergenceError(f"no purchase model converged on the whole period (tried "
                           f"{', '.join(order)}); see the notes. Try --clv-model with another "
                           "model, or --no-clv.")


def _evidence_notes(limits: dict[str, tuple[str, ...]], ties: Any, chosen: str,
                    fitted: Any) -> list[str]:
    """Plain sentences: which models reached a limit, which cannot be told apart.

    ``limits`` maps each model to its ``boundary_`` (the calibration fits when there was a
    holdout, else the whole-period fits); ``fitted`` is the chosen model refitted on the
    whole period.
    """
    out = []
    for name, found in limits.items():
        if found:
            out.append(f"{name} reached a limit of its model ({', '.join(found)}): the data "
                       "show no spread there, so it behaves as the simpler limiting model and "
                       "its parameters there have no meaningful standard errors")
    full = tuple(fitted.boundary_)
    if full and full != tuple(limits.get(chosen, ())):
        out.append(f"{chosen} refitted on the whole period reached a limit ({', '.join(full)})")
    for group in ties:
        out.append(f"{' and '.join(group)} fit the data equally well (the same "
                   "log-likelihood): the data cannot tell them apart, so the choice among them "
                   "carries no information")
    return out


def _note_new(T: pd.Series, notes: list[str], when: str, scope: str = "") -> None:
    """A note on the customers first seen on the last day (T = 0): valid rows (likelihood
    1, nothing observed yet) that add nothing to the fit and are scored as new customers;
    ``scope`` says where (at the calibration end: in the holdout check only)."""
    n = int((T <= 0).sum())
    if n:
        notes.append(f"{n:,} {'customer' if n == 1 else 'customers'} first bought on {when} "
                     "(T = 0): no time observed yet, so they add nothing to the purchase-model "
                     f"fit and are scored as new customers (the population's prior){scope}")
