"""Mapping source columns to the canonical transaction columns (DESIGN.md §1).

Automatic mapping compares ``normalise_name(source column)`` with the aliases in
``valuemax._core.schema.COLUMN_ALIASES`` (English and Chinese). An alias earlier in a canonical
column's list has priority; when two source columns match the same canonical column, the one
with the higher-priority alias wins (ties: the leftmost) and a note says which. ``mapping=``
overrides (a canonical column -> a source column, or None to leave it unmapped).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from valuemax._core.exceptions import InputError
from valuemax._core.schema import CANONICAL_COLUMNS, COLUMN_ALIASES, normalise_name

_PRIORITY: dict[str, dict[str, int]] = {
    canonical: {normalise_name(a): i for i, a in reversed(list(enumerate(aliases)))}
    for canonical, aliases in COLUMN_ALIASES.items()
}


def validate_mapping(mapping: Mapping[str, Any] | None) -> dict[str, str | None]:
    """Return ``mapping`` as a dict after checking its keys and values.

    Raises
    ------
    InputError
        If a key is not a canonical column or a value is not a string (or None).
    """
    if mapping is None:
        return {}
    if not isinstance(mapping, Mapping):
        raise InputError(
            f"mapping= must be a dict canonical column -> source column, e.g. "
            f"{{'customer_id': 'Kunde'}}; got {type(mapping).__name__}."
        )
    out: dict[str, str | None] = {}
    for key, value in mapping.items():
        if key not in CANONICAL_COLUMNS:
            raise InputError(
                f"mapping= key {key!r} is not a canonical column; the keys are "
                f"{', '.join(CANONICAL_COLUMNS)} (canonical column -> source column)."
            )
        if value is not None and not isinstance(value, str):
            raise InputError(
                f"mapping[{key!r}] must be a source column name (str) or None, got {value!r}."
            )
        out[key] = value
    return out


def resolve_mapping(
    columns: Sequence[str], user: Mapping[str, str | None], *, source: str
) -> tuple[dict[str, str], tuple[str, ...]]:
    """Map canonical columns to ``columns`` (source names): ``user`` first, then aliases.

    Parameters
    ----------
    columns : sequence of str
        The source's column names, in order (without ``_row_id``).
    user : mapping
        Overrides from ``mapping=``; a None value keeps that canonical column unmapped.
    source : str
        The source's name, for messages.

    Returns
    -------
    (dict, tuple of str)
        canonical -> source column, in canonical order; and notes on how it was chosen.

    Raises
    ------
    InputError
        If ``user`` names a source column that does not exist (listing those that do).
    """
    available = list(columns)
    notes: list[str] = []
    chosen: dict[str, str] = {}
    for canonical, column in user.items():
        if column is None:
            notes.append(f"{canonical}: left unmapped (mapping={{{canonical!r}: None}})")
            continue
        if column not in available:
            close = [c for c in available if normalise_name(c) == normalise_name(column)]
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise InputError(
                f"mapping[{canonical!r}] = {column!r}, but {source} has no such column. "
                f"Available columns: {', '.join(repr(c) for c in available)}.{hint}"
            )
        chosen[canonical] = column
        notes.append(f"{canonical} <- {column!r} (mapping=)")
    taken = set(chosen.values())
    for canonical in CANONICAL_COLUMNS:
        if canonical in user:
            continue
        priority = _PRIORITY[canonical]
        matches = [
            (priority[normalise_name(c)], i, c)
            for i, c in enumerate(available)
            if c not in taken and normalise_name(c) in priority
        ]
        if not matches:
            continue
        matches.sort()
        column = matches[0][2]
        chosen[canonical] = column
        taken.add(column)
        if len(matches) > 1:
            others = ", ".join(repr(m[2]) for m in matches[1:])
            notes.append(
                f"{canonical}: several columns match ({column!r}, {others}); chose {column!r} "
                f"(its name has the highest alias priority), the others are kept as extra "
                f"columns. Override with mapping={{{canonical!r}: '<column>'}}."
            )
    ordered = {c: chosen[c] for c in CANONICAL_COLUMNS if c in chosen}
    auto = [f"{c} <- {s!r}" for c, s in ordered.items() if c not in user]
    if auto:
        notes.insert(0, "mapped by column name: " + ", ".join(auto))
    return ordered, tuple(notes)


#: The reading note of a log without prices (``ParsePlan.amount_from == 'none'``).
NO_PRICES_NOTE = ("no prices: spend, monetary value, CLV in money are not computed (no amount "
                  "column, nor quantity and unit_price; name one with mapping={'amount': "
                  "'<column>'}, CLI --map amount=<column>)")


def has_money(mapping: Mapping[str, str]) -> bool:
    """Whether ``mapping`` gives the log's money: an amount, or quantity and unit_price.

    Without it the log is read with ``amount`` all NULL and ``ParsePlan.amount_from ==
    'none'``: spend, monetary value and CLV in money are not computed.

    >>> has_money({"customer_id": "c", "order_ts": "d", "quantity": "q"})
    False
    """
    return "amount" in mapping or ("quantity" in mapping and "unit_price" in mapping)


def check_required(
    mapping: Mapping[str, str], columns: Sequence[str], *, source: str, header: bool,
    user: Mapping[str, str | None] | None = None,
) -> None:
    """Raise ``InputError`` unless customer_id and order_ts are mapped.

    A log with no amount (nor quantity and unit_price) passes on its own (see
    :func:`has_money`); the amount is listed as missing when another required column is, or
    when a ``mapping=`` override took the column that would have been the amount.

    Raises
    ------
    InputError
        Listing the missing canonical columns, the source columns (saying which are
        already mapped, and which a ``mapping=`` override took from the missing column) and
        the ``mapping=`` / ``--map`` fix.
    """
    missing = [c for c in ("customer_id", "order_ts") if c not in mapping]
    if not has_money(mapping) and (missing or _claimed(["amount"], mapping, user or {})):
        # a log with no money at all is read (``has_money`` is False: spend is not computed);
        # it stays an error alongside another missing column, or when an override took the
        # amount column
        lacking = [c for c in ("quantity", "unit_price") if c not in mapping]
        missing.append(f"amount (or quantity and unit_price; {' and '.join(lacking)} not found)")
    if not missing:
        return
    keys = [m.split(" ")[0] for m in missing]
    example = ", ".join(f"'{k}': '<column>'" for k in keys)
    cli = " ".join(f"--map {k}=<column>" for k in keys)
    claimed = _claimed(keys, mapping, user or {})
    hint = ""
    if header and not claimed:
        hint = (" If the first line is data rather than a header, pass the column names with "
                "columns= (CLI --columns).")
    by_column = {v: k for k, v in mapping.items()}
    free = [repr(c) for c in columns if c not in by_column]
    used = [f"{c!r} (mapped to {by_column[c]})" for c in columns if c in by_column]
    shown = f"Unmapped columns: {', '.join(free) or 'none'}"
    if used:
        shown += f"; already mapped: {', '.join(used)}"
    raise InputError(
        f"{source}: cannot find the column(s) for {'; '.join(missing)}.{claimed} {shown}. "
        f"Name them with mapping={{{example}}} (CLI {cli}).{hint}"
    )


def _claimed(missing: list[str], mapping: Mapping[str, str],
             user: Mapping[str, str | None]) -> str:
    """Say which missing canonical column lost its obvious source column to an override."""
    out = []
    for canonical, column in user.items():
        if column is None:
            continue
        for want in missing:
            if want in _PRIORITY and normalise_name(column) in _PRIORITY[want] and \
                    want != canonical:
                out.append(f" {column!r} is now mapped to {canonical} (mapping={{"
                           f"{canonical!r}: {column!r}}}), so it cannot also be {want}; map "
                           f"{want} to another column with mapping= (CLI --map "
                           f"{want}=<column>).")
    return "".join(out)
