"""Input (b): an assignment file plus the transaction log, outcomes computed in the engine.

Each assigned customer's outcomes are read from the log over a stated window after their own
assignment time, and pre-period covariates over a window before it. The join and the
aggregation run as one Ibis expression, so the log never reaches Python.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, replace
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from valuemax._core.exceptions import InputError
from valuemax.experiment._result import ExperimentResult
from valuemax.experiment._table import as_table

#: Quarantine reasons of the assignment file, in the order they are checked.
REASON_NO_ID = "customer_id_missing"
REASON_NO_TIME = "assigned_at_missing"
REASON_NO_ARM = "arm_missing"
REASON_TWO_ARMS = "assigned_to_several_arms"
REASON_TWICE = "assigned_twice_same_arm"
REASON_LATE = "window_not_observed"

#: Outcome columns (in the window after assignment) and covariates (in the pre-period).
OUTCOMES: tuple[str, ...] = ("converted", "orders", "revenue")
COVARIATES: tuple[str, ...] = ("pre_orders", "pre_revenue")


@dataclass(frozen=True)
class Outcomes:
    """Per-customer outcomes of an experiment read from a transaction log.

    Attributes
    ----------
    table : ibis.Table
        Lazy, one row per kept assigned customer: ``customer_id`` (string), ``arm``
        (string), ``assigned_at`` (timestamp), ``converted`` (int 0/1: a line with
        ``amount > 0`` in the window), ``orders`` (int: distinct orders with such a line; a
        line without ``order_id`` is its own order), ``revenue`` (float: sum of ``amount`` in
        the window, returns' negative lines included, i.e. net of returns) and, with a
        pre-period, ``pre_orders`` and ``pre_revenue`` defined the same way over it.
    quarantine : pandas.DataFrame
        Assignment rows left out: ``customer_id``, ``arm``, ``assigned_at``, ``reason``.
    window_days : int
        Outcome window ``[assigned_at, assigned_at + window_days days)``.
    pre_days : int or None
        Pre-period ``[assigned_at - pre_days days, assigned_at)``.
    observation_end : datetime.date
        Last day the log covers (inclusive); windows ending after it are quarantined.
    designed_shares : dict of str to float or None
        The designed share of each arm when the assignment file has a ``share`` column (as
        :func:`valuemax.decide.holdout_assignments` writes it), else None.
    notes : tuple of str
        What the reader must know about the join: assigned customers who never appear in
        the log (counted as non-buyers), with the first ids.
    """

    table: ir.Table
    quarantine: pd.DataFrame
    window_days: int
    pre_days: int | None
    observation_end: _dt.date
    designed_shares: dict[str, float] | None = None
    notes: tuple[str, ...] = ()


def _days(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{name}={value!r} must be a whole number of days >= 1.")
    return value


def _assigned_at(table: ir.Table, column: str) -> ir.Value:
    dtype = table[column].type()
    if dtype.is_timestamp():
        if getattr(dtype, "timezone", None):
            raise InputError(f"{column!r} has time zone {dtype.timezone}; give naive local "
                             "times like the log's order_ts (convert before, never dropped "
                             "silently).")
        return table[column]
    if dtype.is_date():
        return table[column].cast("timestamp")
    raise InputError(f"{column!r} must be a date or timestamp; it is {dtype}. Parse it first "
                     "(e.g. pandas.to_datetime(..., format='%Y-%m-%d %H:%M:%S')); valuemax does "
                     "not guess date orders.")


def outcomes_from_log(
    assignments: Any,
    transactions: Any,
    *,
    window_days: int,
    pre_days: int | None = None,
    observation_end: _dt.date | str | None = None,
    customer_id: str = "customer_id",
    arm: str = "arm",
    assigned_at: str = "assigned_at",
    share: str = "share",
    encoding: str | None = None,
) -> Outcomes:
    """Each assigned customer's outcomes over ``window_days`` after assignment, in the engine.

    Parameters
    ----------
    assignments : str, Path, ibis.Table, DataFrame or pyarrow Table
        One row per assigned customer: ``customer_id``, ``arm``, ``assigned_at`` (date or
        naive timestamp), under the names given.
    transactions : ibis.Table, DataFrame or pyarrow Table
        A clean canonical log (``valuemax.clean``): ``customer_id``, ``order_ts``, ``amount``
        and optionally ``order_id``. A frame is registered in the assignments' engine, or
        both in a new in-memory DuckDB.
    window_days : int
        Outcome window length in days (>= 1).
    pre_days : int, optional
        Pre-period length in days for the CUPED covariates ``pre_orders`` and
        ``pre_revenue``; none by default.
    observation_end : datetime.date or str, optional
        Last day the log covers, inclusive (default: the day of its last ``order_ts``).
        A customer whose window ends after it has unobserved outcomes and is quarantined
        (``window_not_observed``), not read as a non-buyer.
    customer_id, arm, assigned_at : str
        Column names in ``assignments``.
    share : str, default "share"
        Optional column of ``assignments`` with each row's designed arm share (one value per
        arm); when present, the shares are returned as ``Outcomes.designed_shares`` and
        :func:`readout_from_log` tests the sample ratio against them.
    encoding : str, optional
        Text encoding of a CSV ``assignments`` file (default: detected among UTF-8, UTF-16
        with a byte-order mark and GB18030/GBK; CLI ``--encoding``).

    Returns
    -------
    Outcomes

    Raises
    ------
    InputError
        If a column is missing or mistyped, a window length is invalid, or no assignment is
        left after the quarantine.

    Notes
    -----
    Quarantined (every row of the customer) with a reason: no id, no ``assigned_at``, no
    arm, an id on several rows with one arm or with several arms, and a window not covered by
    the log. Customers without any transaction in the window are kept with outcomes 0.
    """
    win = _days("window_days", window_days)
    pre = None if pre_days is None else _days("pre_days", pre_days)
    tx = transactions if isinstance(transactions, ir.Table) else None
    a = as_table(assignments, con=tx.get_backend() if tx is not None else None,
                 name="assignments", encoding=encoding)
    if tx is None:
        tx = as_table(transactions, con=a.get_backend(), name="transactions")
    missing = [c for c in (customer_id, arm, assigned_at) if c not in a.columns]
    if missing:
        raise InputError(f"assignment column(s) {missing} not found; available: "
                         f"{', '.join(a.columns)} (customer_id= / arm= / assigned_at=).")
    need = [c for c in ("customer_id", "order_ts", "amount") if c not in tx.columns]
    if need:
        raise InputError(f"the transaction log lacks {need}; it has {', '.join(tx.columns)}. "
                         "Read and clean it with valuemax.io / valuemax.clean first.")
    designed = _designed_shares(a, arm, share) if share in a.columns else None
    a = a.select(customer_id=a[customer_id].cast("string"), arm=a[arm].cast("string"),
                 assigned_at=_assigned_at(a, assigned_at))
    if observation_end is None:
        last = tx.order_ts.max().to_pyarrow().as_py()
        if last is None:
            raise InputError("the transaction log is empty: no outcome can be observed.")
        end = last.date() if isinstance(last, _dt.datetime) else last
    else:
        try:
            end = _dt.date.fromisoformat(str(observation_end))
        except ValueError as exc:
            raise InputError(f"observation_end={observation_end!r} is not a date YYYY-MM-DD."
                             ) from exc
    end_ts = ibis.timestamp(_dt.datetime.combine(end + _dt.timedelta(days=1), _dt.time()))
    window = ibis.interval(days=win)
    ids = a.group_by("customer_id").aggregate(_n_rows=a.count(), _n_arms=a.arm.nunique())
    a = a.left_join(ids, "customer_id").select(a, "_n_rows", "_n_arms")
    reason = ibis.cases(
        (a.customer_id.isnull(), REASON_NO_ID), (a.assigned_at.isnull(), REASON_NO_TIME),
        (a.arm.isnull(), REASON_NO_ARM), (a._n_arms > 1, REASON_TWO_ARMS),
        (a._n_rows > 1, REASON_TWICE), (a.assigned_at + window > end_ts, REASON_LATE),
        else_=ibis.null().cast("string"))
    a = a.mutate(reason=reason).drop("_n_rows", "_n_arms")
    quarantine = a.filter(a.reason.notnull()).order_by(["reason", "customer_id"])
    quarantine = quarantine.to_pyarrow().to_pandas()
    n_rows = int(a.count().to_pyarrow().as_py())
    if n_rows == 0:
        raise InputError("the assignment file has no rows; it needs one row per assigned "
                         "customer: customer_id, arm, assigned_at.")
    if len(quarantine) == n_rows:
        raise InputError(_all_quarantined(quarantine, end, win))
    kept = a.filter(a.reason.isnull()).drop("reason")
    t = tx.select(_cid=tx.customer_id.cast("string"), _ts=tx.order_ts.cast("timestamp"),
                  _amount=tx.amount.cast("float64"),
                  _order=(tx.order_id.cast("string") if "order_id" in tx.columns
                          else ibis.null().cast("string")))
    notes = _unmatched(kept, t)
    j = kept.left_join(t, kept.customer_id == t._cid)

    def measures(cond: ir.BooleanValue, prefix: str) -> dict[str, ir.Value]:
        bought = cond & (j._amount > 0)
        return {
            f"{prefix}orders": (ibis.ifelse(bought & j._order.notnull(), j._order, None).nunique()
                                + ibis.ifelse(bought & j._order.isnull(), 1, 0).sum()),
            f"{prefix}revenue": ibis.ifelse(cond, j._amount, 0.0).sum().fill_null(0.0),
            f"{prefix}converted": ibis.ifelse(bought, 1, 0).max(),
        }

    aggs = measures((j._ts >= j.assigned_at) & (j._ts < j.assigned_at + window), "")
    if pre is not None:
        pre_aggs = measures((j._ts >= j.assigned_at - ibis.interval(days=pre))
                            & (j._ts < j.assigned_at), "pre_")
        aggs.update({k: v for k, v in pre_aggs.items() if k != "pre_converted"})
    out = j.group_by(["customer_id", "arm", "assigned_at"]).aggregate(**aggs)
    out = out.mutate(converted=out.converted.fill_null(0).cast("int64"),
                     orders=out.orders.fill_null(0).cast("int64"))
    if pre is not None:
        out = out.mutate(pre_orders=out.pre_orders.fill_null(0).cast("int64"))
    return Outcomes(table=out, quarantine=quarantine, window_days=win, pre_days=pre,
                    observation_end=end, designed_shares=designed, notes=notes)


def _unmatched(kept: ir.Table, t: ir.Table) -> tuple[str, ...]:
    """The note on assigned customers absent from the whole log; InputError when none is in
    it (the ids cannot be the log's: every outcome would read 0)."""
    seen = t.select(_cid=t._cid).distinct()
    flagged = kept.left_join(seen, kept.customer_id == seen._cid).select(
        kept.customer_id, _in=seen._cid.notnull())
    counts = flagged.aggregate(n=flagged.count(),
                               absent=ibis.ifelse(flagged._in, 0, 1).sum()).to_pyarrow()
    n, absent = int(counts["n"][0].as_py()), int(counts["absent"][0].as_py() or 0)
    if not absent:
        return ()
    first = flagged.filter(~flagged._in).order_by("customer_id").limit(5) \
        .to_pyarrow()["customer_id"].to_pylist()
    shown = ", ".join(map(repr, first))
    if absent == n:
        raise InputError(
            f"none of the {n:,} assigned customers appears in the transaction log (e.g. "
            f"{shown}): every outcome would read 0. Check that the assignment file's ids are "
            "the log's (same column, same format: leading zeros, pseudonyms, case).")
    return (f"{absent:,} of {n:,} assigned customers never appear in the log (e.g. {shown}): "
            "they count as non-buyers (0 orders, 0 revenue). Expected for customers who "
            "never bought; if their ids are written otherwise in the log, fix them first.",)


def _all_quarantined(quarantine: pd.DataFrame, end: _dt.date, window_days: int) -> str:
    """The message when no assignment row is left: the reasons counted, the fix for each."""
    counts = quarantine["reason"].value_counts()
    parts = [f"{int(v):,} {k}" for k, v in counts.items()]
    text = (f"every one of the {len(quarantine):,} assignment rows was quarantined "
            f"({', '.join(parts)}); nothing is left to read out.")
    if REASON_LATE in counts:
        late = quarantine.loc[quarantine["reason"] == REASON_LATE, "assigned_at"]
        ids = ", ".join(map(str, quarantine.loc[quarantine["reason"] == REASON_LATE,
                                                "customer_id"].head(5)))
        text += (f" {_late_words(int(counts[REASON_LATE]), end, window_days)}"
                 f" (customer_id {ids}; assigned {late.min()} .. {late.max()}). Read it out "
                 "once the log covers the windows, or shorten window_days= / --window-days.")
    if REASON_TWO_ARMS in counts or REASON_TWICE in counts:
        text += " Give each customer one row with one arm."
    return text


def _late_words(n: int, end: _dt.date, window_days: int) -> str:
    """``n`` assignments whose outcome window of ``window_days`` ends after the log's ``end``."""
    return (f"{n:,} assignments have an outcome window of {window_days} days that ends after "
            f"the log's last day, {end.isoformat()}, so their outcomes are not observed yet")


def _designed_shares(a: ir.Table, arm: str, share: str) -> dict[str, float]:
    """The designed share of each arm from the assignment file's ``share`` column.

    Raises InputError when an arm has no share, two different shares, or a share outside
    (0, 1], or when the shares do not add up to 1 (within 1e-6).
    """
    try:
        values = a[share].cast("float64")
    except Exception as exc:  # a column ibis cannot cast to a number
        raise InputError(f"the assignment column {share!r} must hold each arm's designed "
                         "share (a number in (0, 1]).") from exc
    per_arm = (a.filter(a[arm].notnull())
               .group_by(_arm=a[arm].cast("string"))
               .aggregate(lo=values.min(), hi=values.max(),
                          n_missing=values.isnull().sum().fill_null(0))
               .order_by("_arm").to_pyarrow().to_pandas())
    bad = per_arm[(per_arm["n_missing"] > 0) | per_arm["lo"].isna()
                  | ((per_arm["hi"] - per_arm["lo"]).abs() > 1e-9)
                  | (per_arm["lo"] <= 0) | (per_arm["hi"] > 1)]
    if len(bad):
        raise InputError(f"the assignment column {share!r} must give each arm one designed "
                         f"share in (0, 1]; arm(s) {', '.join(map(repr, bad['_arm'][:5]))} have "
                         "missing, differing or out-of-range values. Fix the file or drop the "
                         "column and pass the shares (shares= / --shares ARM=SHARE).")
    shares = dict(zip(per_arm["_arm"], per_arm["lo"].astype(float), strict=True))
    total = sum(shares.values())
    if abs(total - 1.0) > 1e-6:
        raise InputError(f"the designed shares in column {share!r} add up to {total:.6g}, not "
                         f"1 ({shares}); fix the file or pass the shares (shares= / --shares).")
    return shares


def readout_from_log(
    assignments: Any,
    transactions: Any,
    *,
    control: str,
    window_days: int,
    pre_days: int | None = None,
    metrics: tuple[str, ...] = OUTCOMES,
    observation_end: _dt.date | str | None = None,
    customer_id: str = "customer_id",
    arm: str = "arm",
    assigned_at: str = "assigned_at",
    encoding: str | None = None,
    **options: Any,
) -> ExperimentResult:
    """Read out an experiment from an assignment file and the transaction log.

    :func:`outcomes_from_log` then :func:`readout` on ``metrics`` (default ``converted``
    (a rate), ``orders`` and ``revenue`` (means per assigned customer)) with CUPED on
    ``pre_orders`` and ``pre_revenue`` when ``pre_days`` is given. The result's quarantine
    holds the assignment rows left out, and its notes count them.

    Parameters
    ----------
    assignments, transactions, window_days, pre_days, observation_end, customer_id, arm, assigned_at, encoding
        As in :func:`outcomes_from_log`.
    control : str
        The control arm's label.
    metrics : tuple of str, default ("converted", "orders", "revenue")
    **options
        Passed to :func:`readout`: ``shares``, ``correction``, ``confidence``, ``kinds``,
        ``srm_alpha``. Without ``shares`` (or with None), the designed shares of the
        assignment file's ``share`` column are used when it has one, else equal shares.

    Returns
    -------
    ExperimentResult
        ``quarantine`` columns ``customer_id, arm, assigned_at, reason``.

    Raises
    ------
    InputError
        As :func:`outcomes_from_log` and :func:`readout`, or if ``options`` names an argument
        this function sets itself.
    """
    from valuemax.experiment._readout import readout

    clash = sorted(set(options) & {"arm", "metrics", "covariates", "id_column", "missing"})
    if clash:
        raise InputError(f"{clash} are set by readout_from_log itself; remove them.")
    found = outcomes_from_log(assignments, transactions, window_days=window_days,
                              pre_days=pre_days, observation_end=observation_end,
                              customer_id=customer_id, arm=arm, assigned_at=assigned_at,
                              encoding=encoding)
    if options.get("shares") is None and found.designed_shares is not None:
        options["shares"] = found.designed_shares
    # the join of the log with the assignments runs once: every later query (quarantine
    # check, one aggregate per metric) reads the per-customer table from the engine
    table = found.table.cache()
    try:
        result = readout(table, arm="arm", control=control, metrics=list(metrics),
                         covariates=list(COVARIATES) if pre_days is not None else [],
                         id_column="customer_id", **options)
    except InputError as exc:
        if pre_days is None or "cannot adjust" not in str(exc):
            raise
        raise InputError(f"{str(exc).split(';')[0]}: the covariates are the purchases in the "
                         f"pre_days={pre_days} days before each assignment; lengthen the "
                         "pre-period or leave it out (pre_days= / --pre-days).") from None
    finally:
        table.release()
    notes = [*found.notes, *result.notes]
    if len(found.quarantine):
        counts = found.quarantine["reason"].value_counts()
        notes.insert(0, "quarantined " + ", ".join(f"{int(v):,} assignment rows {k}"
                                                   for k, v in counts.items()))
    if found.designed_shares is not None and options["shares"] is found.designed_shares:
        notes.append("sample ratio tested against the designed shares of the assignment "
                     "file's share column: " + ", ".join(
                         f"{k} {v:.4g}" for k, v in found.designed_shares.items()))
    pre = f", pre-period {found.pre_days} days" if found.pre_days else ""
    notes.append(f"outcomes over {found.window_days} days after each assignment{pre}; log "
                 f"observed to {found.observation_end.isoformat()}")
    quarantine = pd.concat([found.quarantine, result.quarantine], ignore_index=True) \
        if len(result.quarantine) else found.quarantine
    return replace(result, quarantine=quarantine, notes=tuple(notes))

