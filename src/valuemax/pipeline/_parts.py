"""The main job's analysis steps after the customer table, each skipped with a reason.

No step takes down the main job; :func:`run_step` tells two outcomes apart:

- **does not apply** (:class:`~valuemax.exceptions.StepNotApplicable`: too few repeat
  buyers, no product column, a span shorter than two horizons): ``skipped[step]`` is the
  message as it is, no traceback;
- **failed** (any other exception, an ``InputError`` raised inside the step included: the
  job validated the user's options before any work, so an ``InputError`` here is a bug in
  what the job handed the step, or data the step should have declined): ``skipped[step]``
  is ``"<ExceptionType>: <message>"`` and ``tracebacks[step]`` the formatted traceback
  (printed by the CLI with ``--debug``).

Either way the job writes every other output.
"""

from __future__ import annotations

import dataclasses
import re
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from valuemax._core.exceptions import StepNotApplicable
from valuemax._core.schema import CANONICAL_COLUMNS
from valuemax.basket import analyze_baskets
from valuemax.engines._memory import memory_limit_bytes, parse_size
from valuemax.pipeline._options import FLAGS
from valuemax.propensity import SeparationWarning, can_run, fit_propensity
from valuemax.stats import value_drivers


def step_failure_reason(exc: BaseException) -> str:
    """The skip reason of a step that raised ``exc``.

    A step that does not apply (``StepNotApplicable``) gives its message; any failure, an
    ``InputError`` included, is named by the exception type and its message (one line),
    e.g. ``"ConvergenceError: ..."`` or ``"InputError: ..."``.

    Examples
    --------
    >>> from valuemax.exceptions import InputError, StepNotApplicable
    >>> step_failure_reason(StepNotApplicable("only 3 repeat buyers"))
    'only 3 repeat buyers'
    >>> step_failure_reason(InputError("calibration_end  is not a date"))
    'InputError: calibration_end is not a date'

    DuckDB's out-of-memory error (``OutOfMemoryException``) is named with how to give the
    store more memory (:data:`OUT_OF_MEMORY`), without DuckDB's advice to ``SET`` options.
    """
    text = " ".join(str(exc).split())
    if isinstance(exc, StepNotApplicable):
        return text
    if type(exc).__name__ == "OutOfMemoryException":  # DuckDB's: it names its own SET
        return OUT_OF_MEMORY + text.split(" Possible solutions:")[0]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


#: The start of the skip reason of a step DuckDB ran out of its memory limit in (its own
#: message follows, without its advice to SET options the job's connection sets).
OUT_OF_MEMORY = ("DuckDB ran out of the store's memory limit in this step (beyond it, it "
                 "spills to disk where it can); run again with a larger limit, e.g. "
                 f"{FLAGS['memory_limit=']} 4GB (memory_limit='4GB'), leaving room for "
                 "Python's own memory on top of it. OutOfMemoryException: ")


def _must_stop(exc: BaseException) -> bool:
    """Failures of the environment, not of a model: they stop the job as before.

    An interrupt (Ctrl-C or SIGTERM reaching the engine as its ``InterruptException``) and
    an operating-system error (disk full, file gone) are not a step's fault.
    """
    names = {cls.__name__ for cls in type(exc).__mro__}
    return isinstance(exc, OSError) or "InterruptException" in names


