"""The ``InputError`` messages of date inference: ambiguous, mixed, conflicting, numeric dates.

Each says what the values look like (counts, examples), why valuemax does not pick one
reading, and the ``date_format=`` (API) / ``--date-format`` (CLI) that resolves it.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from valuemax._core.exceptions import InputError
from valuemax.io._date_formats import BY_KEY, DAY_MONTH, SPECIAL_FORMATS, DateFamily
from valuemax.io._sql import lit

#: Numbers that look like dates: (date_format token, SQL regex, what they look like).
_NUMERIC_SHAPES: tuple[tuple[str, str, str], ...] = (
    ("epoch_s", r"^\d{9,10}(\.\d+)?$", "Unix epoch seconds"),
    ("epoch_ms", r"^\d{12,13}$", "Unix epoch milliseconds"),
    ("excel_serial", r"^\d{5}(\.\d+)?$", "Excel serial day numbers"),
)


def describe(counts: list[tuple[str, int, str | None]]) -> str:
    """``"'%Y-%m-%d' (3 values, e.g. '2024-01-05')"`` for each ``(format, count, example)``."""
    return ", ".join(f"{fmt!r} ({n:,} values, e.g. {ex!r})" for fmt, n, ex in counts)


def cli_formats(formats: list[str] | tuple[str, ...]) -> str:
    """``"--date-format '%d/%m/%Y' --date-format '%Y-%m-%d'"``."""
    return " ".join(f"--date-format '{f}'" for f in formats)


def _api_formats(formats: list[str] | tuple[str, ...]) -> str:
    return f"date_format={formats[0]!r}" if len(formats) == 1 else f"date_format={tuple(formats)!r}"


def swap_day_month(fmt: str) -> str:
    """``'%d/%m/%Y'`` -> ``'%m/%d/%Y'``.

    Examples
    --------
    >>> swap_day_month("%d/%m/%Y %H:%M")
    '%m/%d/%Y %H:%M'
    """
    return fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")


def ambiguous_error(values: Any, keys: list[str], total: int) -> InputError:
    """Every value parses with each of several families (e.g. day-first and month-first)."""
    fams = [BY_KEY[k] for k in keys]
    tops = [(values.format_counts(f) or [(f.formats[0], 0, None)])[0] for f in fams]
    examples = values.examples("true")
    formats = [fmt for fmt, _, _ in tops]
    day_month = any(k in DAY_MONTH for k in keys)
    why = "the day/month order is ambiguous: " if day_month else ""
    options = " or ".join(f"date_format={f!r}" for f in formats)
    return InputError(
        f"order_ts (column {values.column!r}): {why}all {total:,} values parse with each of "
        f"{', '.join(repr(f) for f in formats)} (e.g. {examples}"
        f"{'; no day is above 12' if day_month else ''}). valuemax never guesses: pass "
        f"{options} (CLI --date-format '{formats[0]}')."
    )


def _order(fmt: str) -> str:
    return "day-first" if fmt.index("%d") < fmt.index("%m") else "month-first"


def _one(fmt: str, like: DateFamily) -> DateFamily:
    return DateFamily(like.key, like.guard, (fmt,), like.tz)


def mixed_error(values: Any, best: DateFamily, others: list[DateFamily]) -> InputError:
    """The column holds dates in several families; suggest only formats that do not conflict.

    A format and its day/month swap (``%d/%m/%Y``, ``%m/%d/%Y``) are never suggested together:
    when only one of them reads some values by itself, it is kept; when each does, the more
    frequent is kept (the other's own values become unparseable); when neither does, no order
    is suggested over the other and both alternatives are given.
    """
    best_counts = values.format_counts(best)
    parts, counts = [describe(best_counts)], [(f, n, best) for f, n, _ in best_counts]
    for fam in others:
        fam_counts = values.format_counts(fam, f"NOT {best.parses('s')}")
        parts.append(describe(fam_counts))
        counts += [(f, n, fam) for f, n, _ in fam_counts]
    head = (f"order_ts (column {values.column!r}) holds dates in more than one format: "
            f"{'; '.join(parts)}. valuemax does not guess which is meant")
    zoned = [f for f, _, _ in counts if "%z" in f]
    if zoned and len(zoned) < len(counts):
        return InputError(
            f"{head}: {sum(n for f, n, _ in counts if '%z' in f):,} values carry a UTC offset "
            f"and {sum(n for f, n, _ in counts if '%z' not in f):,} do not, and the zone of "
            f"those without is unknown. Add the offset to every value (or remove it from "
            f"all) before loading."
        )
    fam_of = {f: fam for f, _, fam in counts}
    keep = [f for f, _, _ in counts]
    why: list[str] = []
    undecided: list[tuple[str, str]] = []
    for a in list(keep):
        b = swap_day_month(a)
        if b not in keep or a not in keep or keep.index(b) < keep.index(a):
            continue
        fa, fb = _one(a, fam_of[a]), _one(b, fam_of[b])
        a_only, a_ex, b_only, b_ex, differ, d_ex = values.agg([
            f"sum(n) FILTER (WHERE {fa.parses('s')} AND NOT {fb.parses('s')})",
            f"arg_max(s, n) FILTER (WHERE {fa.parses('s')} AND NOT {fb.parses('s')})",
            f"sum(n) FILTER (WHERE {fb.parses('s')} AND NOT {fa.parses('s')})",
            f"arg_max(s, n) FILTER (WHERE {fb.parses('s')} AND NOT {fa.parses('s')})",
            f"sum(n) FILTER (WHERE {fa.value('s')} <> {fb.value('s')})",
            f"arg_max(s, n) FILTER (WHERE {fa.value('s')} <> {fb.value('s')})"])
        clash = (f"{int(differ or 0):,} values such as {d_ex!r} read as a different date "
                 f"under {a!r} and {b!r}")
        if a_only and b_only:
            keep.remove(b)
            why.append(f"the column mixes day-first and month-first dates ({int(a_only):,} "
                       f"values such as {a_ex!r} are only {_order(a)}, {int(b_only):,} such as "
                       f"{b_ex!r} only {_order(b)}; {clash}), so {a!r} and {b!r} are never "
                       f"suggested together; with the first, the values only {b!r} reads "
                       f"become unparseable_date")
        elif a_only or b_only:
            drop, kept, ex, n = (b, a, a_ex, a_only) if a_only else (a, b, b_ex, b_only)
            keep.remove(drop)
            why.append(f"{drop!r} is left out: {int(n):,} values such as {ex!r} can only be "
                       f"{_order(kept)} and every value {drop!r} reads is also read by {kept!r}")
        else:
            undecided.append((a, b))
            why.append(f"{clash}, and no value shows which order the column uses")
    text = head + ("; " + "; ".join(why) + ". If" if why else ": if")
    if undecided:
        first = [f for f in keep if f not in {b for _, b in undecided}]
        second = [f for f in keep if f not in {a for a, _ in undecided}]
        text += (f" all are right, pass {_api_formats(first)} (CLI {cli_formats(first)}) if "
                 f"the column is {_order(undecided[0][0])}, or {_api_formats(second)} (CLI "
                 f"{cli_formats(second)}) if it is {_order(undecided[0][1])}")
    else:
        what = "all are"
        if why:
            what = f"{', '.join(map(repr, keep))} {'is' if len(keep) == 1 else 'are'}"
        text += (f" {what} right, pass {'them together' if len(keep) > 1 else 'it'}: "
                 f"{_api_formats(keep)} (CLI {cli_formats(keep)})")
    if len(keep) > 1:
        text += "; each value is read with the first format that fits"
    return InputError(text + "; otherwise correct the column.")


def conflicts_error(
    column: str, formats: tuple[str, ...], found: list[tuple[str, str, int, dict]]
) -> InputError:
    """Several given formats read some values as different dates."""
    parts = []
    for f1, f2, n, ex in found:
        parts.append(f"{n:,} values parse with both {f1!r} and {f2!r} to different dates "
                     f"(e.g. {ex['s']!r} is {ex['a']:%Y-%m-%d %H:%M} with {f1!r} and "
                     f"{ex['b']:%Y-%m-%d %H:%M} with {f2!r})")
    options = sorted({f for f1, f2, _, _ in found for f in (f1, f2)}, key=formats.index)
    return InputError(
        f"order_ts (column {column!r}): date_format={formats!r} is ambiguous: "
        f"{'; '.join(parts)}. Each value would be read with the first format that fits, so "
        f"the order of the formats would decide silently. Pass only the format the column is "
        f"written in ({' or '.join(f'date_format={f!r}' for f in options)}; CLI "
        f"--date-format '{options[0]}'), or correct those values."
    )


def _as_date(token: str, example: str) -> str:
    value = float(example)
    if token == "excel_serial":
        moment = _dt.datetime(1899, 12, 30) + _dt.timedelta(days=value)
    else:
        moment = _dt.datetime(1970, 1, 1) + _dt.timedelta(
            seconds=value / (1000 if token == "epoch_ms" else 1))
    return f"{moment:%Y-%m-%d %H:%M:%S}"


def numeric_dates_error(values: Any, total: int) -> InputError | None:
    """An error naming ``date_format='epoch_s'`` etc. when every value is such a number."""
    row = values.agg([f"sum(n) FILTER (WHERE regexp_matches(s, {lit(rx)}))"
                      for _, rx, _ in _NUMERIC_SHAPES])
    for (token, rx, what), n in zip(_NUMERIC_SHAPES, row, strict=True):
        if int(n or 0) == total:
            ex = values.rows(f"SELECT s FROM {{values}} WHERE regexp_matches(s, {lit(rx)}) "
                             f"ORDER BY n DESC, s LIMIT 1")[0][0]
            return InputError(
                f"order_ts (column {values.column!r}): none of its {total:,} values is a date; "
                f"they are numbers that look like {what} (e.g. {ex!r} would be "
                f"{_as_date(token, ex)}). Pass date_format={token!r} (CLI --date-format "
                f"{token}) to read them as {SPECIAL_FORMATS[token]}, or convert them to dates "
                f"before loading."
            )
    return None
