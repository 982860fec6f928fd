"""``returns="net"`` in a log without products: deduct each return by amount, in the engine.

Without a product column a return cannot be matched to the purchase of the same item, but
its money can still be taken off what the customer bought, so that spend is net of refunds.
Everything is one lazy Ibis expression (windows and joins in the engine, no Python loop).

Lines. A *return line* is a line that would be quarantined as ``cancellation`` or ``return``
and fails no earlier rule; its refund is ``|amount|``. A *purchase line* fails no rule at
all and is not a return; its money is ``amount`` (>= 0).

Three stages, in this order; the refund a stage cannot place goes on to the next one:

1. **The order the cancellation names.** The return's order id is read as the id of the
   original order when it is (a) ``cancel_prefix`` + id, with an optional ``-`` or ``_``
   after the prefix (``C536379`` -> ``536379``, ``C-1001`` -> ``1001``; the prefix is
   case-sensitive, as in the ``cancellation`` rule); else (b) id + a separator (``-``,
   ``_``, ``/`` or a blank) + one of ``C, R, RET, RETURN, REFUND, CANCEL, CANCELED,
   CANCELLED`` in any case (``1001-R``, ``1001_return``, ``1001/C``); else (c) its own id (a
   negative line inside the original order). The refund is deducted from that order when
   the same customer has purchase lines with that order id whose first line is not later
   than the return. (In UCI Online Retail the ``C`` numbers come from the same sequence as
   the invoices and never name one: stage 1 nets nothing there.)
2. **The same customer and calendar day**: from the customer's purchases of that day.
3. **The customer's earlier purchases, by amount**: from purchases on earlier days (or the
   same day, already exhausted by stage 2), most recent first.

Within a stage, returns are taken in time order and each takes money from the purchases of
its group (the order, the day, or the customer's history up to its day), the most recent
first (last in, first out), never below zero. That is the running balance of purchases
minus refunds with a floor at zero (Lindley's recursion ``B_k = max(B_(k-1) + x_k, 0)``),
which windows compute exactly: with ``S_k`` the running sum of the signed amounts,
``B_k = S_k - min(0, min_(j<=k) S_j)``; a return takes ``min(refund, B_(k-1))``; a purchase
loses ``min(B_k - min_(j>=k) B_j, amount)``. Money is netted in ``DECIMAL(38, 6)`` so that a
purchase returned in full ends at exactly zero.

Result per line: a purchase keeps ``amount - deducted`` (>= 0, so spend per order, day and
customer is never negative), its quantity scaled by the same factor (``returned_quantity``
is the units taken off; NULL when the line has no quantity); a purchase deducted to zero is
``fully_returned``. A return is ``return_netted_order``/``_day``/``_earlier`` by the first
stage that found money left to deduct from, else ``return_unmatched``; refund money placed
nowhere (unmatched returns, and the part of a larger return beyond what was left) is
``_vm_left``, reported as ``refunds_not_netted``. Which line of an order or day absorbs a
partial return is a convention (the latest first); the totals per order, day and customer
do not depend on it.
"""

from __future__ import annotations

from typing import Final

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

#: Exact money for the running balances (6 decimals: amounts are rounded to a millionth of
#: the currency unit on netted lines only).
MONEY: Final = dt.Decimal(38, 6)
#: Lines with ``|amount|`` at or above this (no real shop; DECIMAL(38, 6) holds < 1e32) are
#: left out of the netting: such a return is unmatched, such a purchase untouched.
MONEY_MAX: Final = 1e30

#: Suffixes after a separator that mark an order id as the cancellation of the id before it.
CANCEL_SUFFIXES: Final[tuple[str, ...]] = (
    "C", "R", "RET", "RETURN", "REFUND", "CANCEL", "CANCELED", "CANCELLED",
)
_SUFFIX_RE: Final = (r"^(.+?)[-_/ ](?i:" + "|".join(s.lower() for s in CANCEL_SUFFIXES)
                     + r")$")


