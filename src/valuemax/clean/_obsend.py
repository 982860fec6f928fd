"""The default observation end: the log's last transaction date, guarded against a typo.

The default is the date of the last line that passes the parse rules (customer id, date and
amount usable) and has a plausible date (:data:`~valuemax.clean._rules.PLAUSIBLE_DATES`),
whatever the other rules later decide about that line: a return, a cancellation or a free
item on the last day is still a transaction of the log, as in lifetimes'
``observation_period_end`` default. A line that cannot be parsed cannot move it.

A single mistyped year (2021 for 2011) still can, and would add years to every customer's
recency. :func:`default_observation_end` therefore refuses a last date cut off from the rest
of the log by an implausible gap (the rule is stated there), and a last date after the day
of the run (lines from the future, whatever their number).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Final

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from valuemax._core.exceptions import InputError
from valuemax.clean._report import count_noun
from valuemax.clean._rules import implausible

#: A tail of at most ``max(TAIL_MAX_LINES, TAIL_MAX_SHARE * rows)`` lines is "few" ...
TAIL_MAX_LINES: Final = 5
TAIL_MAX_SHARE: Final = 0.001
#: Logs with fewer rows are not judged: one late line there is as likely real as a typo.
MIN_ROWS_TO_JUDGE: Final = 20
#: ... and is refused when its gap exceeds ``max(GAP_MIN_DAYS, GAP_SPAN_SHARE * span)`` days.
GAP_MIN_DAYS: Final = 90
GAP_SPAN_SHARE: Final = 0.25
#: A gap (in days) before the last date above which the note suggests checking the log.
NOTE_GAP_DAYS: Final = 31

_EPOCH = dt.date(1970, 1, 1)


def usable(t: ir.Table) -> ir.BooleanValue:
    """True where the line passes the parse rules and its date is plausible (no NULLs)."""
    return (t["_parse_error"].isnull() & ~implausible(t)).fill_null(False)


def default_observation_end(con: Any, std: ir.Table, prior: tuple[pa.Table, int] | None = None,
                            fix: Callable[[dt.date, dt.date], str] | None = None,
                            offset: int | None = None,
                            counts: tuple[pa.Table, int] | None = None,
                            today: dt.date | None = None,
                            future_fix: Callable[[dt.date | None], str] | None = None,
                            ) -> tuple[dt.date | None, str]:
    """The date of the log's last transaction, refusing a far-off last date.

    One GROUP BY date query over ``std`` (the usable lines' dates, see :func:`usable`).

    The guard. Let ``d_1 < ... < d_k`` be the distinct dates of the usable lines, ``N`` the
    number of rows of the log (all lines) and, for ``i >= 2``, ``tail_i`` the number of
    usable lines dated ``d_i`` or later. The default is refused when some ``i`` has

    - ``tail_i <= max(5, 0.001 * N)`` (a handful of lines, at most 0.1 % of the rows), and
    - ``d_i - d_(i-1) > max(90, 0.25 * (d_(i-1) - d_1))`` days (a gap longer than 90 days
      and than a quarter of the span of the log before it).

    The smallest such ``i`` is reported (the whole suspect tail). Then a last date after
    ``today`` (one day of slack for time zones, as for a given observation end:
    :func:`refuse_future`) is refused whatever the number of lines: a log cannot hold
    purchases from the future, and the default would add the days up to that date to
    every customer's recency and ``T``. An explicit
    ``observation_end`` skips the guard, and logs of fewer than 20 rows are not judged.
    ``prior`` adds the lines of a log ``std`` extends (``valuemax update``: the stored
    log), so that a few new lines are judged against the whole log, not alone.

    Parameters
    ----------
    con : ibis backend
        The engine holding ``std``.
    std : ibis.Table
        ``Ingested.standardized()``: ``_row_id``, ``customer_id``, ``order_ts``,
        ``_parse_error``.
    prior : (pyarrow.Table, int), optional
        Lines already in the log: a table of ``_vm_d`` (date) and ``_vm_n`` (usable lines
        that day), and the number of its rows (all lines). Its dates are never reported as
        suspect unless they lie after the gap.
    fix : callable, optional
        ``(last date before the gap, last date) -> str``: the advice ending the guard's
        message, for a caller whose options differ from ``clean``'s (default: pass
        ``observation_end`` to quarantine the lines, or correct the dates).
    offset : int, optional
        For lines appended to a stored log (``valuemax update``): the ``_row_id`` of the
        stored log's last row, so that the message names the suspect lines by their line
        number in the new file (``_row_id - offset``) instead of their ``_row_id``.
    counts : (pyarrow.Table, int), optional
        The result of the GROUP BY, already known: the usable lines of ``std`` per day
        (``_vm_d`` date, ``_vm_n`` lines; :meth:`valuemax.io.Ingested.usable_day_counts`)
        and the number of rows of ``std``. The query is then not run.
    today : datetime.date, optional
        The date of the run (default: ``datetime.date.today()``).
    future_fix : callable, optional
        ``(last date with transactions up to today, or None) -> str``: the advice ending
        the message for lines dated after today (default: pass ``observation_end`` to
        quarantine them, or correct the dates).

    Returns
    -------
    (datetime.date or None, str)
        The last date (None when no line is usable) and a note: how many lines fall on it
        and the previous date with transactions, so that the choice is visible in the report.

    Raises
    ------
    InputError
        If usable lines are dated after ``today`` (their count, dates, up to 5 line ids
        and customer ids, the fix), or if the guard fires: the message gives the suspect dates with their line counts, up
        to 5 ``_row_id``/customer ids, the gap, and the fix (``observation_end=`` /
        ``--observation-end`` to quarantine them as ``after_observation_end``, or correct
        the dates).
    """
    if counts is None:
        ok = usable(std)
        s = std.select(_vm_d=ibis.ifelse(ok, std.order_ts.date(), ibis.null("date")))
        tbl = con.to_pyarrow(s.group_by("_vm_d").aggregate(_vm_n=s.count()))
        n_rows = int(pc.sum(tbl["_vm_n"]).as_py() or 0)
    else:
        tbl, n_rows = counts[0], int(counts[1])
    if prior is not None:
        tbl = pa.concat_tables([tbl.select(["_vm_d", "_vm_n"]).cast(prior[0].schema), prior[0]])
        tbl = tbl.group_by("_vm_d").aggregate([("_vm_n", "sum")]).rename_columns(
            ["_vm_d", "_vm_n"])
        n_rows += int(prior[1])
    valid = pc.is_valid(tbl["_vm_d"])
    days = np.asarray(pc.filter(tbl["_vm_d"], valid).cast(pa.int32()).to_numpy(), np.int64)
    n = np.asarray(pc.filter(tbl["_vm_n"], valid).to_numpy(), np.int64)
    if days.size == 0:
        return None, ""
    order = np.argsort(days)
    days, n = days[order], n[order]
    tail = np.cumsum(n[::-1])[::-1]  # usable lines dated days[i] or later
    gap = np.diff(days)  # gap[i - 1] = days[i] - days[i - 1]
    span = days[:-1] - days[0]
    few = tail[1:] <= max(TAIL_MAX_LINES, TAIL_MAX_SHARE * n_rows)
    far = gap > np.maximum(GAP_MIN_DAYS, GAP_SPAN_SHARE * span)
    hits = np.flatnonzero(few & far) if n_rows >= MIN_ROWS_TO_JUDGE else np.array([], int)
    if hits.size:
        _refuse(con, std, days, n, int(hits[0]) + 1, n_rows, fix, offset)
    today = today or dt.date.today()
    if days[-1] > (today - _EPOCH).days + 1:
        _refuse_future(con, std, days, n, today, future_fix, offset)
    end = _date(days[-1])
    note = (
        f"observation_end {end.isoformat()}: the date of the log's last transaction "
        f"({count_noun(int(n[-1]), 'line')} that day"
    )
    if days.size == 1:
        return end, note + "; no earlier date)"
    prev, last_gap = _date(days[-2]), int(gap[-1])
    note += (f"; the previous date with transactions is {prev.isoformat()}, "
             f"{count_noun(last_gap, 'day')} before)")
    if last_gap > NOTE_GAP_DAYS:
        note += "; check the log for a mistyped date, or pass observation_end="
    return end, note


def given_observation_end(con: Any, std: ir.Table, given: dt.date,
                          today: dt.date | None = None) -> str:
    """Check an observation end given by the caller; return the note the report shows.

    A log cannot have been observed beyond the day it is analysed, so a date after
    ``today`` (the machine's local date, one day of slack for time zones) is refused: it
    would add the days up to it to every customer's ``T`` as observed silence, lowering
    P(alive) and CLV for all. A past date far after the log's last transaction (more than
    :data:`GAP_MIN_DAYS` days, and more than :data:`GAP_SPAN_SHARE` of the log's span) is
    accepted -- a shop that stopped selling is a real case -- and the note says so, so that
    the report shows it. One aggregate query over ``std``.

    Parameters
    ----------
    con : ibis backend
        The engine holding ``std``.
    std : ibis.Table
        ``Ingested.standardized()`` (see :func:`default_observation_end`).
    given : datetime.date
        The observation end given by the caller (already parsed).
    today : datetime.date, optional
        The date of the run (default: ``datetime.date.today()``).

    Returns
    -------
    str
        ``"observation_end D: given by the caller"``, followed, when the log's last usable
        date is earlier by more than the threshold, by the gap in days and what it means.

    Raises
    ------
    InputError
        If ``given`` is more than one day after ``today``.
    """
    refuse_future(given, today)
    note = f"observation_end {given.isoformat()}: given by the caller"
    ok = usable(std)
    day = ibis.ifelse(ok, std.order_ts.date(), ibis.null("date"))
    row = con.to_pyarrow(std.aggregate(first=day.min(), last=day.max())).to_pylist()[0]
    first, last = row["first"], row["last"]
    if last is None or given <= last:
        return note
    gap, span = (given - last).days, (last - first).days
    if gap > max(GAP_MIN_DAYS, GAP_SPAN_SHARE * span):
        note += (f"; it is {count_noun(gap, 'day')} after the log's last transaction "
                 f"({last.isoformat()}; the log spans {count_noun(span, 'day')}): every "
                 "customer's T includes those days as observed days without purchases, "
                 "which lowers P(alive) and CLV. If the log was exported earlier than that, "
                 "pass the export date")
    return note


def refuse_future(given: dt.date, today: dt.date | None = None) -> None:
    """Refuse an observation end after ``today`` (one day of slack for time zones).

    Raises
    ------
    InputError
        With the date, today's date, the days it would add to every ``T`` and the fix.
    """
    today = today or dt.date.today()
    if given > today + dt.timedelta(days=1):
        raise InputError(
            f"observation_end {given.isoformat()} is in the future (today is "
            f"{today.isoformat()}): a log cannot have been observed up to that date, and "
            f"the {count_noun((given - today).days, 'day')} after today would count as "
            "observed days without purchases for every customer (longer T, lower P(alive) "
            "and CLV). Pass the date the log was exported (CLI --observation-end), or leave "
            "it out to use the date of the log's last transaction")


def _date(day: np.int64) -> dt.date:
    return _EPOCH + dt.timedelta(days=int(day))


def _listed(days: np.ndarray, n: np.ndarray, i: int) -> str:
    """The line counts of the dates ``days[i:]`` (the first five)."""
    listed = ", ".join(f"{count_noun(int(k), 'line')} on {_date(d).isoformat()}"
                       for d, k in zip(days[i:i + 5], n[i:i + 5], strict=True))
    return listed + (", ..." if days.size - i > 5 else "")


def _examples(con: Any, std: ir.Table, first: dt.date, offset: int | None) -> str:
    """Up to five usable lines dated ``first`` or later: their ``_row_id`` (or line of the
    new file, after ``offset``) and customer id."""
    ex = con.to_pyarrow(
        std.filter(usable(std) & (std.order_ts.date() >= ibis.literal(first)))
        .select("_row_id", "customer_id").order_by("_row_id").limit(5)
    ).to_pylist()
    if offset is None:
        return "Lines (_row_id): " + ", ".join(
            f"{r['_row_id']} (customer {r['customer_id']!r})" for r in ex)
    return "Lines of the new file: " + ", ".join(
        f"line {r['_row_id'] - offset} (customer {r['customer_id']!r})" for r in ex)


def _refuse_future(con: Any, std: ir.Table, days: np.ndarray, n: np.ndarray, today: dt.date,
                   fix: Callable[[dt.date | None], str] | None, offset: int | None) -> None:
    """Raise the InputError for usable lines dated after ``today`` (one day of slack)."""
    i = int(np.searchsorted(days, (today - _EPOCH).days + 1, side="right"))
    n_tail, first, last = int(n[i:].sum()), _date(days[i]), _date(days[-1])
    cut = _date(days[i - 1]) if i > 0 else None
    shift = ("" if cut is None else
             f"; as the observation end they would add {count_noun((last - cut).days, 'day')} "
             "to every customer's recency and T (observed days without purchases)")
    if fix is not None:
        advice = fix(cut)
    elif cut is None:
        advice = ("Every usable line is: correct the dates in the source, or the date format "
                  "(--date-format)")
    else:
        advice = (f"The last date with transactions up to today is {cut.isoformat()}: pass "
                  f"observation_end='{cut.isoformat()}' (CLI --observation-end "
                  f"{cut.isoformat()}) to quarantine the later lines as "
                  "after_observation_end, or correct the dates in the source")
    raise InputError(
        f"observation_end was not given, and its default, the date of the log's last "
        f"transaction, would be {last.isoformat()}, after today ({today.isoformat()}): "
        f"{count_noun(n_tail, 'usable line')} of {int(n.sum()):,} "
        f"{'is' if n_tail == 1 else 'are'} dated after today ({_listed(days, n, i)}). A log "
        f"cannot hold purchases from the future: these look like mistyped dates{shift}. "
        f"{_examples(con, std, first, offset)}. {advice}")


def _refuse(
    con: Any, std: ir.Table, days: np.ndarray, n: np.ndarray, i: int, n_rows: int,
    fix: Callable[[dt.date, dt.date], str] | None = None, offset: int | None = None,
) -> None:
    """Raise the InputError of the guard for the tail starting at ``days[i]``."""
    first, cut, start, last = (_date(days[j]) for j in (i, i - 1, 0, -1))
    gap = int(days[i] - days[i - 1])
    n_tail = int(n[i:].sum())
    listed = _listed(days, n, i)
    examples = _examples(con, std, first, offset)
    threshold = max(GAP_MIN_DAYS, GAP_SPAN_SHARE * int(days[i - 1] - days[0]))
    raise InputError(
        f"observation_end was not given, and its default, the date of the log's last "
        f"transaction, would be {last.isoformat()}; but {listed} "
        f"{'comes' if n_tail == 1 else 'come'} after a gap of {count_noun(gap, 'day')} from "
        f"the rest of the log ({start.isoformat()} .. {cut.isoformat()}; "
        f"{count_noun(n_rows, 'row')} in all). So few lines (at most max(5, 0.1% of the "
        f"rows)) after a gap of more than {threshold:,.0f} days (max of 90 days and 25% of "
        f"the log's span before the gap) look like mistyped dates; as the observation end "
        f"they would add {count_noun(int(days[-1] - days[i - 1]), 'day')} to every "
        f"customer's recency. {examples}. " + (fix(cut, last) if fix else (
            f"Pass observation_end='{cut.isoformat()}' (CLI --observation-end "
            f"{cut.isoformat()}) to quarantine them as after_observation_end, or correct the "
            f"dates in the source; if they are genuine, pass "
            f"observation_end='{last.isoformat()}'"))
    )