def run_step(step: str, skipped: dict[str, str], tracebacks: dict[str, str],
             fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, or None with the reason in ``skipped[step]``.

    Parameters
    ----------
    step : str
        The step's name (a key of ``skipped``: ``kmeans``, ``value``, ``stats``,
        ``propensity``, ``basket``).
    skipped, tracebacks : dict of str to str
        Filled when ``fn`` raised: the reason (:func:`step_failure_reason`) and, unless the
        step does not apply (``StepNotApplicable``), the formatted traceback (shown by the
        CLI with ``--debug``).
    fn : callable
        The step.

    Returns
    -------
    object or None
        What ``fn`` returned; None when it raised.

    Raises
    ------
    BaseException
        Interrupts, ``SystemExit`` and operating-system errors (``OSError``) pass through.
    """
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        if _must_stop(exc):
            raise
        skipped[step] = step_failure_reason(exc)
        if not isinstance(exc, StepNotApplicable):  # "does not apply" says all; a failure
            # (an InputError raised inside the step included) keeps its trace
            tracebacks[step] = traceback.format_exc()
        return None


def run_stats(customers: pd.DataFrame) -> Any:
    """"What goes with value" (:func:`valuemax.stats.value_drivers`); run it with
    :func:`run_step`, which turns a refusal into a skip reason.

    The target is log1p(CLV) when the value step added a ``clv_<months>`` column (not the
    ``clv_from_prior_only`` flag), else log spend.
    """
    behaviour = ("recency_days", "tenure_days", "n_orders", "n_lines", "frequency",
                 "total_spend", "avg_order_value", "monetary_value")
    # correlations among behaviour and the value target; the model's other outputs
    # (P(alive), expected purchases) are functions of the same history: circular pairs
    features = [c for c in customers.columns
                if c in behaviour or (isinstance(c, str) and re.fullmatch(r"clv_\d+", c))]
    return value_drivers(customers, features=features)


def run_basket(tx: Any, mapping: dict[str, Any], skipped: dict[str, str], *,
               random_state: int) -> Any:
    """"What sells together" (:func:`valuemax.basket.analyze_baskets`) on the clean lines
    (``tx``: clean's CleanResult or a table of its lines).

    Runs when the log has a product column, with thresholds chosen from the data (stated in
    the result); otherwise raises ``StepNotApplicable`` with the reason. A refusal (e.g. the
    blow-up guard) raises too: run it with :func:`run_step`. ``skipped`` is not written
    (kept for the caller's signature).
    """
    if not {"product_id", "product_name"} & set(mapping):
        raise StepNotApplicable("the log has no product column (product_id or product_name): "
                                "nothing to find in baskets" + _product_hint(tx))
    return analyze_baskets(tx, random_state=random_state)


#: Words in a column name that suggest products (English and Chinese exports: Taobao's
#: 宝贝标题, 商品名称, 产品, "Item", "Description", "SKU", ...).
_PRODUCT_WORDS = ("product", "item", "sku", "article", "goods", "description", "title",
                  "商品", "宝贝", "产品", "货品", "品名", "货号", "标题")


def _product_hint(tx: Any) -> str:
    """'; the column X looks like one: ...' when a kept column's name suggests products
    (the reader did not map it), else ''."""
    table = getattr(tx, "transactions", tx)
    if table is None or not hasattr(table, "columns"):
        return ""
    kept = [c for c in table.columns
            if c not in CANONICAL_COLUMNS and not c.startswith("_") and c != "is_outlier"]
    found = [c for c in kept if any(w in c.lower() for w in _PRODUCT_WORDS)]
    if not found:
        return ""
    c = found[0]

    def option(kind: str) -> str:  # quoted for the shell when the name has blanks
        text = f"{kind}={c}"
        return f'"{text}"' if any(ch.isspace() for ch in text) else text

    return (f"; the column {c!r} looks like one: name it with --map {option('product_name')}, "
            f"or --map {option('product_id')} for codes")


#: Fewest customers the pipeline fits the buy-again model on: with fewer, a holdout AUC
#: rests on a handful of customers (and one-class windows come and go with the log), so the
#: step is skipped with this reason, as clustering and the value step skip below 20.
MIN_CUSTOMERS_FOR_PROPENSITY = 20


#: The store's memory limit in the propensity step is at least this many bytes per
#: customer (1 GB per million customers): its group-bys over the per-customer-day table hold
#: a few hundred bytes per customer and origin (at 3M customers they ran out of 1.5 GB). At
#: a million customers this is below the job's 1.5 GB, which then stays.
PROPENSITY_BYTES_PER_CUSTOMER = 1_000


@contextmanager
def _limit_for_customers(tx: Any, n_customers: int, notes: list[str],
                         store_limit: str | None) -> Iterator[None]:
    """The DuckDB store's ``memory_limit`` (``store_limit``, the job's own) raised to
    :data:`PROPENSITY_BYTES_PER_CUSTOMER` per customer while the block runs, when that is
    above it (a note says so), and set back to ``store_limit`` after; nothing when
    ``store_limit`` is None (a limit the user gave) or for another backend."""
    table = getattr(tx, "transactions", tx)
    want = PROPENSITY_BYTES_PER_CUSTOMER * n_customers
    if (store_limit is None or memory_limit_bytes(table) is None
            or want <= (parse_size(store_limit) or 0)):
        yield
        return
    con = ibis.get_backend(table)
    new = f"{want / 1e9:.1f}GB"
    con.raw_sql(f"SET memory_limit = '{new}'")
    notes.append(f"the store's DuckDB memory limit was raised from {store_limit} to {new} for "
                 f"this step (1 GB per million customers: {n_customers:,} customers).")
    try:
        yield
    finally:
        con.raw_sql(f"SET memory_limit = '{store_limit}'")


def run_propensity(tx: Any, customers: pd.DataFrame, skipped: dict[str, str], *,
                   horizon_days: int, random_state: int, observation_end: Any = None,
                   money: bool = True, store_limit: str | None = None) -> Any:
    """"Who buys next" (:func:`valuemax.propensity.fit_propensity`), or None with a reason.

    ``tx`` is clean's :class:`~valuemax.clean.CleanResult` (its observation end and its
    lines, not scanned again; ``observation_end`` then None) or a table of clean lines
    with their ``observation_end``. Runs when the log has at least
    :data:`MIN_CUSTOMERS_FOR_PROPENSITY` customers and spans at least two horizons
    (:func:`valuemax.propensity.can_run`), else raises ``StepNotApplicable`` with the
    reason; a refusal or failure of the model raises too: run it with :func:`run_step`
    (``skipped`` is not written). ``money=False`` (a log without prices) fits without the
    spend features, as stated in the result's notes. ``store_limit`` (the job's own memory
    limit, when the user gave none): the store's DuckDB limit grows from it with the
    customers in this step (:data:`PROPENSITY_BYTES_PER_CUSTOMER`), as stated in the notes.
    """
    if len(customers) < MIN_CUSTOMERS_FOR_PROPENSITY:
        raise StepNotApplicable(
            f"only {len(customers):,} customers: a buy-again model needs at least "
            f"{MIN_CUSTOMERS_FOR_PROPENSITY} to be trained and checked on a holdout (the "
            "minimum the clustering and value steps use too); the RFM segments still apply")
    first = pd.Timestamp(customers["first_purchase"].min()).date()
    end = observation_end if isinstance(tx, ir.Table) else tx.observation_end
    ok, why = can_run(first, end, horizon_days)
    if not ok:
        raise StepNotApplicable(why)
    notes: list[str] = []
    with warnings.catch_warnings(), _limit_for_customers(tx, len(customers), notes,
                                                         store_limit):
        # the result's notes carry it; the report and summary show it
        warnings.simplefilter("ignore", SeparationWarning)
        res = fit_propensity(tx, horizon_days=horizon_days,
                             observation_end=observation_end, random_state=random_state,
                             money=money)
    res = dataclasses.replace(res, notes=(*res.notes, *notes)) if notes else res
    return without_churn_risk(res)


#: The columns of the churn-risk levels read from the buy-again scores. Not
#: ``churn_risk_extrapolated``: it flags the customers whose score (kept) extrapolates.
CHURN_COLUMNS = ("churn_risk",)


def without_churn_risk(found: Any) -> Any:
    """``found`` (a ``PropensityResult``) without its churn-risk levels when its scores are
    not informative (:func:`valuemax.pipeline._outputs.propensity_informative`), with a
    note saying so; unchanged otherwise.

    ``churn_risk`` is the buy-again probability cut at fixed thresholds
    (:data:`valuemax.propensity.CHURN_THRESHOLDS`): a ranking no better than a baseline
    would read as a finding in the customers export, the store and the dashboard's "Share
    at risk". The scores (``p_buy_<H>d``) stay, with the report's warning, and so does
    ``churn_risk_extrapolated``, which flags the customers whose score extrapolates beyond
    the training recency (the fit's note counts them; review: on CDNOW the count was said
    with no column left to find them by).
    """
    from valuemax.pipeline._outputs import propensity_informative, propensity_shortfall

    ok, _ = propensity_informative(found)
    drop = [c for c in CHURN_COLUMNS if c in found.scores]
    if ok or not drop:
        return found
    # the fit's notes may name the levels just dropped: said without them
    notes = tuple(_LOW_CHURN.sub("", n) for n in found.notes)
    return dataclasses.replace(found, scores=found.scores.drop(columns=drop), notes=(
        *notes, f"churn_risk is left out (customers export, store, dashboard): the "
        f"buy-again scores {propensity_shortfall(found)}; read churn with the RFM segments "
        "(At Risk, Can't Lose Them) and the days since the last purchase"))


#: The fit's advice on customers beyond the training recency, and what it becomes when
#: P(alive) cannot rank customers (:func:`with_p_alive_caveat`).
_READ_WITH = "Read them with their RFM segment and P(alive), not the score alone."
_READ_WITHOUT = ("Read them with their RFM segment, not the score alone (P(alive) cannot rank "
                 "customers on this log: see the purchase model's warning).")


def with_p_alive_caveat(found: Any, value: Any) -> Any:
    """``found`` (a ``PropensityResult``) whose notes no longer point to P(alive) when the
    value step warns that P(alive) cannot rank customers (``value.p_alive_warning``);
    unchanged otherwise (or when either is None)."""
    if found is None or value is None or value.p_alive_warning is None:
        return found
    notes = tuple(n.replace(_READ_WITH, _READ_WITHOUT) for n in found.notes)
    return found if notes == found.notes else dataclasses.replace(found, notes=notes)


#: The part of the fit's note on customers beyond the training recency
#: (:func:`valuemax.propensity._fit.recency_beyond_note`) that names the churn-risk columns.
_LOW_CHURN = re.compile(r" \([\d,]+ of them read Low churn risk\)")
