"""The cleaning rules: codes, marketer-readable descriptions, predicates, order and presets.

A rule is a named boolean condition over the standardized transaction table. Rules are
applied in the fixed order of :data:`RULE_ORDER`; a line gets the code of the *first* rule it
fails, so every input line has exactly one reason (or none, when it is clean).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

import ibis
import ibis.expr.types as ir

from valuemax.engines._portable import NO_NAN, backend_name

#: Parse errors reported by ``Ingested.standardized()`` in column ``_parse_error``.
PARSE_ERRORS: Final[tuple[str, ...]] = (
    "undecodable_text",
    "missing_customer_id",
    "missing_date",
    "unparseable_date",
    "placeholder_date",
    "missing_amount",
    "unparseable_amount",
)

#: Order dates outside this range (inclusive) are ``implausible_date``: a mistyped year
#: (2201 for 2011) or a placeholder such as 0001-01-01, Excel's 1899-12-30 or 9999-12-31.
PLAUSIBLE_DATES: Final[tuple[dt.date, dt.date]] = (dt.date(1900, 1, 1), dt.date(2100, 1, 1))

#: Amounts (line totals) of this size or more, either sign, are ``implausible_amount``: a
#: thousand trillion currency units on one line is a unit or parsing error (an id or a
#: barcode read as the amount, an exponent typed into a price), and money is summed in
#: fixed point with 32 digits before the point (``valuemax.engines._portable.money_sum``).
PLAUSIBLE_AMOUNT_LIMIT: Final[float] = 1e15

#: Every rule code, in the order rules are applied (first failed rule gives the reason).
#: ``cancellation``/``return`` apply with ``returns="exclude"``; with ``returns="net"`` they
#: are replaced by ``return_unmatched``, ``fully_returned`` and either ``return_netted`` (a log
#: with products: netted against the same product) or ``return_netted_order``,
#: ``return_netted_day`` and ``return_netted_earlier`` (no product column: netted by amount,
#: see ``valuemax.clean._returns_amount``).
RULE_ORDER: Final[tuple[str, ...]] = (
    *PARSE_ERRORS,
    "implausible_date",
    "implausible_amount",
    "after_observation_end",
    "duplicate_line",
    "non_product",
    "cancellation",
    "return",
    "return_netted",
    "return_netted_order",
    "return_netted_day",
    "return_netted_earlier",
    "return_unmatched",
    "nonpositive_quantity",
    "negative_price",
    "nonpositive_price",
    "fully_returned",
)

#: Stock codes of lines that are not product sales in UK-retail exports such as UCI Online
#: Retail: postage (POST, DOT = dotcom postage, C2 = carriage), manual adjustments (M),
#: discounts (D), samples (S), bank charges, Amazon fees, CRUK charity commission, cushion
#: pads sold at 0.001 (PADS), bad-debt adjustments (B; Online Retail's three ``A...``
#: adjustment invoices carry this code) and gift vouchers (codes starting ``gift_``).
#: Matched ignoring case and surrounding blanks; an entry ending in ``*`` is a prefix.
DEFAULT_NON_PRODUCT_CODES: Final[tuple[str, ...]] = (
    "POST", "DOT", "M", "C2", "D", "S", "BANK CHARGES", "AMAZONFEE", "CRUK", "PADS", "B",
    "gift_*",
)

#: What the description (``product_name``) of a line says when one of
#: :data:`DEFAULT_NON_PRODUCT_CODES` means there what it means in Online Retail (matched
#: ignoring case, anywhere in the description). The default codes are short and common:
#: in another shop "S" and "M" are sizes, "D" or "B" a product line. With the default
#: codes a line is ``non_product`` only when its description confirms its code (a size
#: "S" described "T-SHIRT RED S" is a sale, a line "S" described "SAMPLES" is not); a
#: line without a description is kept as a sale. Every Online Retail line with a default
#: code and a customer id carries its telltale description, so its counts are those of
#: the codes alone. Codes the user gives (``non_product_codes=[...]``) need no
#: description.
DEFAULT_NON_PRODUCT_WORDS: Final[MappingProxyType[str, str]] = MappingProxyType({
    "POST": "POSTAGE", "DOT": "POSTAGE", "M": "MANUAL", "C2": "CARRIAGE", "D": "DISCOUNT",
    "S": "SAMPLE", "BANK CHARGES": "BANK CHARGE", "AMAZONFEE": "AMAZON FEE",
    "CRUK": "COMMISSION", "PADS": "PADS TO MATCH", "B": "BAD DEBT", "gift_*": "VOUCHER",
})

_DESCRIPTIONS: Final[dict[str, str]] = {
    "undecodable_text": "Some bytes of the line are not valid in the file's text encoding (a "
    "corrupted or partly re-encoded export): none of its values can be trusted.",
    "missing_customer_id": "No customer id: the sale cannot be attributed to a customer.",
    "missing_date": "No order date: the sale cannot be placed in time.",
    "unparseable_date": "The order date could not be read as a date.",
    "placeholder_date": "A placeholder date (1900-01-01, 1970-01-01) or one of a few dates far "
    "before the rest of the log (a mistyped year): not a real purchase date.",
    "missing_amount": "No amount (nor quantity and unit price) to value the sale.",
    "unparseable_amount": "The amount, quantity or unit price could not be read as a number.",
    "implausible_date": "Order date before 1900-01-01 or after 2100-01-01: a mistyped year or "
    "a placeholder date.",
    "implausible_amount": "Amount of a thousand trillion (10^15) currency units or more, or "
    "not a finite number: a unit or parsing error, not a sale.",
    "after_observation_end": "Dated after the observation end date ({observation_end}).",
    "duplicate_line": "Exact copy of an earlier line (every column equal); the first copy is kept.",
    "non_product": "Not a product sale: postage, fees, discounts, samples, adjustments, vouchers.",
    "cancellation": "Line of a cancelled order (order id starts with '{cancel_prefix}').",
    "return": "Goods returned or refunded (negative quantity or amount).",
    "return_netted": "Return deducted from the customer's earlier purchase of the same product.",
    "return_netted_order": "Return or cancellation deducted from the order it names "
    "(e.g. C536379 for order 536379).",
    "return_netted_day": "Return deducted from the customer's purchases of the same day.",
    "return_netted_earlier": "Return deducted from the customer's earlier purchases, by amount "
    "(most recent first).",
    "return_unmatched": "Return with no earlier purchase of that product by the customer.",
    "nonpositive_quantity": "Quantity is zero or negative: nothing was sold.",
    "negative_price": "Unit price (or, where it is missing, the amount) is negative: "
    "corrections. Zero-priced lines are kept as free purchases (an occasion, no spend).",
    "nonpositive_price": "Unit price (or, where it is missing, the amount) is zero or "
    "negative: free items, corrections.",
    "fully_returned": "Purchase whose whole quantity was returned later (netted to zero).",
}
#: ``nonpositive_price`` in a log without a unit price column (only an amount).
_AMOUNT_ONLY_PRICE: Final = "Amount is zero or negative: free items, corrections."
#: ``return_unmatched`` when returns are netted by amount (a log without products).
_UNMATCHED_BY_AMOUNT: Final = ("Return with nothing left to net it against: no named order, no "
                               "purchase that day and no earlier purchase by the customer.")
#: ``negative_price`` in a log without a unit price column.
_AMOUNT_ONLY_NEGATIVE: Final = ("Amount is negative: corrections. Zero-amount lines are kept "
                                "as free purchases (an occasion, no spend).")


@dataclass(frozen=True)
class RuleContext:
    """Parameters the rule predicates and descriptions read (validated by ``clean``).

    ``has_unit_price`` is False when the log has no unit price column: ``nonpositive_price``
    is then described as a test of the amount alone (its predicate falls back to the amount
    wherever the unit price is NULL). ``by_amount`` is True when returns are netted by
    amount (no product column): ``return_unmatched`` is then described in those terms.
    ``confirm`` maps each of ``non_product_codes`` to the word a line's description must
    contain for the code to mark it ``non_product`` (:data:`DEFAULT_NON_PRODUCT_WORDS`
    with the default codes); None: the codes alone decide (codes the user gave).
    """

    observation_end: dt.date | None
    cancel_prefix: str | None
    non_product_codes: tuple[str, ...]
    has_unit_price: bool = True
    by_amount: bool = False
    confirm: Mapping[str, str] | None = None


def implausible(t: ir.Table) -> ir.BooleanValue:
    """True where ``order_ts`` is outside :data:`PLAUSIBLE_DATES` (NULL where it is NULL)."""
    day = t.order_ts.date()
    return (day < ibis.literal(PLAUSIBLE_DATES[0])) | (day > ibis.literal(PLAUSIBLE_DATES[1]))


def implausible_amount(t: ir.Table) -> ir.BooleanValue:
    """True where ``|amount| >= PLAUSIBLE_AMOUNT_LIMIT`` or the amount is NaN or infinite
    (NULL where it is NULL)."""
    a = t.amount.cast("float64")
    huge = a.abs() >= PLAUSIBLE_AMOUNT_LIMIT  # infinities included
    # MySQL/MariaDB store no NaN (and have no IS_NAN): there the size test is the rule
    return huge if backend_name(t) in NO_NAN else a.isnan() | huge


#: The characters Ibis's ``strip()`` removes (DuckDB ``trim(x, chars)``): space, tab, LF, CR,
#: VT, FF.
_STRIP_CHARS: Final = " \t\n\r\x0b\x0c"
#: A value starting or ending with one of them (the characters themselves, no escapes).
_STRIP_EDGE: Final = f"^[{_STRIP_CHARS}]|[{_STRIP_CHARS}]$"


def product_code(t: ir.Table) -> ir.StringValue:
    """``product_id`` stripped of edge blanks (Ibis ``strip()``) and in upper case.

    On DuckDB ``trim(x, chars)`` runs only on the values the regular expression finds an
    edge blank in: the same values, about twice as fast over a log (0.45 -> 0.21 CPU s for
    the code test on 2.2M codes), since almost no code has one.
    """
    pid = t.product_id
    if backend_name(t) == "duckdb":
        pid = ibis.ifelse(pid.re_search(_STRIP_EDGE), pid.strip(), pid)
    else:
        pid = pid.strip()
    return pid.upper()


def _code_matches(t: ir.Table, entry: str) -> ir.BooleanValue:
    """True where ``product_id`` is ``entry`` (ignoring case and blanks; ``x*``: a prefix)."""
    code = product_code(t)
    if entry.endswith("*"):
        return code.startswith(entry[:-1].strip().upper())
    return code == entry.strip().upper()


def _has_code(t: ir.Table, ctx: RuleContext) -> ir.BooleanValue:
    """True where ``product_id`` is one of ``ctx.non_product_codes`` (ignoring case and
    blanks; ``x*``: a prefix): one ``IN`` list and the prefixes."""
    out: ir.BooleanValue = ibis.literal(False)
    code = product_code(t)
    exact = [c.strip().upper() for c in ctx.non_product_codes if not c.endswith("*")]
    if exact:
        out = out | code.isin(exact)
    for entry in (c for c in ctx.non_product_codes if c.endswith("*")):
        out = out | _code_matches(t, entry)
    return out


def _non_product(t: ir.Table, ctx: RuleContext,
                 coded: ir.BooleanValue | None = None) -> ir.BooleanValue:
    """The ``non_product`` test; ``coded``: :func:`_has_code` when already computed."""
    coded = _has_code(t, ctx) if coded is None else coded
    if ctx.confirm is None:
        return coded
    # each code only with its telltale description (see DEFAULT_NON_PRODUCT_WORDS); the
    # descriptions are read only on the few lines that carry a code (a CASE: an OR of the
    # per-code tests over every line doubled the clean step's CPU on Online Retail)
    desc = t.product_name.upper()
    confirmed: ir.BooleanValue = ibis.literal(False)
    for entry in ctx.non_product_codes:
        confirmed = confirmed | (_code_matches(t, entry)
                                 & desc.contains(ctx.confirm[entry].upper()))
    return coded.ifelse(confirmed, ibis.literal(False))


#: Columns of :func:`with_code_flags`: the ``non_product`` test and, with descriptions
#: to confirm, whether the line carries a code at all.
_NP_FLAG, _CODED_FLAG = "_vm_np", "_vm_coded"


def with_code_flags(t: ir.Table, ctx: RuleContext) -> ir.Table:
    """``t`` with the product-code tests computed once, as columns.

    ``_vm_np``: the ``non_product`` predicate (NULL where it is NULL); ``_vm_coded`` (only
    with ``ctx.confirm``): the line carries one of the codes. The rule's predicate and
    :func:`unconfirmed_codes` read them when present. With ``returns="net"`` the non-product
    test enters the return flags before the netting and the reason after it: as an
    expression DuckDB evaluated it (a hash join of the codes) once per reference, three
    times per line; as a column, once.
    """
    if ctx.confirm is None:
        return t.mutate(**{_NP_FLAG: _non_product(t, ctx)})
    t = t.mutate(**{_CODED_FLAG: _has_code(t, ctx)})
    return t.mutate(**{_NP_FLAG: _non_product(t, ctx, coded=t[_CODED_FLAG])})


def _non_product_rule(t: ir.Table, ctx: RuleContext) -> ir.BooleanValue:
    return t[_NP_FLAG] if _NP_FLAG in t.columns else _non_product(t, ctx)


def unconfirmed_codes(t: ir.Table, ctx: RuleContext) -> ir.BooleanValue:
    """True where a line carries one of the default non-product codes that its description
    does not confirm (kept as a sale); False everywhere when ``ctx.confirm`` is None."""
    if ctx.confirm is None:
        return ibis.literal(False)
    coded = t[_CODED_FLAG] if _CODED_FLAG in t.columns else _has_code(t, ctx)
    return coded & ~_non_product_rule(t, ctx).fill_null(False)


def _cancellation(t: ir.Table, ctx: RuleContext) -> ir.BooleanValue:
    return t.order_id.startswith(ctx.cancel_prefix)


def _return(t: ir.Table, ctx: RuleContext) -> ir.BooleanValue:
    """A negative quantity, or a negative amount not made by a negative unit price on a
    positive quantity: that line is a price correction (``negative_price``), not goods
    coming back, and must not be netted against an earlier purchase. A positive quantity
    with a negative amount and no negative price (a refund written ``1, -12.50``) is a
    return."""
    price_fix = (t.unit_price < 0).fill_null(False) & (t.quantity > 0).fill_null(False)
    return (t.quantity < 0) | ((t.amount < 0) & ~price_fix)


def _parse(code: str) -> Callable[[ir.Table, RuleContext], ir.BooleanValue]:
    return lambda t, ctx: t["_parse_error"] == code


_PREDICATES: Final[dict[str, Callable[[ir.Table, RuleContext], ir.BooleanValue]]] = {
    **{code: _parse(code) for code in PARSE_ERRORS},
    "implausible_date": lambda t, ctx: implausible(t),
    "implausible_amount": lambda t, ctx: implausible_amount(t),
    "after_observation_end": lambda t, ctx: t.order_ts.date() > ibis.literal(ctx.observation_end),
    "duplicate_line": lambda t, ctx: t["_vm_dup"],
    "non_product": _non_product_rule,
    "cancellation": _cancellation,
    "return": _return,
    # the netting columns are added by valuemax.clean._returns before the CASE is built
    "return_netted": lambda t, ctx: t["_vm_ret"] & t["_vm_matched"],
    "return_netted_order": lambda t, ctx: t["_vm_ret"] & (t["_vm_stage"] == 1),
    "return_netted_day": lambda t, ctx: t["_vm_ret"] & (t["_vm_stage"] == 2),
    "return_netted_earlier": lambda t, ctx: t["_vm_ret"] & (t["_vm_stage"] == 3),
    "return_unmatched": lambda t, ctx: t["_vm_ret"],
    "nonpositive_quantity": lambda t, ctx: t.quantity <= 0,
    "negative_price": lambda t, ctx: (t.unit_price < 0)
    | (t.unit_price.isnull() & (t.amount < 0)),
    "nonpositive_price": lambda t, ctx: (t.unit_price <= 0)
    | (t.unit_price.isnull() & (t.amount <= 0)),
    "fully_returned": lambda t, ctx: t["_vm_full"],
}


@dataclass(frozen=True)
class Rule:
    """One cleaning rule.

    Attributes
    ----------
    code : str
        Stable reason code written to ``quarantine.reason``.
    description : str
        One line saying, in a marketer's words, what the rule removes.
    """

    code: str
    description: str

    def predicate(self, t: ir.Table, ctx: RuleContext) -> ir.BooleanValue:
        """Return the boolean expression "this line fails the rule" (NULL counts as pass)."""
        return _PREDICATES[self.code](t, ctx).fill_null(False)


@dataclass(frozen=True)
class Preset:
    """A named rule set.

    Attributes
    ----------
    name : str
        ``"standard"``, ``"classic"`` or ``"none"``.
    rules : tuple of str
        Rule codes with ``returns="exclude"``, in application order.
    outliers : {"flag", "off"}
        Whether ``is_outlier`` is computed when ``clean(outliers=None)``.
    description : str
        What the preset is for.
    """

    name: str
    rules: tuple[str, ...]
    outliers: str
    description: str


_RETURN_RULES = ("cancellation", "return", "nonpositive_quantity", "nonpositive_price")

#: The documented presets. ``classic`` reproduces the usual cleaning of the UCI Online
#: Retail literature (customer id present, invoice not cancelled, quantity > 0, unit price >
#: 0; duplicates and non-product lines kept): 397,884 lines, 18,532 invoices, 4,338
#: customers, revenue 8,911,407.90 GBP. ``standard`` (the default) adds the date cut,
#: exact duplicates (only when the log has an order id column: without one, equal lines
#: are separate purchases on the same day) and non-product lines, and flags outliers.
#: ``none`` removes only the lines that cannot be used at all (parse errors). Every preset
#: quarantines dates outside :data:`PLAUSIBLE_DATES` as ``implausible_date`` and amounts
#: of :data:`PLAUSIBLE_AMOUNT_LIMIT` or more as ``implausible_amount``, right after the
#: parse errors.
PRESETS: Final = MappingProxyType({
    "standard": Preset(
        "standard",
        (*PARSE_ERRORS, "implausible_date", "implausible_amount", "after_observation_end",
         "duplicate_line", "non_product", *_RETURN_RULES[:-1], "negative_price"),
        "flag",
        "Parse errors, implausible dates and amounts, lines after the observation end, exact duplicates "
        "(when the log has order ids), non-product lines, cancellations, returns, zero "
        "quantities and negative prices (zero-priced lines are free purchases: kept, as the "
        "BTYD literature counts them); outliers flagged.",
    ),
    "classic": Preset(
        "classic",
        (*PARSE_ERRORS, "implausible_date", "implausible_amount", *_RETURN_RULES),
        "off",
        "The literature's Online Retail cleaning: customer id present, not cancelled, "
        "quantity > 0, unit price > 0 (duplicates and non-product lines kept); dates before "
        "1900 or after 2100 and amounts of 10^15 or more are quarantined as implausible.",
    ),
    "none": Preset(
        "none",
        (*PARSE_ERRORS, "implausible_date", "implausible_amount"),
        "off",
        "Only lines that cannot be used at all (no customer, date or amount, or a date "
        "before 1900 or after 2100, or an amount of 10^15 or more).",
    ),
})


def active_rules(
    preset: Preset,
    *,
    returns: str,
    observation_end_given: bool,
    cancel_prefix: str | None,
    non_product_codes: tuple[str, ...] | None,
    has_order_id: bool = True,
    by_amount: bool = False,
) -> tuple[str, ...]:
    """Rule codes applied for these options, in :data:`RULE_ORDER`.

    ``after_observation_end`` joins any preset when an observation end is given;
    ``duplicate_line`` leaves when the log has no order id (``has_order_id=False``: equal
    lines are then separate purchases on the same day, as in CDNOW);
    ``non_product`` joins when codes are given and leaves when ``()`` is given;
    ``cancellation`` leaves when ``cancel_prefix`` is None; ``returns="net"`` replaces
    ``cancellation``/``return`` by ``return_netted``, ``return_unmatched`` and
    ``fully_returned`` (with ``by_amount=True``, a log without products,
    ``return_netted_order``, ``return_netted_day`` and ``return_netted_earlier`` replace
    ``return_netted``).
    """
    codes = set(preset.rules)
    if observation_end_given:
        codes.add("after_observation_end")
    if non_product_codes is not None:
        if non_product_codes:
            codes.add("non_product")
        else:
            codes.discard("non_product")
    if cancel_prefix is None:
        codes.discard("cancellation")
    if not has_order_id:
        codes.discard("duplicate_line")
    if returns == "net" and codes & {"cancellation", "return"}:
        codes -= {"cancellation", "return"}
        codes |= {"return_unmatched", "fully_returned"}
        codes |= ({"return_netted_order", "return_netted_day", "return_netted_earlier"}
                  if by_amount else {"return_netted"})
    return tuple(code for code in RULE_ORDER if code in codes)


def make_rules(codes: tuple[str, ...], ctx: RuleContext) -> tuple[Rule, ...]:
    """Build the :class:`Rule` objects for ``codes`` with descriptions filled in."""
    fill = {
        "observation_end": "" if ctx.observation_end is None else ctx.observation_end.isoformat(),
        "cancel_prefix": ctx.cancel_prefix or "",
    }

    def text(code: str) -> str:
        if code == "nonpositive_price" and not ctx.has_unit_price:
            return _AMOUNT_ONLY_PRICE
        if code == "negative_price" and not ctx.has_unit_price:
            return _AMOUNT_ONLY_NEGATIVE
        if code == "return_unmatched" and ctx.by_amount:
            return _UNMATCHED_BY_AMOUNT
        if code == "fully_returned" and ctx.by_amount:
            return "Purchase whose whole amount was refunded later (netted to zero)."
        return _DESCRIPTIONS[code].format(**fill)

    return tuple(Rule(code, text(code)) for code in codes)


def _branches(
    t: ir.Table, rules: tuple[Rule, ...], ctx: RuleContext
) -> list[tuple[ir.BooleanValue, ir.StringValue]]:
    """(condition, code) per rule; the leading parse-error rules share one branch.

    ``_parse_error`` already holds the first parse error of the line, so testing it once
    (``IN (...) THEN _parse_error``) is the same as one branch per code, and keeps an engine
    that inlines ``standardized()`` from re-evaluating its parsing once per code.
    """
    lead = 0
    while lead < len(rules) and rules[lead].code in PARSE_ERRORS:
        lead += 1
    out = []
    if lead:
        pe = t["_parse_error"]
        out.append((pe.isin([r.code for r in rules[:lead]]).fill_null(False), pe))
    out += [(r.predicate(t, ctx), ibis.literal(r.code)) for r in rules[lead:]]
    return out


def reason_expr(t: ir.Table, rules: tuple[Rule, ...], ctx: RuleContext) -> ir.StringValue:
    """One CASE expression: the code of the first rule the line fails, NULL when clean."""
    if not rules:
        return ibis.null("string")
    return ibis.cases(*_branches(t, rules, ctx), else_=ibis.null("string"))


def any_fires(t: ir.Table, rules: tuple[Rule, ...], ctx: RuleContext) -> ir.BooleanValue:
    """True where the line fails at least one of ``rules`` (False when ``rules`` is empty)."""
    out: ir.BooleanValue = ibis.literal(False)
    for cond, _ in _branches(t, rules, ctx):
        out = out | cond
    return out
