"""Point-in-time customer features and the buy-again label, built in the engine (Ibis).

Every feature at a cutoff ``c`` is computed from the lines with ``order_ts < c`` only; the
label looks at ``[c, c + H days)`` only. :func:`features_at` is that definition written
over the lines (the customer table plus the extra features, one query per cutoff); the
package builds its frames from the per-customer-day table instead
(:mod:`valuemax.propensity._days`, behind ``build_training_frame`` and ``fit_propensity``),
and tests/propensity/test_days.py checks the two give the same frames, value for value.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from valuemax._core.exceptions import InputError
from valuemax._core.schema import CANONICAL_COLUMNS
from valuemax.clean import CleanResult
from valuemax.engines._portable import money_sum
from valuemax.features._customers import checked_customer_table
from valuemax.features._validation import (
    CUSTOMER_COLUMNS,
    HOLDOUT_COLUMNS,
    resolve_log,
)

#: Days of each of the two spend-trend windows before the cutoff.
TREND_DAYS = 90

#: Numeric feature columns every frame carries (``product_diversity`` and ``return_rate``
#: only when the log has ``product_id`` / ``returned_quantity`` + ``quantity``).
BASE_FEATURES: tuple[str, ...] = (
    "n_orders", "n_lines", "total_spend", "avg_order_value", "recency_days", "tenure_days",
    "frequency", "recency", "T", "monetary_value", "ipt_mean", "ipt_cv", "spend_last_90d",
    "spend_prev_90d", "spend_trend",
)

#: The features computed from ``amount`` (money), left out with ``money=False`` (a log
#: without prices): the customer table's money columns and the spend trend. ``return_rate``
#: counts units, not money, and stays.
MONEY_FEATURES: tuple[str, ...] = (
    "total_spend", "avg_order_value", "monetary_value", "spend_last_90d", "spend_prev_90d",
    "spend_trend",
)


def numeric_features(money: bool) -> tuple[str, ...]:
    """:data:`BASE_FEATURES`, without :data:`MONEY_FEATURES` when ``money`` is False."""
    return BASE_FEATURES if money else tuple(c for c in BASE_FEATURES
                                             if c not in MONEY_FEATURES)


def check_money(money: Any) -> bool:
    """Return ``money`` when it is a bool, else raise :class:`InputError`."""
    if not isinstance(money, bool):
        raise InputError(f"money must be True or False (False for a log without prices); got "
                         f"{money!r}.")
    return money

#: Extra string columns never used as categorical features.
_NOT_CATEGORICAL = frozenset({"is_outlier", "returned_quantity", "origin", "label"})
#: The customer table's own columns: an extra column so named is not a categorical feature.
_OUTPUT_COLUMNS = frozenset({"customer_id", *CUSTOMER_COLUMNS, *HOLDOUT_COLUMNS})
#: Auto-detected categorical columns must have at most this many distinct values.
MAX_LEVELS = 100
#: At most this many auto-detected categorical columns become features (a wide export with
#: hundreds of text columns must not become hundreds of features and window queries).
MAX_CATEGORICAL = 5


def as_day(value: Any, name: str) -> _dt.date:
    """Return ``value`` (a date, midnight datetime or ``"YYYY-MM-DD"``) as a date.

    Raises
    ------
    InputError
        If ``value`` is not a date or carries a time of day.
    """
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, str):
        try:
            value = _dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise InputError(f"{name}={value!r} is not an ISO date; pass 'YYYY-MM-DD'.") from None
    if isinstance(value, _dt.datetime):
        if value.time() != _dt.time(0) or value.tzinfo is not None:
            raise InputError(f"{name}={value!r} must be a calendar date (midnight, no zone).")
        return value.date()
    if isinstance(value, _dt.date):
        return value
    raise InputError(f"{name} must be a date ('YYYY-MM-DD'); got {type(value).__name__}.")


def check_horizon(horizon_days: Any) -> int:
    """Return ``horizon_days`` as a positive int, else raise :class:`InputError`."""
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int) or horizon_days < 1:
        raise InputError(f"horizon_days must be a positive integer number of days; got "
                         f"{horizon_days!r}.")
    return horizon_days


def unwrap_log(transactions: Any, observation_end: Any, *, money: bool = True,
               ) -> tuple[Any, Any, bool]:
    """The lines, the observation end to use and whether the lines need a row scan.

    A :class:`~valuemax.clean.CleanResult` gives its ``transactions`` and, when
    ``observation_end`` is None, its ``observation_end``; its lines are trusted (no NULL
    customer/date/amount, none after its observation end, no implausible amount) unless an
    explicit ``observation_end`` is earlier than its own. A plain table gives itself and
    ``observation_end`` as passed (None: the last line's day, found later) and always
    needs the scan (:func:`~valuemax.features._validation.check_log`).

    Raises
    ------
    InputError
        If ``observation_end`` is not a date, or ``money`` is True for a CleanResult of a
        log without prices.
    """
    if isinstance(transactions, CleanResult):
        return resolve_log(transactions, observation_end, money=money)
    return transactions, observation_end, True


def check_transactions(transactions: Any, *, money: bool = True) -> ir.Table:
    """Check the table type and the needed columns; return it.

    ``amount`` is needed only with ``money`` (True); without it, a missing ``amount`` is
    added as an all-NULL column (never read: no spend feature is computed).

    Raises
    ------
    InputError
        If ``transactions`` is not an Ibis table or lacks customer_id/order_ts (or amount
        with ``money``).
    """
    if not isinstance(transactions, ir.Table):
        raise InputError(f"transactions must be an ibis Table (e.g. clean(...).transactions); "
                         f"got {type(transactions).__name__}.")
    needed = ("customer_id", "order_ts", "amount") if money else ("customer_id", "order_ts")
    missing = [c for c in needed if c not in transactions.columns]
    if missing:
        raise InputError(f"transactions lacks column(s) {', '.join(missing)}; available: "
                         f"{', '.join(transactions.columns)}.")
    if "amount" not in transactions.columns:
        return transactions.mutate(amount=ibis.null("float64"))
    return transactions


def date_range(transactions: ir.Table) -> tuple[_dt.date, _dt.date]:
    """First and last purchase day of the log (one aggregate query).

    Raises
    ------
    InputError
        If the log is empty.
    """
    t = transactions
    row = t.aggregate(lo=t.order_ts.min(), hi=t.order_ts.max()).to_pyarrow().to_pylist()[0]
    if row["lo"] is None:
        raise InputError("transactions is empty: no line to build propensity features from.")
    return _to_date(row["lo"]), _to_date(row["hi"])


def _to_date(v: Any) -> _dt.date:
    return v.date() if isinstance(v, _dt.datetime) else v


def resolve_categorical(transactions: ir.Table, categorical: Any) -> tuple[str, ...]:
    """Categorical columns to summarise by each customer's most frequent value.

    ``None`` or ``"auto"``: the extra string columns chosen by :func:`choose_categorical`
    (at most :data:`MAX_CATEGORICAL`); ``()``: none; a sequence: those columns.

    Raises
    ------
    InputError
        If a named column is missing or ``categorical`` is a bare string other than "auto".
    """
    return choose_categorical(transactions, categorical)[0]


def choose_categorical(transactions: ir.Table, categorical: Any
                       ) -> tuple[tuple[str, ...], str | None]:
    """The categorical feature columns and a note saying which were used and why.

    ``None`` or ``"auto"``: among the extra string columns (not canonical, not internal) with
    1 to :data:`MAX_LEVELS` distinct values, at most :data:`MAX_CATEGORICAL`, ranked by

    1. the share of customers whose lines all carry one value (a customer attribute such as
       ``Country`` or ``channel`` ranks above a per-line detail), then
    2. fewer distinct values, then the column name.

    Two aggregate queries whatever the number of columns (cost linear in the columns), so a
    log padded with hundreds of text columns costs no more than reading them once.

    Parameters
    ----------
    transactions : ibis.Table
        The clean log.
    categorical : None, "auto" or sequence of str
        As in :func:`build_training_frame`.

    Returns
    -------
    (tuple of str, str or None)
        The columns and, for ``auto``, a note naming the columns used and how many
        candidates were left out (None when there were no candidates).

    Raises
    ------
    InputError
        If a named column is missing or ``categorical`` is a bare string other than "auto".
    """
    t = transactions
    if categorical is None or (isinstance(categorical, str) and categorical == "auto"):
        texts = [c for c, typ in t.schema().items() if typ.is_string()
                 and c not in CANONICAL_COLUMNS and not c.startswith("_")
                 and c not in _NOT_CATEGORICAL]
        # a source column named like a column of the customer table (a CRM export's
        # "segment" or "total_spend") would clash with it in the features: left out, said
        clash = [c for c in texts if c in _OUTPUT_COLUMNS]
        cands = [c for c in texts if c not in _OUTPUT_COLUMNS]
        said = (f"; extra column(s) {', '.join(map(repr, clash))} not used as categorical "
                "features: named like a column of the customer table (rename them in the "
                "source, or pass categorical=[...])") if clash else ""
        if not cands:
            return (), (f"categorical features: none{said}" if clash else None)
        counts = t.aggregate(**{f"c{i}": t[c].nunique() for i, c in enumerate(cands)}
                             ).to_pyarrow().to_pylist()[0]
        levels = {c: counts[f"c{i}"] for i, c in enumerate(cands)}
        fit = [c for c in cands if 0 < levels[c] <= MAX_LEVELS]
        if not fit:
            return (), (f"categorical features: none of the {len(cands):,} extra text "
                        f"column(s) has 1..{MAX_LEVELS} distinct values{said}")
        if len(fit) > MAX_CATEGORICAL:
            per = t.group_by("customer_id").aggregate(
                **{f"c{i}": t[c].nunique() for i, c in enumerate(fit)})
            share = per.aggregate(**{f"c{i}": (per[f"c{i}"] <= 1).cast("float64").mean()
                                     for i in range(len(fit))}).to_pyarrow().to_pylist()[0]
            rank = {c: (-(share[f"c{i}"] or 0.0), levels[c], c) for i, c in enumerate(fit)}
            chosen = tuple(sorted(fit, key=rank.__getitem__)[:MAX_CATEGORICAL])
        else:
            chosen = tuple(fit)
        left = len(cands) - len(chosen)
        note = (f"categorical features: {', '.join(chosen)}"
                + (f" ({left:,} other extra text column(s) not used: at most "
                   f"{MAX_CATEGORICAL} are taken, those with 1..{MAX_LEVELS} values that are "
                   "most often constant per customer; pass categorical=[...] to choose)"
                   if left else "") + said)
        return chosen, note
    if isinstance(categorical, str) or not isinstance(categorical, Sequence):
        raise InputError(f"categorical must be None, 'auto' or a sequence of column names; got "
                         f"{categorical!r} (for one column write ({categorical!r},)).")
    missing = [c for c in categorical if c not in t.columns]
    if missing:
        raise InputError(f"categorical names column(s) not in the transactions: "
                         f"{', '.join(map(repr, missing))}; available: {', '.join(t.columns)}.")
    return tuple(categorical), None


def features_at(
    transactions: ir.Table,
    cutoff: _dt.date,
    *,
    categorical: tuple[str, ...] = (),
    label_days: int | None = None,
    return_rate: bool = False,
    money: bool = True,
) -> pd.DataFrame:
    """One row per customer who bought before ``cutoff``: features, and the label if asked.

    Parameters
    ----------
    transactions : ibis.Table
        Checked canonical transactions.
    cutoff : datetime.date
        Features use ``order_ts < cutoff`` only.
    categorical : tuple of str
        Columns summarised by the customer's most frequent value (ties: smallest).
    label_days : int, optional
        When given, ``label`` (int 0/1) = bought in ``[cutoff, cutoff + label_days)``.
    return_rate : bool
        Add ``return_rate`` = returned units / bought units (needs ``returned_quantity``).
    money : bool, default True
        False for a log without prices: ``amount`` is not read and :data:`MONEY_FEATURES`
        are absent.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, :data:`BASE_FEATURES` (less :data:`MONEY_FEATURES` without
        ``money``), optional ``product_diversity`` (NaN for a
        customer without a product code) and ``return_rate`` (each present only when some
        customer has a value), the categorical columns and ``label``; ordered by
        ``customer_id``.
    """
    out = features_expr(transactions, cutoff, categorical=categorical, label_days=label_days,
                        return_rate=return_rate, money=money)
    df = out.order_by("customer_id").to_pyarrow().to_pandas()
    return df[frame_columns(df, categorical=categorical, label=label_days is not None,
                            money=money)].reset_index(drop=True)


def frame_columns(df: pd.DataFrame, *, categorical: tuple[str, ...], label: bool,
                  money: bool, filled: dict[str, bool] | None = None) -> list[str]:
    """Columns of a :func:`features_at` frame, in order.

    Optional features with no value for any customer (no product or no quantity in the
    log) carry no information and are left out; ``filled`` says, per optional column, whether
    any row has a value when ``df`` holds only some rows (a sample).
    """
    keep = ["customer_id", *numeric_features(money)]
    keep += [c for c in ("product_diversity", "return_rate")
             if c in df.columns and (df[c].notna().any() if filled is None else filled[c])]
    return [*keep, *categorical, *(["label"] if label else [])]


def features_expr(
    transactions: ir.Table,
    cutoff: _dt.date,
    *,
    categorical: tuple[str, ...] = (),
    label_days: int | None = None,
    return_rate: bool = False,
    money: bool = True,
) -> ir.Table:
    """The engine expression behind :func:`features_at` (same arguments; not executed).

    Returns
    -------
    ibis.Table
        One row per customer who bought before ``cutoff``, every column computed (the
        optional ones may be NULL throughout), unordered.
    """
    t = transactions
    cut_ts = ibis.timestamp(_dt.datetime.combine(cutoff, _dt.time(0)))
    before = t.filter(t.order_ts < cut_ts)
    # the lines were validated once at the public boundary (check_log): no scan per cutoff
    base = checked_customer_table(before, end=cutoff, unit=1, modes=categorical,
                                  money=money)
    extra = _extra_features(before, cutoff, return_rate=return_rate, money=money)
    out = base.join(extra, "customer_id")
    if label_days is not None:
        end_ts = ibis.timestamp(_dt.datetime.combine(cutoff + _dt.timedelta(label_days),
                                                      _dt.time(0)))
        after = t.filter((t.order_ts >= cut_ts) & (t.order_ts < end_ts))
        buyers = after.select(_buyer=after.customer_id).distinct()
        out = out.left_join(buyers, out.customer_id == buyers._buyer)
        out = out.mutate(label=out._buyer.notnull().cast("int64")).drop("_buyer")
    return out


def _extra_features(before: ir.Table, cutoff: _dt.date, *, return_rate: bool,
                    money: bool = True) -> ir.Table:
    """Inter-purchase times, spend trend (``money`` only), product diversity and return rate
    per customer."""
    day = before.order_ts.date()
    lines = before.mutate(_day=day, _amt=before.amount.cast("float64"))
    days = lines.group_by(["customer_id", "_day"]).aggregate(_n=lines.count())
    prev = days._day.lag().over(group_by=days.customer_id, order_by=days._day)
    gaps = days.mutate(_gap=days._day.delta(prev, unit="day").cast("int64"))
    # integer moments (exact, so the same on every run: a float SD's parallel merge order
    # moved its last bit), the mean and population SD from them: var = (n S2 - S1^2) / n^2
    ipt = gaps.group_by("customer_id").aggregate(
        _s1=gaps._gap.sum(), _s2=(gaps._gap * gaps._gap).sum(), _ng=gaps._gap.count())
    n_gaps = ipt._ng.cast("float64")
    mean = ipt._s1.cast("float64") / n_gaps
    sd = ((ipt._ng * ipt._s2 - ipt._s1 * ipt._s1).cast("float64") / (n_gaps * n_gaps)).sqrt()
    ipt = ipt.mutate(ipt_mean=ibis.ifelse(ipt._ng > 0, mean, ibis.null("float64")))
    ipt = ipt.mutate(ipt_cv=ibis.ifelse((ipt._ng >= 2) & (ipt.ipt_mean > 0),
                                        sd / ipt.ipt_mean, ibis.null("float64")))
    last_lo = ibis.date(cutoff - _dt.timedelta(TREND_DAYS))
    prev_lo = ibis.date(cutoff - _dt.timedelta(2 * TREND_DAYS))
    aggs: dict[str, Any] = {"_nl": lines.count()}
    if money:
        aggs["_last"] = money_sum(lines._amt, where=lines._day >= last_lo)
        aggs["_prev"] = money_sum(lines._amt,
                                  where=(lines._day >= prev_lo) & (lines._day < last_lo))
    if "product_id" in lines.columns:
        aggs["_np"] = lines.product_id.nunique()
    if return_rate and {"returned_quantity", "quantity"} <= set(lines.columns):
        aggs["_ret"] = lines.returned_quantity.cast("float64").sum()
        aggs["_bought"] = (lines.quantity.cast("float64")
                           + lines.returned_quantity.cast("float64")).sum()
    per = lines.group_by("customer_id").aggregate(**aggs)
    cols: dict[str, Any] = {"customer_id": per.customer_id}
    if money:
        zero = ibis.literal(0.0, "float64")
        last = per._last.fill_null(0.0)
        prev_s = per._prev.fill_null(0.0)
        cols["spend_last_90d"] = last
        cols["spend_prev_90d"] = prev_s
        cols["spend_trend"] = ibis.ifelse((last + prev_s) > 0,
                                          (last - prev_s) / (last + prev_s), zero)
    if "_np" in per.columns:
        cols["product_diversity"] = ibis.ifelse(
            per._np > 0, per._np.cast("float64") / per._nl.cast("float64"),
            ibis.null("float64"))
    if "_ret" in per.columns:
        cols["return_rate"] = ibis.ifelse(per._bought > 0, per._ret / per._bought,
                                          ibis.null("float64"))
    feats = per.select(**cols)
    ipt = ipt.select(_k=ipt.customer_id, ipt_mean=ipt.ipt_mean, ipt_cv=ipt.ipt_cv)
    joined = feats.join(ipt, feats.customer_id == ipt._k)
    return joined.select(*feats.columns, "ipt_mean", "ipt_cv")


def check_cutoff(c: _dt.date, first: _dt.date, last: _dt.date, end: _dt.date, h: int) -> None:
    """Raise :class:`InputError` unless ``first < c <= last`` and ``c + h <= end + 1 day``."""
    if c <= first:
        raise InputError(f"cutoff {c} is not after the first transaction day ({first}): no "
                         f"customer has history before it; pick a cutoff after {first}.")
    if c > last:
        raise InputError(f"cutoff {c} is after the last transaction day ({last}): the label "
                         f"window would be empty; pick a cutoff on or before {last}.")
    if c + _dt.timedelta(h) > end + _dt.timedelta(1):
        raise InputError(f"the label window [{c}, {c + _dt.timedelta(h)}) of {h} days runs past "
                         f"the observation end {end}; use a cutoff on or before "
                         f"{end + _dt.timedelta(1 - h)} or a shorter horizon_days.")