def original_order_id(order_id: ir.StringValue, cancel_prefix: str | None) -> ir.StringValue:
    """The id of the order a return line names (see the module docstring, stage 1).

    Parameters
    ----------
    order_id : ibis StringValue
        The return line's order id.
    cancel_prefix : str or None
        The cancellation prefix (``"C"`` in Online Retail); None: only suffixes and the
        id itself.

    Returns
    -------
    ibis StringValue
        The id with the prefix (and a ``-``/``_`` after it) or the suffix removed; the id
        itself when neither applies.
    """
    branches = []
    if cancel_prefix:
        rest = order_id.substr(len(cancel_prefix))
        rest = ibis.ifelse(rest.startswith("-") | rest.startswith("_"), rest.substr(1), rest)
        branches.append((order_id.startswith(cancel_prefix) & (rest.length() > 0), rest))
    branches.append((order_id.re_search(_SUFFIX_RE), order_id.re_extract(_SUFFIX_RE, 1)))
    return ibis.cases(*branches, else_=order_id)


def _stage(u: ir.Table, part: ir.BooleanValue, keys: list[str], order: list[str],
           stage: int) -> ir.Table:
    """Net the returns against the purchases within groups ``keys`` (LIFO balance).

    ``u`` has ``_row_id``, ``_vm_kind`` (0 purchase, 1 return), ``_vm_v`` (money still to
    place / still bought, MONEY) and ``_vm_stage``; lines where ``part`` is False keep
    their values. Returns ``u`` with ``_vm_v`` reduced and ``_vm_stage`` set on the returns
    that met money in this stage (when not set before).
    """
    sub = u.filter(part)
    x = ibis.ifelse(sub._vm_kind == 0, sub._vm_v, -sub._vm_v)
    upto = ibis.window(group_by=keys, order_by=[sub[c] for c in order], preceding=None,
                       following=0)
    sub = sub.mutate(_vm_s=x.sum().over(upto))
    zero = ibis.literal(0).cast(MONEY)
    sub = sub.mutate(_vm_b=(sub._vm_s - ibis.least(sub._vm_s.min().over(upto), zero))
                     .cast(MONEY))
    ordered = {"group_by": keys, "order_by": [sub[c] for c in order]}
    after = ibis.window(**ordered, preceding=0, following=None)
    sub = sub.mutate(
        _vm_bp=sub._vm_b.lag().over(**ordered).fill_null(zero),
        _vm_f=sub._vm_b.min().over(after),
    )
    take = ibis.ifelse(sub._vm_kind == 1, ibis.least(sub._vm_v, sub._vm_bp),
                       ibis.least(sub._vm_b - sub._vm_f, sub._vm_v))
    out = sub.select(_vm_r="_row_id", _vm_take=take.cast(MONEY),
                     _vm_met=(sub._vm_kind == 1) & (sub._vm_bp > zero))
    j = u.left_join(out, u._row_id == out._vm_r)
    met = j._vm_met.fill_null(False)
    return j.select(
        *[c for c in u.columns if c not in ("_vm_v", "_vm_stage")],
        _vm_v=(j._vm_v - j._vm_take.fill_null(zero)).cast(MONEY),
        _vm_stage=ibis.ifelse(j._vm_stage.isnull() & met, ibis.literal(stage, "int8"),
                              j._vm_stage),
    )


