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
(the purchase's own unit price), so a customer's spend is never negative, but by no more
than the refund money netted against the line (its returns' ``|amount|`` less their
excess): a 12.50 refund of a unit bought at 1,200.00 takes 12.50 off it, not 1,200.00. A
line whose units all came back for less money than they cost keeps the rest of its amount
(money the customer paid and was not refunded) as a clean line of quantity 0; it is
``fully_returned`` only when its money is gone too. Returns refunded above the purchase's
price take only the units' purchase value; the rest is the reconciliation's refund price
difference. ``_vm_pv`` (on a matched return: its netted units at the purchase's price)
lets the report count the returns at another price. When a quantity is
missing on the purchase or on one of its returns, the refunded money ``|amount|`` is deducted
from the amount instead, capped at zero. Returned units beyond the matched line's quantity
are not carried to older purchases: they are the *excess*, counted and reported, never
dropped silently.

Excess. The returns matched to one purchase line are taken in time order ((order_ts,
_row_id)); each is applied as far as the line's quantity (in money: its amount) not taken
by the returns before it goes, and the rest of it is its excess. A return line's excess
share ``s`` in [0, 1] is its excess units / its units (netted in money: excess money /
refund); its excess units are ``s |quantity|`` and its excess money ``s |amount|`` (its own
refund price). Per purchase line the excess units add up to ``max(sum of returned units -
quantity, 0)``. ``_vm_left`` (refund placed nowhere) is the whole refund of an unmatched
return and the excess money of a matched one; a matched return's ``returned_quantity`` is
its units netted (``|quantity|`` less its excess units), so that no column is added to
every line of the log for the few returns.
"""

from __future__ import annotations

from typing import Any, Final

import ibis
import ibis.expr.types as ir

#: Excess shares at or below this are float residue of money subtractions (set to 0).
EXCESS_EPS: Final = 1e-9


def _matches(t: ir.Table, keys: tuple[str, str], step: Any) -> ir.Table:
    """Each eligible return line matched to the last purchase line before it of the same
    (customer, item): ``_vm_rrow``, ``_vm_prow`` (their ``_row_id``), the return's units and
    money, its time, the purchase's quantity and amount."""
    item = keys[1]
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
    buys = t.filter(t._vm_cand & keyed).select(  # the purchase's own quantity and amount
        *keys, "order_ts", "_row_id",
        _vm_kind=ibis.literal(0, "int8"),
        _vm_units=t.quantity,
        _vm_money=t.amount,
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
        *keys, _vm_pseq2="_vm_seq", _vm_prow="_row_id", _vm_pq="_vm_units", _vm_pa="_vm_money"
    )
    m = r.join(
        p,
        [r.customer_id == p.customer_id, r[item] == p[item], r._vm_last == p._vm_pseq2],
    ).select(_vm_rrow=r._row_id, _vm_prow=p._vm_prow, _vm_units=r._vm_units,
             _vm_money=r._vm_money, _vm_ts=r.order_ts, _vm_pq=p._vm_pq, _vm_pa=p._vm_pa)
    return m


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
        ``returned_quantity`` (on a purchase line the units deducted, 0 when none, NULL
        when netted in money; on a matched return line its units netted, ``|quantity|``
        less its excess, NULL without a quantity; else 0), ``_vm_ret`` (eligible return
        line), ``_vm_matched`` (return matched to a purchase), ``_vm_full`` (purchase
        netted to zero: every unit and all its money), ``_vm_pv`` (float64 on a matched
        return whose purchase has a positive quantity: its netted units at the purchase's
        price; else NULL) and ``_vm_left`` (float64: ``|amount|`` of an unmatched return,
        the excess money of a matched one, else 0).
    """
    keys = ("customer_id", item)
    t = t.mutate(_vm_ret=~pre_fires & is_return, _vm_cand=~pre_fires & ~is_return & ~post_fires)
    m = _with_excess(_matches(t, keys, step))
    if step is not None:
        m = step(m, "_vm_rrow")
    per_buy = m.group_by("_vm_prow").aggregate(
        _vm_n=m._vm_rrow.count(),
        _vm_nu=m._vm_units.count(),
        _vm_u=m._vm_units.sum(),
        _vm_m=m._vm_money.sum(),
        # the refund money netted against the line (its returns less their excess)
        _vm_rm=(m._vm_money * (1.0 - m._vm_xs)).sum(),
    )
    # a matched return's netted units valued at its purchase's own price (NULL when the
    # purchase is netted in money): against its refund, the "another price" counts
    priced = m._vm_pq.notnull() & (m._vm_pq > 0) & m._vm_pa.notnull()
    matched = m.select("_vm_rrow", "_vm_xs", "_vm_xn", _vm_hit=ibis.literal(True),
                       _vm_pv=ibis.ifelse(priced, m._vm_pa * (m._vm_units - m._vm_xn)
                                          / m._vm_pq, ibis.null("float64")))

    j = t.left_join(per_buy, t._row_id == per_buy._vm_prow)
    j = j.select(*t.columns, "_vm_n", "_vm_nu", "_vm_u", "_vm_m", "_vm_rm")
    j = j.left_join(matched, j._row_id == matched._vm_rrow)
    j = j.select(*t.columns, "_vm_n", "_vm_nu", "_vm_u", "_vm_m", "_vm_rm", "_vm_hit",
                 "_vm_xs", "_vm_xn", "_vm_pv")

    q, a = j.quantity, j.amount
    hit = j._vm_n.notnull()
    in_units = hit & q.notnull() & (q > 0) & (j._vm_nu == j._vm_n)
    new_q = ibis.ifelse(in_units, ibis.greatest(q - j._vm_u, 0.0), q)
    # the returned units at the purchase's own price, but never more money than the
    # refunds netted against the line: a 12.50 refund of the unit bought at 1,200.00
    # takes 12.50 off it (the returned units still come off its quantity)
    rm = j._vm_rm.fill_null(0.0)
    new_a = ibis.cases(
        (in_units, ibis.greatest(a * new_q / q, a - rm)),
        (hit, ibis.greatest(a - j._vm_m, 0.0)),
        else_=a,
    )
    matched = j._vm_hit.notnull()  # a return line matched to a purchase
    # the refund placed nowhere: all of an unmatched return, the excess of a matched one
    left = ibis.cases((matched, a.abs() * j._vm_xs), (j._vm_ret, a.abs()), else_=0.0)
    out = j.mutate(
        _vm_qty_net=new_q.cast("float64"),
        _vm_amt_net=new_a.cast("float64"),
        # a purchase: its units taken off; a matched return: its units netted (its
        # |quantity| less its excess: no new column on every line)
        returned_quantity=ibis.cases(
            (in_units, q - new_q), (hit, ibis.null("float64")),
            (matched, q.abs() - j._vm_xn), else_=0.0,
        ).cast("float64"),
        _vm_matched=matched,
        # every unit back and the money with it; units all back for less money than they
        # were bought for leave the rest of the amount (the customer paid it) on a clean
        # line of quantity 0
        _vm_full=hit & ibis.ifelse(in_units, (new_q <= 0) & (new_a <= 0), new_a <= 0),
        _vm_left=left.fill_null(0.0).cast("float64"),
        _vm_pv=j._vm_pv.cast("float64"),
    )
    return out.drop("_vm_n", "_vm_nu", "_vm_u", "_vm_m", "_vm_rm", "_vm_hit", "_vm_cand",
                    "_vm_xs", "_vm_xn")


def _with_excess(m: ir.Table) -> ir.Table:
    """Add ``_vm_xs`` and ``_vm_xn`` to the matches ``m`` (one row per matched return:
    ``_vm_prow``, ``_vm_rrow``, ``_vm_ts``, the return's ``_vm_units``/``_vm_money`` and its
    purchase's ``_vm_pq``/``_vm_pa``): the return's excess share in [0, 1] and its excess
    units (module docstring), in units when the purchase is netted in units (a positive
    quantity, and a quantity on every return matched to it; the units are then the exact
    difference, not share x units), else in money. Window functions over the matches only.
    """
    upto = ibis.window(group_by="_vm_prow", order_by=[m._vm_ts, m._vm_rrow],
                       preceding=None, following=0)
    whole = ibis.window(group_by="_vm_prow")
    m = m.mutate(
        _vm_cu=m._vm_units.sum().over(upto), _vm_cm=m._vm_money.sum().over(upto),
        _vm_allu=m._vm_units.count().over(whole) == m._vm_rrow.count().over(whole),
    )
    units = m._vm_pq.notnull() & (m._vm_pq > 0) & m._vm_allu
    zero = ibis.literal(0.0)
    # what the earlier returns of the line left of it, capped to this return's own size
    left_u = ibis.least(ibis.greatest(m._vm_pq - (m._vm_cu - m._vm_units), zero), m._vm_units)
    left_m = ibis.least(ibis.greatest(m._vm_pa - (m._vm_cm - m._vm_money), zero), m._vm_money)
    share = ibis.cases(
        (units & (m._vm_units > 0), (m._vm_units - left_u) / m._vm_units),
        (~units & (m._vm_money > 0), (m._vm_money - left_m) / m._vm_money),
        else_=zero,
    ).cast("float64")
    # a rounding residue of a float subtraction in money is no excess
    share = ibis.ifelse(share > EXCESS_EPS, share, 0.0)
    n_units = ibis.ifelse(units, m._vm_units - left_u, m._vm_units * share).cast("float64")
    return m.mutate(_vm_xs=share, _vm_xn=n_units).drop("_vm_cu", "_vm_cm", "_vm_allu")
