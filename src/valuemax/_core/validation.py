"""One validation vocabulary for arguments at the public boundary (STYLE.md b.7, b.8, d).

Every check raises :class:`~valuemax.exceptions.InputError` (a ``ValueError``) with one
wording per kind, naming the argument the caller passed, the value, what was expected (with
units) and an example:

- :func:`check_choice`: one of a fixed set of options
  (``"preset='strict' is not a valid option; choose one of 'standard', 'classic', 'none'"``);
- :func:`check_time_unit`: the unit of ``frequency / recency / T`` (``"D"`` or ``"W"``);
- :func:`check_date`: a whole calendar day (observation end, calibration end, ...), never a
  time of day or a time zone silently dropped;
- :func:`check_in_interval`: a number in an interval (probabilities, rates, shares);
- :func:`check_whole_number`: an integer count in a range (months, folds, starts);
- :func:`check_random_state`: the seed of the random steps (an integer in 0..2**32 - 1).

``who`` (optional) prefixes the message with the function or class that refused the value,
e.g. ``"BetaGeoModel.fit: time_unit='M' ..."``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from numbers import Integral, Real
from typing import Any

from valuemax._core.exceptions import InputError
from valuemax._core.schema import TIME_UNITS

__all__ = ["check_choice", "check_date", "check_in_interval", "check_random_state",
           "check_time_unit", "check_whole_number"]

#: What each time unit means, for messages.
TIME_UNIT_MEANING = "D = days, W = weeks of 7 days: durations are days / 7"

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?")


def _prefix(who: str | None) -> str:
    return f"{who}: " if who else ""


def check_choice(name: str, value: Any, choices: Iterable[Any], *, who: str | None = None,
                 explain: str | None = None, fix: str | None = None) -> Any:
    """Return ``value`` if it is one of ``choices``, else raise ``InputError`` listing them.

    A value matches a choice of its own type only (``1`` is not ``True``, ``"1"`` is not
    ``1``); ``None`` matches ``None``.

    Parameters
    ----------
    name : str
        The argument's name as the caller wrote it (the CLI maps it to its option).
    value : object
        What was passed.
    choices : iterable
        The accepted values, listed in this order in the message.
    who : str, optional
        The refusing function or class, prefixed to the message.
    explain : str, optional
        What the choices mean, appended in parentheses.
    fix : str, optional
        Another way out than choosing, appended as a sentence.

    Returns
    -------
    object
        ``value`` unchanged.

    Raises
    ------
    InputError
        If ``value`` is not one of ``choices``.

    Examples
    --------
    >>> check_choice("method", "kendall", ("pearson", "spearman", "kendall"))
    'kendall'
    >>> check_choice("method", "pearsonr", ("pearson", "spearman"))
    Traceback (most recent call last):
    ...
    valuemax._core.exceptions.InputError: method='pearsonr' is not a valid option; choose one of 'pearson', 'spearman'
    """
    choices = tuple(choices)
    if not any(value is c or (c is not None and isinstance(value, type(c))
                              and isinstance(value, bool) == isinstance(c, bool)
                              and value == c) for c in choices):
        listed = ", ".join(repr(c) for c in choices)
        raise InputError(f"{_prefix(who)}{name}={value!r} is not a valid option; choose one of "
                         f"{listed}" + (f" ({explain})" if explain else "")
                         + (f". {fix}" if fix else ""))
    return value


def check_time_unit(value: Any, *, name: str = "time_unit", who: str | None = None,
                    fix: str | None = None) -> str:
    """Return the time unit ``value`` (``"D"`` or ``"W"``), else raise ``InputError``.

    Parameters
    ----------
    value : object
        The unit of ``frequency``, ``recency`` and ``T``: ``"D"`` (days) or ``"W"`` (weeks of
        7 days).
    name : str, default "time_unit"
        The argument's name (``"purchase_model.time_unit_"`` for a fitted model's unit).
    who : str, optional
        The refusing function or class, prefixed to the message.
    fix : str, optional
        Another way out than choosing, appended as a sentence.

    Returns
    -------
    str
        ``value``; ``TIME_UNITS[value]`` is its length in days.

    Raises
    ------
    InputError
        If ``value`` is not ``"D"`` or ``"W"``.

    Examples
    --------
    >>> check_time_unit("W")
    'W'
    >>> check_time_unit("M", who="BetaGeoModel.fit")
    Traceback (most recent call last):
    ...
    valuemax._core.exceptions.InputError: BetaGeoModel.fit: time_unit='M' is not a valid option; choose one of 'D', 'W' (D = days, W = weeks of 7 days: durations are days / 7)
    """
    return check_choice(name, value, TIME_UNITS, who=who, explain=TIME_UNIT_MEANING, fix=fix)


def check_date(name: str, value: Any, *, who: str | None = None, example: str = "2011-12-09",
               none: str | None = None) -> dt.date | None:
    """Return ``value`` as a whole calendar day (``datetime.date``), refusing any loss.

    Accepts a ``datetime.date``, a naive ``datetime.datetime`` (a ``pandas.Timestamp`` is
    one) at midnight, or an ISO string ``'YYYY-MM-DD'`` (``'YYYY-MM-DD 00:00[:00]'`` too).
    The day is inclusive: every line dated that day counts, whatever its time.

    Parameters
    ----------
    name : str
        The argument's name as the caller wrote it.
    value : object
        What was passed.
    who : str, optional
        The refusing function or class, prefixed to the message.
    example : str, default "2011-12-09"
        A date shown in the message.
    none : str, optional
        What ``None`` means (e.g. ``"the date of the log's last transaction"``); when given,
        ``None`` is accepted and returned, otherwise refused.

    Returns
    -------
    datetime.date or None
        The day; ``None`` only when ``none`` is given.

    Raises
    ------
    InputError
        For another type, a string that is not an ISO date (or not a real date), a
        timezone-aware datetime (the transactions carry naive local timestamps), or a time of
        day other than 00:00 (it would be truncated to its date).

    Examples
    --------
    >>> check_date("observation_end", "2011-12-09")
    datetime.date(2011, 12, 9)
    >>> check_date("calibration_end", "30/06/2011")
    Traceback (most recent call last):
    ...
    valuemax._core.exceptions.InputError: calibration_end='30/06/2011' is not a date YYYY-MM-DD; expected an ISO date such as '2011-12-09' or a datetime.date
    """
    pre = _prefix(who)
    or_none = f", or None for {none}" if none else ""
    if value is None and none:
        return None
    if isinstance(value, str):
        text = value.strip()
        parsed = None
        if _ISO.fullmatch(text):
            try:
                parsed = dt.datetime.fromisoformat(text)
            except ValueError:
                parsed = None
        if parsed is None:
            raise InputError(f"{pre}{name}={value!r} is not a date YYYY-MM-DD; expected an ISO "
                             f"date such as '{example}' or a datetime.date{or_none}")
        value = parsed
    if isinstance(value, dt.datetime):
        day = value.date().isoformat()
        if value.tzinfo is not None:
            raise InputError(f"{pre}{name}={value!r} has a time zone, but order_ts is naive "
                             f"local time; pass the calendar date, e.g. {name}='{day}'")
        if value.time() != dt.time(0) or getattr(value, "nanosecond", 0):
            raise InputError(
                f"{pre}{name}={value!r} has a time of day ({value.time().isoformat()}), but "
                f"{name} is a whole day, inclusive: every line dated {day} counts, whatever "
                f"its time. Pass the date, {name}='{day}' (or a datetime at 00:00)")
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise InputError(f"{pre}{name} must be a date ('YYYY-MM-DD' string or datetime.date"
                     f"{or_none}); got {type(value).__name__} {value!r}")


def _is_real(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def check_in_interval(name: str, value: Any, interval: str, *, what: str = "a number",
                      example: str | None = None, who: str | None = None) -> float:
    """Return ``value`` as a float if it lies in ``interval``, else raise ``InputError``.

    Parameters
    ----------
    name : str
        The argument's name.
    value : object
        What was passed; a finite real number (``bool`` is refused).
    interval : str
        Mathematical notation with open ``(``/``)`` or closed ``[``/``]`` ends, e.g.
        ``"[0, 1)"``, ``"(0, 1]"``, ``"(0, inf)"`` (a bounded open interval reads "strictly
        between a and b" in the message).
    what : str, default "a number"
        What the number is, with its unit (``"a monthly rate"``, ``"a share of revenue"``).
    example : str, optional
        An example, appended in parentheses (``"e.g. 0.3 for a 30% gross margin"``).
    who : str, optional
        The refusing function or class, prefixed to the message.

    Returns
    -------
    float
        ``value``.

    Raises
    ------
    InputError
        If ``value`` is not a finite real number inside ``interval``.

    Examples
    --------
    >>> check_in_interval("margin", 0.3, "(0, 1]", what="a share of revenue")
    0.3
    >>> check_in_interval("confidence", 1, "(0, 1)", what="a probability",
    ...                   example="e.g. 0.95 for a 95% interval")
    Traceback (most recent call last):
    ...
    valuemax._core.exceptions.InputError: confidence=1 must be a probability strictly between 0 and 1 (e.g. 0.95 for a 95% interval)
    """
    lo_text, hi_text = (part.strip() for part in interval[1:-1].split(","))
    lo, hi = float(lo_text), float(hi_text)
    ok = _is_real(value) and (lo <= value if interval[0] == "[" else lo < value) and (
        value <= hi if interval[-1] == "]" else value < hi)
    if not ok:
        where = (f"strictly between {lo_text} and {hi_text}"
                 if interval[0] + interval[-1] == "()" and math.isfinite(hi) else f"in {interval}")
        raise InputError(f"{_prefix(who)}{name}={value!r} must be {what} {where}"
                         + (f" ({example})" if example else ""))
    return float(value)


def check_whole_number(name: str, value: Any, low: int, high: int | None = None, *,
                       what: str = "a whole number", example: str | None = None,
                       who: str | None = None) -> int:
    """Return ``value`` if it is an integer in ``low..high``, else raise ``InputError``.

    Parameters
    ----------
    name : str
        The argument's name.
    value : object
        What was passed: an integer (``bool`` and floats such as ``12.0`` are refused: no
        silent truncation).
    low, high : int
        Inclusive bounds; ``high=None`` for no upper bound.
    what : str, default "a whole number"
        What the number counts, with its unit (``"a whole number of months"``).
    example : str, optional
        An example, appended in parentheses.
    who : str, optional
        The refusing function or class, prefixed to the message.

    Returns
    -------
    int
        ``value``.

    Raises
    ------
    InputError
        If ``value`` is not an integer in the range.

    Examples
    --------
    >>> check_whole_number("clv_horizon", 0, 1, 600, what="a whole number of months",
    ...                    example="e.g. 12")
    Traceback (most recent call last):
    ...
    valuemax._core.exceptions.InputError: clv_horizon=0 must be a whole number of months in 1..600 (e.g. 12)
    """
    ok = isinstance(value, Integral) and not isinstance(value, bool) and low <= value and (
        high is None or value <= high)
    if not ok:
        bounds = f"in {low}..{high}" if high is not None else f">= {low}"
        raise InputError(f"{_prefix(who)}{name}={value!r} must be {what} {bounds}"
                         + (f" ({example})" if example else ""))
    return int(value)


def check_random_state(value: Any, *, name: str = "random_state", who: str | None = None) -> int:
    """Return the seed ``value`` if it is an integer in ``0..2**32 - 1``, else raise.

    The seed of every random step of a job (samples, K-means, optimiser starts, models);
    numpy's generators take 32-bit seeds.

    Parameters
    ----------
    value : object
        What was passed: an integer (``bool`` and floats are refused).
    name : str, default "random_state"
        The argument's name.
    who : str, optional
        The refusing function or class, prefixed to the message.

    Returns
    -------
    int
        ``value``.

    Raises
    ------
    InputError
        If ``value`` is not an integer in ``0..4294967295``.

    Examples
    --------
    >>> check_random_state(7)
    7
    >>> check_random_state(-1)
    Traceback (most recent call last):
    ...
    valuemax._core.exceptions.InputError: random_state=-1 must be an integer seed in 0..4294967295 (e.g. 0)
    """
    return check_whole_number(name, value, 0, 2**32 - 1, what="an integer seed",
                              example="e.g. 0", who=who)