def net_by_amount(
    t: ir.Table,
    *,
    is_return: ir.BooleanValue,
    pre_fires: ir.BooleanValue,
    post_fires: ir.BooleanValue,
    cancel_prefix: str | None,
    has_order_id: bool,
) -> ir.Table:
    """Add the netting columns to ``t`` (stages and rules in the module docstring).

    Parameters
    ----------
    t : ibis.Table
        Standardized lines with ``_row_id`` (unique), ``customer_id``, ``order_id``,
        ``order_ts``, ``quantity``, ``amount``.
    is_return : ibis BooleanValue
        True on cancellation/return lines (no NULLs).
    pre_fires, post_fires : ibis BooleanValue
        True where a rule ordered before / after the return rules fails (no NULLs).
    cancel_prefix : str or None
        Prefix of cancelled orders' ids, read in stage 1.
    has_order_id : bool
        Whether the log has order ids (stage 1 is skipped without).

    Returns
    -------
    ibis.Table
        ``t`` (unchanged) with ``_vm_qty_net``, ``_vm_amt_net`` (float64 after netting),
        ``returned_quantity`` (units taken off; 0 when none; NULL when netted on a line
        without a quantity), ``_vm_ret``, ``_vm_matched`` (return met money to net
        against), ``_vm_stage`` (int8 1/2/3 on netted returns, else NULL), ``_vm_full``
        (purchase netted to zero) and ``_vm_left`` (float64 refund placed nowhere, on
        return lines; 0 elsewhere).
    """
    t = t.mutate(_vm_ret=~pre_fires & is_return, _vm_cand=~pre_fires & ~is_return & ~post_fires)
    lines = t.filter((t._vm_ret | t._vm_cand) & (t.amount.abs() < MONEY_MAX))
    u = lines.select(
        "_row_id", "customer_id", "order_id", "order_ts",
        _vm_kind=ibis.ifelse(lines._vm_ret, 1, 0).cast("int8"),
        _vm_day=lines.order_ts.date(),
        _vm_v=ibis.ifelse(lines._vm_ret, lines.amount.abs(), lines.amount).cast(MONEY),
        _vm_stage=ibis.null("int8"),
    )
    u = u.mutate(_vm_v0=u._vm_v)
    if has_order_id:
        buys = u.filter((u._vm_kind == 0) & u.order_id.notnull())
        orders = buys.group_by(["customer_id", "order_id"]).aggregate(
            _vm_first=buys.order_ts.min())
        rets = u.filter(u._vm_kind == 1)
        rets = rets.mutate(_vm_base=original_order_id(rets.order_id, cancel_prefix))
        hits = rets.join(
            orders,
            [rets.customer_id == orders.customer_id, rets._vm_base == orders.order_id,
             orders._vm_first <= rets.order_ts],
        ).select(_vm_hr=rets._row_id, _vm_hkey=rets._vm_base)
        j = u.left_join(hits, u._row_id == hits._vm_hr)
        u = j.select(*u.columns, _vm_okey=ibis.ifelse(j._vm_kind == 0, j.order_id, j._vm_hkey))
        u = _stage(u, u._vm_okey.notnull(), ["customer_id", "_vm_okey"],
                   ["_vm_kind", "order_ts", "_row_id"], 1)
    u = _stage(u, ibis.literal(True), ["customer_id", "_vm_day"],
               ["_vm_kind", "order_ts", "_row_id"], 2)
    u = _stage(u, ibis.literal(True), ["customer_id"],
               ["_vm_day", "_vm_kind", "order_ts", "_row_id"], 3)
    res = u.select(_vm_r="_row_id", _vm_vf="_vm_v", _vm_v0="_vm_v0", _vm_st="_vm_stage")

    j = t.left_join(res, t._row_id == res._vm_r)
    zero = ibis.literal(0).cast(MONEY)
    taken = (j._vm_v0 - j._vm_vf).fill_null(zero)
    touched = j._vm_cand & (taken > zero)
    q, a = j.quantity, j.amount
    new_a = ibis.ifelse(touched, j._vm_vf.cast("float64"), a)
    scalable = touched & q.notnull() & (a > 0)
    new_q = ibis.ifelse(scalable, q * new_a / a, q)
    out = j.select(
        *t.columns,
        _vm_qty_net=new_q.cast("float64"),
        _vm_amt_net=new_a.cast("float64"),
        returned_quantity=ibis.cases(
            (scalable, q - new_q), (touched, ibis.null("float64")), else_=0.0
        ).cast("float64"),
        _vm_matched=j._vm_ret & j._vm_st.notnull(),
        _vm_stage=j._vm_st,
        _vm_full=touched & (j._vm_vf <= zero),
        _vm_left=ibis.ifelse(j._vm_ret, j._vm_vf.cast("float64").coalesce(a.abs()), 0.0),
    )
    return out.drop("_vm_cand")
