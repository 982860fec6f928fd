"""Lines whose quantity and amount have opposite signs (``-2`` units for ``+10.00``).

Such a line is taken as a return by the ``return`` rule (a negative quantity or amount
marks one; ``returns="net"`` refunds its ``|amount|``), and kept as it is by the ``none``
preset. Which sign is the typo cannot be known, so the line is not changed: a note counts
these lines, shows a few (row, quantity, amount) and says where they went (DESIGN.md 5:
never coerce silently).
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

#: Lines shown in the note.
_SHOWN = 3


def opposite_signs(t: ir.Table, amount: ir.NumericValue) -> ir.BooleanValue:
    """True where ``amount``'s sign is not the one the quantity (times the unit price's
    sign, when there is one) gives: ``-2`` units for ``+10.00``, or ``2`` for ``-10.00``
    at a positive or missing price. A negative price (``negative_price``) explains a
    negative amount; zeros and NULLs are no conflict."""
    q = t.quantity
    negative_price = (t.unit_price < 0).fill_null(False)
    expected_negative = ibis.ifelse(negative_price, q > 0, q < 0)
    return ((amount != 0) & (q != 0) & ((amount < 0) != expected_negative)).fill_null(False)


def sign_note(t: ir.Table, amount: ir.NumericValue,
              counts: list[dict[str, Any]]) -> str | None:
    """The note on the lines of opposite signs, or None when there is none.

    ``t`` is the labelled lines (``_row_id``, ``quantity`` as read on such lines: they are
    never purchases netted, ``reason``), ``amount`` the amount as read, ``counts``
    ``clean``'s GROUP BY reason rows with ``n_signs``. One small query (the first lines by
    ``_row_id``) runs only when some line has opposite signs.
    """
    by = {row["reason"]: int(row.get("n_signs") or 0) for row in counts}
    n = sum(by.values())
    if not n:
        return None
    ex = (t.filter(opposite_signs(t, amount))
          .select("_row_id", "quantity", _amount=amount)
          .order_by("_row_id").limit(_SHOWN).to_pyarrow().to_pylist())
    shown = "; ".join(f"row {r['_row_id']}: quantity {r['quantity']:g}, amount "
                      f"{r['_amount']:,.2f}" for r in ex)
    went = ", ".join(f"{k:,} {'kept clean' if reason is None else reason}"
                     for reason, k in sorted(by.items(), key=lambda kv: -kv[1]) if k)
    return (f"{n:,} line{'s have' if n != 1 else ' has'} a quantity and an amount of "
            f"opposite signs (e.g. {shown}{', ...' if n > _SHOWN else ''}); their values are "
            f"not changed: the return rule (in the standard and classic presets) reads a "
            f"negative quantity or amount as a return, refunding |amount|; where they went: "
            f"{went}. Check the export's signs (which of the two is wrong cannot be told "
            f"from the line)")
