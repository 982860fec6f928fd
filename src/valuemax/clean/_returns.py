"""``returns="net"`` with products: deduct each return from the earlier purchase of the product.

Everything is one lazy Ibis expression (windows and joins in the engine, no Python loop).

Matching. A *return line* is a line that would be quarantined as ``cancellation`` or
``return`` and fails no earlier rule (parse errors, date cut, duplicate, non-product). A
*purchase line* is a line that fails no rule at all and is not a return. The product is
the ``product_id``, or the ``product_name`` in a log with names but no codes (the item
column, chosen by ``clean``). Within each (customer_id, item), lines are ordered by
(order_ts, _row_id); a return is matched to the last purchase line before it in that order
(the most recent earlier purchase; ties in time go to the line written first). Lines
without an item are never matched. A log without any product column is netted by amount
instead (``valuemax.clean._returns_amount``).

Netting. Per purchase line, the matched returns' units ``|quantity|`` are summed and the
line's quantity is reduced by them, capped at zero; the amount is reduced in proportion
(the purchase's own unit price), so a customer's spend is never negative. When a quantity is
missing on the purchase or on one of its returns, the refunded money ``|amount|`` is deducted
from the amount instead, capped at zero. Returned units beyond the matched line's quantity
are not carried to older purchases.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir


def net_returns(
    t: ir.Table,
    *,
    is_return: ir.BooleanValue,
    pre_fires: ir.BooleanValue,
    post_fires: ir.BooleanValue,
    item: str = "product_id",
    step: Any = None,
) -> ir.Table:
    """Add the netting columns to ``t``.

    Parameters
    ----------
    t : ibis.Table
        Standardized lines with ``_row_id`` (unique), ``customer_id``, ``product_id``,
        ``order_ts``, ``quantity``, ``amount``.
    is_return : ibis BooleanValue
        True on cancellation/return lines (no NULLs).
    pre_fires : ibis BooleanValue
        True where a rule ordered before the return rules fails (no NULLs).
    post_fires : ibis BooleanValue
        True where a rule ordered after the return rules fails (no NULLs).
    item : {"product_id", "product_name"}
        The column that names the product.
    step : callable, optional
        ``step(table, key)`` returns ``table`` materialised with its unique column ``key``
        as primary key (MySQL/MariaDB: ``clean``'s ``_keyed``); applied to the returns and
        purchases with their windows and to the matches, which later steps read several
        times and join on ids.

    Returns
    -------
    ibis.Table
        ``t`` (unchanged, so the rules still see the original values) with
        ``_vm_qty_net`` and ``_vm_amt_net`` (quantity and amount after netting),
        ``returned_quantity`` (units deducted, 0 when none; NULL when netted in money),
        ``_vm_ret`` (eligible return line),
        ``_vm_matched`` (return matched to a purchase), ``_vm_full`` (purchase netted to
        zero) and ``_vm_left`` (float64: ``|amount|`` of an unmatched return, else 0).
    """
    keys = ("customer_id", item)
    t = t.mutate(_vm_ret=~pre_fires & is_return, _vm_cand=~pre_fires & ~is_return & ~post_fires)
    keyed = t[item].notnull()
    rets = t.filter(t._vm_ret & keyed).select(
        *keys, "order_ts", "_row_id",
        _vm_kind=ibis.literal(1, "int8"),
        _vm_units=t.quantity.abs(),
        _vm_money=t.amount.abs(),
    )
    # only (customer, item) groups holding a return can match: the purchases of the others
    # (most of a large log) are left out of the windows (numbering within a group kept is
    # unchanged, so the matches are the same)
    buys = t.filter(t._vm_cand & keyed).select(
        *keys, "order_ts", "_row_id",
        _vm_kind=ibis.literal(0, "int8"),
        _vm_units=ibis.null("float64"),
        _vm_money=ibis.null("float64"),
    )
    buys = buys.semi_join(rets.select(*keys).distinct(), list(keys))
    u = rets.union(buys)
    ordered = {"group_by": list(keys), "order_by": [u.order_ts, u._row_id]}
    u = u.mutate(_vm_seq=ibis.row_number().over(**ordered))
    u = u.mutate(_vm_pseq=ibis.ifelse(u._vm_kind == 0, u._vm_seq, ibis.null("int64")))
    u = u.mutate(
        _vm_last=u._vm_pseq.max().over(ibis.window(**ordered, preceding=None, following=0))
    )
    if step is not None:
        u = step(u, "_row_id")
    # return -> matched purchase _row_id
    r = u.filter((u._vm_kind == 1) & u._vm_last.notnull())
    p = u.filter(u._vm_kind == 0).select(
        *keys, _vm_pseq2="_vm_seq", _vm_prow="_row_id"
    )
    m = r.join(
        p,
        [r.customer_id == p.customer_id, r[item] == p[item], r._vm_last == p._vm_pseq2],
    ).select(_vm_rrow=r._row_id, _vm_prow=p._vm_prow, _vm_units=r._vm_units,
             _vm_money=r._vm_money)
    if step is not None:
        m = step(m, "_vm_rrow")
    per_buy = m.group_by("_vm_prow").aggregate(
        _vm_n=m._vm_rrow.count(),
        _vm_nu=m._vm_units.count(),
        _vm_u=m._vm_units.sum(),
        _vm_m=m._vm_money.sum(),
    )
    matched = m.select("_vm_rrow", _vm_hit=ibis.literal(True))

    j = t.left_join(per_buy, t._row_id == per_buy._vm_prow)
    j = j.select(*t.columns, "_vm_n", "_vm_nu", "_vm_u", "_vm_m")
    j = j.left_join(matched, j._row_id == matched._vm_rrow)
    j = j.select(*t.columns, "_vm_n", "_vm_nu", "_vm_u", "_vm_m", "_vm_hit")

    q, a = j.quantity, j.amount
    hit = j._vm_n.notnull()
    in_units = hit & q.notnull() & (q > 0) & (j._vm_nu == j._vm_n)
    new_q = ibis.ifelse(in_units, ibis.greatest(q - j._vm_u, 0.0), q)
    new_a = ibis.cases(
        (in_units, a * new_q / q),
        (hit, ibis.greatest(a - j._vm_m, 0.0)),
        else_=a,
    )
    out = j.mutate(
        _vm_qty_net=new_q.cast("float64"),
        _vm_amt_net=new_a.cast("float64"),
        returned_quantity=ibis.cases(
            (in_units, q - new_q), (hit, ibis.null("float64")), else_=0.0
        ).cast("float64"),
        _vm_matched=j._vm_hit.fill_null(False),
        _vm_full=hit & ibis.ifelse(in_units, new_q <= 0, new_a <= 0),
        _vm_left=ibis.ifelse(j._vm_ret & j._vm_hit.isnull(), a.abs(), 0.0).cast("float64"),
    )
    return out.drop("_vm_n", "_vm_nu", "_vm_u", "_vm_m", "_vm_hit", "_vm_cand")
