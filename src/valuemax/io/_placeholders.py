"""Placeholder dates: stand-ins for a missing date, and a handful of dates far before the log.

Exports fill a missing date with a placeholder — ``1900-01-01`` (spreadsheets' day 1),
``1970-01-01`` (Unix time 0) — and a mistyped year (1911 for 2011) puts a line decades before
the rest. Taken as purchases, one such line stretches a customer's tenure and ``T`` by decades
and moves every model fitted on the customer table. The far-future side is guarded when the
observation end is chosen (:func:`valuemax.clean._obsend.default_observation_end`); this is the
other side, decided once at read time from one GROUP BY date query:

- a **sentinel day** (:data:`SENTINEL_DAYS`) is a placeholder unless the log has other lines
  within :data:`GAP_MIN_DAYS` days of it (a log that really starts in 1970 keeps it);
- the **head** of the log is a typo when few lines (at most ``max(5, 0.1 %)`` of the rows)
  come before a gap of more than ``max(90 days, a quarter of the span after the gap)``: the
  mirror image of the far-future guard's rule. Logs of fewer than 20 rows are not judged.

Lines on those days get ``_parse_error = 'placeholder_date'`` (quarantined with that reason;
the values stay in ``transactions_raw`` and the quarantine) and a note says how many, which
days and why.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Final

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Days exports use for "no date": spreadsheets' day 1 and Unix time 0 (Excel's day 0,
#: 1899-12-30, is before 1900 and already ``implausible_date``).
SENTINEL_DAYS: Final[tuple[_dt.date, ...]] = (_dt.date(1900, 1, 1), _dt.date(1970, 1, 1))
#: The head rule's thresholds, the same as the far-future guard's.
HEAD_MAX_LINES: Final = 5
HEAD_MAX_SHARE: Final = 0.001
MIN_ROWS_TO_JUDGE: Final = 20
GAP_MIN_DAYS: Final = 90
GAP_SPAN_SHARE: Final = 0.25
#: Dates outside this range are ``implausible_date`` already (clean's PLAUSIBLE_DATES).
_PLAUSIBLE = (_dt.date(1900, 1, 1), _dt.date(2100, 1, 1))
_EPOCH = _dt.date(1970, 1, 1)


def placeholder_days(std: Any, n_rows: int) -> tuple[tuple[_dt.date, ...], str | None]:
    """The days whose lines are placeholders, and a note (None when there are none).

    As :func:`placeholder_scan`, without the day counts.

    Parameters
    ----------
    std : ibis.Table
        The standardized log (``order_ts``, ``_parse_error``), before placeholders are
        flagged.
    n_rows : int
        Rows of the log (all lines).

    Returns
    -------
    (tuple of datetime.date, str or None)
        Sorted placeholder days and the note naming them with their line counts.

    Examples
    --------
    >>> import datetime as dt, ibis, pyarrow as pa
    >>> days = ["1970-01-01"] * 3 + ["1985-06-01"] + [f"2011-{m:02d}-01" for m in range(1, 13)] * 3
    >>> t = ibis.memtable(pa.table({
    ...     "order_ts": pa.array([dt.datetime.fromisoformat(d) for d in days]),
    ...     "_parse_error": pa.array([None] * len(days), pa.string())}))
    >>> found, note = placeholder_days(t, len(days))
    >>> [d.isoformat() for d in found]
    ['1970-01-01', '1985-06-01']
    """
    found, note, _ = placeholder_scan(std, n_rows)
    return found, note


def placeholder_scan(std: Any, n_rows: int) -> tuple[tuple[_dt.date, ...], str | None, Any]:
    """The placeholder days, the note, and the usable lines per day once they are flagged.

    Parameters
    ----------
    std : ibis.Table
        The standardized log (``order_ts``, ``_parse_error``), before placeholders are
        flagged.
    n_rows : int
        Rows of the log (all lines).

    Returns
    -------
    (tuple of datetime.date, str or None, pyarrow.Table)
        As :func:`placeholder_days`, then the lines without a parse error and with a date in
        1900-01-01 .. 2100-01-01 per day (``_vm_d`` date, ``_vm_n`` int64), the placeholder
        days left out: the same counts as the query of
        :func:`valuemax.clean._obsend.default_observation_end` over the log read with those
        days flagged (their lines then have ``_parse_error='placeholder_date'``).
    """
    day = std.order_ts.date()
    ok = std._parse_error.isnull() & std.order_ts.notnull() \
        & (day >= ibis.literal(_PLAUSIBLE[0])) & (day <= ibis.literal(_PLAUSIBLE[1]))
    s = std.filter(ok).select(_vm_d=day)
    tbl = s.group_by("_vm_d").aggregate(_vm_n=s.count()).to_pyarrow()
    tbl = tbl.select(["_vm_d", "_vm_n"]).cast(pa.schema([("_vm_d", pa.date32()),
                                                         ("_vm_n", pa.int64())]))
    found, note = _judge(tbl, n_rows)
    if found:
        gone = pa.array([(d - _EPOCH).days for d in found], pa.int32()).cast(pa.date32())
        tbl = tbl.filter(pc.invert(pc.is_in(tbl["_vm_d"], value_set=gone)))
    return found, note, tbl


def _judge(tbl: Any, n_rows: int) -> tuple[tuple[_dt.date, ...], str | None]:
    """The placeholder days and the note, from the usable lines per day ``tbl``."""
    if tbl.num_rows == 0:
        return (), None
    days = np.asarray(tbl["_vm_d"].cast("int32").to_numpy(), np.int64)
    n = np.asarray(pc.cast(tbl["_vm_n"], "int64").to_numpy(), np.int64)
    order = np.argsort(days)
    days, n = days[order], n[order]
    flagged: set[int] = set()
    sentinels = {(d - _EPOCH).days for d in SENTINEL_DAYS}
    for i, d in enumerate(days):
        if int(d) in sentinels:
            others = np.delete(days, i)
            if others.size and np.min(np.abs(others - d)) > GAP_MIN_DAYS:
                flagged.add(int(d))
    rest = np.array([d for d in days if int(d) not in flagged], np.int64)
    rest_n = np.array([c for d, c in zip(days, n, strict=True) if int(d) not in flagged],
                      np.int64)
    head_cut = None
    if n_rows >= MIN_ROWS_TO_JUDGE and rest.size >= 2:
        head = np.cumsum(rest_n)
        limit = max(HEAD_MAX_LINES, HEAD_MAX_SHARE * n_rows)
        for i in range(rest.size - 1):
            if head[i] > limit:
                break
            gap = rest[i + 1] - rest[i]
            if gap > max(GAP_MIN_DAYS, GAP_SPAN_SHARE * (rest[-1] - rest[i + 1])):
                head_cut = i  # the largest such i: the whole suspect head
    if head_cut is not None:
        flagged |= {int(d) for d in rest[: head_cut + 1]}
    if not flagged:
        return (), None
    found = tuple(_EPOCH + _dt.timedelta(days=int(d)) for d in sorted(flagged))
    count = {int(d): int(c) for d, c in zip(days, n, strict=True)}
    parts = [f"{d.isoformat()} ({count[(d - _EPOCH).days]:,} line(s)"
             + (", a placeholder for a missing date)" if d in SENTINEL_DAYS else ")")
             for d in found[:5]]
    first_real = _EPOCH + _dt.timedelta(days=int(min(d for d in days if int(d) not in flagged))) \
        if len(flagged) < days.size else None
    total = sum(count[(d - _EPOCH).days] for d in found)
    note = (f"order_ts: {total:,} line(s) on {len(found)} day(s) far before the rest of the log"
            + (f" (which starts {first_real.isoformat()})" if first_real else "")
            + f": {', '.join(parts)}{' ...' if len(found) > 5 else ''} -> "
            "quarantined with reason 'placeholder_date' (a placeholder or a mistyped year "
            "would stretch the customer's tenure by years; correct the dates in the source to "
            "keep them)")
    return found, note
