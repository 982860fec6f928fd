"""The quality report of a cleaning run: every input line accounted for, per rule."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from valuemax._core.exceptions import InputError
from valuemax.clean._rules import Rule


def count_noun(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` with thousands separators and ``noun`` in the singular or plural.

    Examples
    --------
    >>> count_noun(1, "day"), count_noun(1200, "line"), count_noun(2, "entry", "entries")
    ('1 day', '1,200 lines', '2 entries')
    """
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


#: Iglewicz & Hoaglin (1993): |0.6745 (x - median) / MAD| > 3.5 marks a potential outlier.
OUTLIER_Z = 3.5

_FIX = {
    "undecodable_text": "re-export the file, or pass its encoding: read_transactions(..., "
    "encoding='cp1252')",
    "missing_customer_id": "map the customer id column: read_transactions(..., "
    "mapping={'customer_id': '<column>'})",
    "missing_date": "map the date column: read_transactions(..., mapping={'order_ts': '<column>'})",
    "unparseable_date": "pass the format: read_transactions(..., date_format='%d/%m/%Y')",
    "missing_amount": "map an amount column, or quantity and unit_price, in read_transactions",
    "unparseable_amount": "check the number format of the amount/quantity/price columns",
    "implausible_date": "correct the dates in the source, or check the date format "
    "(read_transactions(..., date_format=...))",
    "implausible_amount": "check the amount's unit and decimal separator, and that the "
    "amount/quantity/price columns are mapped to the right source columns",
    "after_observation_end": "pass a later observation_end, or None for the date of the log's "
    "last transaction",
    "non_product": "pass non_product_codes=() to keep these product codes",
    "cancellation": "pass cancel_prefix=None if order ids start with that letter by design",
    "return": "check the sign of the quantity and amount columns",
    "return_unmatched": "use returns='exclude'",
    "return_netted": "use returns='exclude'",
    "return_netted_order": "use returns='exclude'",
    "return_netted_day": "use returns='exclude'",
    "return_netted_earlier": "use returns='exclude'",
    "nonpositive_quantity": "check the quantity column",
    "negative_price": "check the unit price / amount columns",
    "nonpositive_price": "check the unit price / amount columns",
    "fully_returned": "use returns='exclude'",
}


@dataclass(frozen=True)
class RuleCount:
    """How many lines one rule sent to quarantine.

    Attributes
    ----------
    code : str
        Reason code (``quarantine.reason``).
    description : str
        What the rule removes, in one line.
    count : int
        Lines whose *first* failed rule is this one (>= 0).
    """

    code: str
    description: str
    count: int


@dataclass(frozen=True)
class QualityReport:
    """Rows in, clean and quarantined, per rule, with the run's settings.

    Invariants (checked on construction): ``rows_in == rows_clean + rows_quarantined`` and
    the rule counts sum to ``rows_quarantined``.

    Attributes
    ----------
    rows_in : int
        Lines read.
    rows_clean : int
        Lines in ``CleanResult.transactions``.
    rows_quarantined : int
        Lines in ``CleanResult.quarantine``.
    rules : tuple of RuleCount
        Every rule applied, in application order, zero counts included.
    observation_end : datetime.date
        Last day (inclusive) of the observation period.
    preset : str
        ``"standard"``, ``"classic"`` or ``"none"``.
    returns : str
        ``"exclude"`` or ``"net"``.
    outliers : str
        ``"flag"`` or ``"off"``.
    n_outliers : int
        Clean lines flagged ``is_outlier`` (kept in the clean table).
    netted_revenue : float
        Revenue deducted from purchase lines by ``returns="net"`` (log currency; 0.0 with
        ``returns="exclude"``). ``require_clean=False`` (a part of a log) allows a result
    without a clean line.
    notes : tuple of str
        How defaults were chosen and what each count means.
    zero_priced : int
        Zero-priced lines (unit price 0, or amount 0 where there is no unit price) that
        fail no other rule: kept as free purchases by ``standard`` and ``none``,
        quarantined as ``nonpositive_price`` by ``classic``; counted whatever the preset.
    netting : {"product_id", "product_name", "amount"} or None
        What ``returns="net"`` matched returns by (None with ``returns="exclude"``):
        the product code, the product name (a log with names but no codes), or the amount
        (no product column; see ``valuemax.clean._returns_amount``).
    refunds_not_netted : float
        Refund money (``|amount|`` of return lines) deducted from no purchase: unmatched
        returns, and the part of matched returns beyond what their purchase held
        (``refunds_excess``) (log currency; 0.0 with ``returns="exclude"``).
    refunds : float
        Refund money of the return lines netting considered (sum of ``|amount|``; 0.0 with
        ``returns="exclude"``).
    refunds_excess : float
        Refund money of matched returns beyond what their purchase held: by product,
        returned units beyond the matched purchase line's quantity (not carried to older
        purchases), at the return's own price; by amount, the part of a return larger
        than what was left to net against.
    excess_lines : int
        Return lines with some ``refunds_excess``.
    excess_units : float
        Their units beyond the purchase (by amount: in proportion to the money).
    spend_before_netting : float
        Amount of the purchase lines before netting (clean and ``fully_returned`` lines).
    clean_spend : float
        Amount of the clean lines (after netting): ``spend_before_netting -
        netted_revenue``.

    Examples
    --------
    >>> import datetime as dt
    >>> rep = QualityReport(
    ...     rows_in=10, rows_clean=7, rows_quarantined=3,
    ...     rules=(RuleCount("missing_customer_id", "No customer id.", 2),
    ...            RuleCount("return", "Goods returned.", 1)),
    ...     observation_end=dt.date(2011, 12, 9), preset="classic", returns="exclude",
    ...     outliers="off", n_outliers=0, netted_revenue=0.0, notes=())
    >>> rep.to_frame()
                      rule      description  rows  share
    0  missing_customer_id  No customer id.     2    0.2
    1               return  Goods returned.     1    0.1
    >>> rep["return"]
    1
    """

    rows_in: int
    rows_clean: int
    rows_quarantined: int
    rules: tuple[RuleCount, ...]
    observation_end: dt.date
    preset: str
    returns: str
    outliers: str
    n_outliers: int
    netted_revenue: float
    notes: tuple[str, ...]
    zero_priced: int = 0
    netting: str | None = None
    refunds_not_netted: float = 0.0
    refunds: float = 0.0
    refunds_excess: float = 0.0
    excess_lines: int = 0
    excess_units: float = 0.0
    spend_before_netting: float = 0.0
    clean_spend: float = 0.0

    def __post_init__(self) -> None:
        total = sum(r.count for r in self.rules)
        if self.rows_in != self.rows_clean + self.rows_quarantined or total != self.rows_quarantined:
            raise InputError(
                f"inconsistent quality report: rows_in {self.rows_in:,} must equal rows_clean "
                f"{self.rows_clean:,} + rows_quarantined {self.rows_quarantined:,}, and the "
                f"rule counts (sum {total:,}) must add up to rows_quarantined"
            )

    def __getitem__(self, code: str) -> int:
        """Return the count of rule ``code``.

        Raises
        ------
        KeyError
            If ``code`` is not one of the rules applied (the message lists them).
        """
        for r in self.rules:
            if r.code == code:
                return r.count
        raise KeyError(f"rule {code!r} was not applied; rules: {[r.code for r in self.rules]}")

    def reconciliation(self) -> dict[str, Any] | None:
        """Where the money of the purchases and of the refunds went (``returns="net"``).

        Two identities, in the log's currency: ``spend_before_netting - refunds_deducted
        == clean_spend`` and ``refunds == refunds_deducted + refunds_not_netted +
        refund_price_difference``, with ``refunds_not_netted == refunds_beyond_purchase +
        refunds_unmatched``. ``refund_price_difference`` is what the matched returns were
        refunded beyond what was deducted at the purchases' own prices (returned units
        refunded above the price they were bought at; 0 by amount). Units refunded below
        their price take only their refund off the purchase (never more money than
        refunded), so they add nothing to it; the netting note counts both kinds.

        Returns
        -------
        dict or None
            None with ``returns="exclude"``; else ``matched_by``, the money figures above
            (floats rounded to a millionth of the currency unit, the difference and the
            unmatched refunds computed from the rounded figures),
            ``return_lines_beyond_purchase`` and ``return_lines_unmatched`` (ints) and
            ``units_beyond_purchase`` (float, rounded likewise).
        """
        if self.returns != "net":
            return None

        def r6(x: float) -> float:  # a millionth of the currency unit: no float residue
            return round(float(x), 6) + 0.0  # + 0.0: no -0.0

        refunds, deducted, left = r6(self.refunds), r6(self.netted_revenue), r6(
            self.refunds_not_netted)
        excess = r6(self.refunds_excess)
        codes = {r.code: r.count for r in self.rules}
        return {
            "matched_by": self.netting,
            "spend_before_netting": r6(self.spend_before_netting),
            "refunds_deducted": deducted,
            "clean_spend": r6(self.clean_spend),
            "refunds": refunds,
            "refunds_not_netted": left,
            "refunds_beyond_purchase": excess,
            "return_lines_beyond_purchase": int(self.excess_lines),
            "units_beyond_purchase": r6(self.excess_units),
            "refunds_unmatched": r6(left - excess),
            "return_lines_unmatched": int(codes.get("return_unmatched", 0)),
            "refund_price_difference": r6(refunds - deducted - left),
        }

    def reconciliation_lines(self) -> list[str]:
        """:meth:`reconciliation` in words, one identity per line (empty with
        ``returns="exclude"``; one line saying so when the log has no return line); the terminal, the report and :meth:`to_text` show them."""
        rec = self.reconciliation()
        if rec is None:
            return []
        if not any(r.count for r in self.rules if r.code.startswith("return_")):
            return ["returns netted: none (the log has no return lines)"]
        by_amount = rec["matched_by"] == "amount"
        beyond = ("larger than what was left to net against" if by_amount else
                  "beyond the matched purchase line's quantity, not carried to older "
                  "purchases")
        units = rec["units_beyond_purchase"]
        units_text = f"{units:,.0f}" if float(units).is_integer() else f"{units:,.2f}"
        parts = []
        if rec["return_lines_beyond_purchase"]:
            parts.append(
                f"beyond the purchase {rec['refunds_beyond_purchase']:,.2f} "
                f"({count_noun(rec['return_lines_beyond_purchase'], 'return line')} {beyond}"
                + (f"; {units_text} unit{'' if units == 1 else 's'})" if units else ")"))
        if rec["return_lines_unmatched"]:
            parts.append(
                f"unmatched {rec['refunds_unmatched']:,.2f} "
                f"({count_noun(rec['return_lines_unmatched'], 'return line')} with nothing "
                "to net against)")
        not_netted = (f"refunds not netted {rec['refunds_not_netted']:,.2f}"
                      + (f" = {' + '.join(parts)}" if parts else " (every return was netted)"))
        refunds = (f"refunds on return lines {rec['refunds']:,.2f} = deducted "
                   f"{rec['refunds_deducted']:,.2f} + not netted "
                   f"{rec['refunds_not_netted']:,.2f}")
        diff = rec["refund_price_difference"]
        if abs(diff) >= 0.005:
            refunds += (f" {'+' if diff > 0 else '-'} {abs(diff):,.2f} (matched units "
                        + ("refunded above the price they were bought at: only that price "
                           "is deducted)" if diff > 0 else
                           "refunded at another price than they were bought at)"))
        return [
            f"returns netted (money in the log's currency): purchases "
            f"{rec['spend_before_netting']:,.2f} - refunds deducted "
            f"{rec['refunds_deducted']:,.2f} = clean spend {rec['clean_spend']:,.2f}",
            refunds,
            not_netted,
        ]

    def to_frame(self) -> pd.DataFrame:
        """One row per rule in application order.

        Returns
        -------
        pandas.DataFrame of shape (n_rules, 4)
            Columns ``rule`` (code), ``description``, ``rows`` (int64) and ``share``
            (rows / rows_in, in [0, 1]).
        """
        n = max(self.rows_in, 1)
        return pd.DataFrame(
            {
                "rule": [r.code for r in self.rules],
                "description": [r.description for r in self.rules],
                "rows": pd.array([r.count for r in self.rules], dtype="int64"),
                "share": [r.count / n for r in self.rules],
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description (dates as ISO strings).

        Returns
        -------
        dict
            Keys ``rows_in``, ``rows_clean``, ``rows_quarantined``, ``rules`` (list of
            ``{"rule", "description", "rows", "share"}``), ``observation_end``, ``preset``,
            ``returns``, ``outliers``, ``n_outliers``, ``netted_revenue``, ``notes``,
            ``zero_priced``, ``netting``, ``refunds_not_netted``, ``refunds``,
            ``refunds_excess``, ``excess_lines``, ``excess_units``,
            ``spend_before_netting``, ``clean_spend``.
        """
        n = max(self.rows_in, 1)
        return {
            "rows_in": int(self.rows_in),
            "rows_clean": int(self.rows_clean),
            "rows_quarantined": int(self.rows_quarantined),
            "rules": [
                {"rule": r.code, "description": r.description, "rows": int(r.count),
                 "share": r.count / n}
                for r in self.rules
            ],
            "observation_end": self.observation_end.isoformat(),
            "preset": self.preset,
            "returns": self.returns,
            "outliers": self.outliers,
            "n_outliers": int(self.n_outliers),
            "netted_revenue": float(self.netted_revenue),
            "notes": list(self.notes),
            "zero_priced": int(self.zero_priced),
            "netting": self.netting,
            "refunds_not_netted": float(self.refunds_not_netted),
            "refunds": float(self.refunds),
            "refunds_excess": float(self.refunds_excess),
            "excess_lines": int(self.excess_lines),
            "excess_units": float(self.excess_units),
            "spend_before_netting": float(self.spend_before_netting),
            "clean_spend": float(self.clean_spend),
        }

    def to_text(self) -> str:
        """A short fixed-width table: one line per rule, then the totals and the notes.

        Returns
        -------
        str
        """
        n = max(self.rows_in, 1)
        width = max([len(r.code) for r in self.rules] + [len("rows_quarantined")])
        lines = [
            f"Data quality: preset {self.preset!r}, returns {self.returns!r}, "
            f"observation end {self.observation_end.isoformat()}",
            f"{'rule':<{width}}  {'rows':>11}  {'share':>7}  description",
        ]
        for r in self.rules:
            lines.append(
                f"{r.code:<{width}}  {r.count:>11,}  {r.count / n:>7.2%}  {r.description}"
            )
        lines.append(f"{'rows_in':<{width}}  {self.rows_in:>11,}")
        lines.append(f"{'rows_clean':<{width}}  {self.rows_clean:>11,}  {self.rows_clean / n:>7.2%}")
        lines.append(
            f"{'rows_quarantined':<{width}}  {self.rows_quarantined:>11,}  "
            f"{self.rows_quarantined / n:>7.2%}"
        )
        lines.extend(self.reconciliation_lines())
        lines.extend(f"- {note}" for note in self.notes)
        return "\n".join(lines)


def _non_product_note(codes: tuple[str, ...], confirm: Mapping[str, str] | None,
                      by: dict[Any, dict[str, Any]]) -> str:
    """The ``non_product`` note: the codes, and with the default codes (``confirm``) the
    descriptions they need and how many clean lines carry a code their description did not
    confirm (kept as sales)."""
    if confirm is None:
        return f"non_product codes: {', '.join(codes)} (ignoring case)"
    words = ", ".join(f"{c} '{confirm[c]}'" for c in codes)
    kept = int(by[None]["kept_codes"] or 0) if None in by else 0
    text = (f"non_product codes (Online Retail's), each only on lines whose description "
            f"contains its word: {words} (ignoring case)")
    if kept:
        text += (f"; {count_noun(kept, 'clean line')} with one of these codes but another "
                 "description (a size, a product line) or none kept as sales: pass "
                 "non_product_codes=[...] to quarantine codes whatever the description")
    return text


def build_report(
    counts: list[dict[str, Any]],
    rules: tuple[Rule, ...],
    obs_end: dt.date | None,
    *,
    preset: str,
    returns: str,
    flag: bool,
    notes: list[str],
    codes: tuple[str, ...],
    confirm: Mapping[str, str] | None = None,
    duplicates_skipped: str | None = None,
    netting: str | None = None,
    require_clean: bool = True,
) -> QualityReport:
    """Turn the GROUP BY rows of ``clean`` into a :class:`QualityReport`.

    ``duplicates_skipped``: ``duplicate_line`` was left out because the log has no order id
    column (``"order_id"``) or no product column (``"product"``); a note says so and why. ``netting``: what returns were matched by (None with
    ``returns="exclude"``).

    Raises
    ------
    InputError
        If the log is empty, every line was quarantined (counts per rule and the fix for
        the main rule), or ``standardized()`` used a ``_parse_error`` code outside the
        contract.
    """
    by = {row["reason"]: row for row in counts}
    n = {k: int(row["n"]) for k, row in by.items()}
    rows_in = sum(n.values())
    clean_row = by.get(None)
    rows_clean = n.get(None, 0)
    if rows_in == 0:
        raise InputError("the log has no lines to clean; check the source file and its mapping")
    if clean_row is not None and int(clean_row["bad"]) > 0:
        raise InputError(
            f"standardized() flagged {count_noun(int(clean_row['bad']), 'line')} with a "
            "_parse_error code outside the contract's list; they cannot be cleaned"
        )
    per_rule = tuple(RuleCount(r.code, r.description, n.get(r.code, 0)) for r in rules)
    if rows_clean == 0 and require_clean:
        ranked = sorted((rc for rc in per_rule if rc.count), key=lambda rc: -rc.count)
        detail = ", ".join(f"{rc.code} {rc.count:,}" for rc in ranked)
        every = "the only row was" if rows_in == 1 else f"all {rows_in:,} rows were"
        raise InputError(
            f"{every} quarantined: {detail}. The main cause is "
            f"{ranked[0].code} ({ranked[0].description}); to fix: {_FIX.get(ranked[0].code, '')}"
        )
    if obs_end is None:  # pragma: no cover - a clean line implies a default end was found
        raise InputError("no observation end could be determined")
    n_out = int(clean_row["n_out"]) if clean_row is not None else 0
    netted = float(sum(float(row["netted"] or 0.0) for row in by.values()))
    if flag and clean_row is not None:
        med, mad = clean_row["med"], clean_row["mad"]
        if mad is None or mad == 0:
            notes.append("is_outlier: none flagged, the clean amounts have a MAD of 0 on the "
                         "log scale (at least half the lines have the same amount)")
        else:
            notes.append(
                f"is_outlier: {n_out:,} of {count_noun(rows_clean, 'clean line')} "
                f"{'has' if n_out == 1 else 'have'} |0.6745 (log amount "
                f"- median) / MAD| > {OUTLIER_Z} (median amount {math.exp(float(med)):,.2f}, "
                f"MAD of log amount {float(mad):.3f}); flagged, not removed"
            )
    if any(r.code == "non_product" for r in rules):
        notes.append(_non_product_note(codes, confirm, by))
    if any(r.code == "duplicate_line" for r in rules):
        notes.append("duplicate_line counts copies after the first of lines equal in every "
                     "original column; copies failing an earlier rule are counted there")
    elif duplicates_skipped == "product":
        notes.append(
            "duplicate_line not applied: the log has no product column, so equal lines of "
            "one order (same customer, time, quantity and price) can be different items "
            "bought together; all are kept. Map a product column (mapping={'product_id': "
            "...}, CLI --map product_id=...) to detect copied lines"
        )
    elif duplicates_skipped:
        notes.append(
            "duplicate_line not applied: the log has no order id column, so equal lines "
            "(same customer, date and values) can be separate purchases on the same day (in "
            "CDNOW customers often buy more than once a day); all are kept. Map an order id "
            "column (mapping={'order_id': ...}, CLI --map order_id=...) to detect copied lines"
        )
    elif preset == "classic":
        notes.append("classic preset: exact duplicates and non-product lines are kept, as "
                     "in the published analyses")
    zero_priced = sum(int(by[k]["zero"] or 0) for k in _PRICE_REASONS if k in by)
    codes_applied = {r.code for r in rules}
    if zero_priced or "nonpositive_price" in codes_applied:
        where = ("quarantined as nonpositive_price (this preset does not count free items as "
                 "purchases)" if "nonpositive_price" in codes_applied else
                 "kept as free purchases (a purchase occasion without spend)")
        notes.append(f"zero-priced lines: {zero_priced:,} {where}")
    money = _money_fields(by)
    if returns == "net":
        notes.append(_netting_note(netting, netted, money["refunds_not_netted"], by))
    return QualityReport(
        rows_in=rows_in, rows_clean=rows_clean, rows_quarantined=rows_in - rows_clean,
        rules=per_rule, observation_end=obs_end, preset=preset, returns=returns,
        outliers="flag" if flag else "off", n_outliers=n_out, netted_revenue=netted,
        notes=tuple(notes), zero_priced=zero_priced, netting=netting,
        **money,
    )


def _money_fields(by: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    """The report's money figures from ``clean``'s GROUP BY rows (``by`` reason): refunds
    not netted, refunds, their excess (money, lines, units), spend before netting (clean
    and fully returned lines) and clean spend."""
    def total(key: str, reasons: Any = None) -> float:
        return float(sum(float(row.get(key) or 0.0) for k, row in by.items()
                         if reasons is None or k in reasons))

    return {"refunds_not_netted": total("left"), "refunds": total("refunds"),
            "refunds_excess": total("excess"), "excess_lines": int(total("n_excess")),
            "excess_units": total("excess_units"),
            "spend_before_netting": total("spend0", (None, "fully_returned")),
            "clean_spend": total("spend", (None,))}


#: Reasons a zero-priced line can end with when it fails no other rule.
_PRICE_REASONS = (None, "nonpositive_price", "fully_returned")


def _netting_note(netting: str | None, netted: float, left: float,
                  by: dict[Any, dict[str, Any]]) -> str:
    """The note saying how returns were netted, how much, and how much was not."""
    if netting == "amount":
        over = sum(int(row["n_left"] or 0) for k, row in by.items()
                   if k is not None and k.startswith("return_netted"))
        unmatched = int(by["return_unmatched"]["n"]) if "return_unmatched" in by else 0
        return (
            f"returns netted by amount (the log has no product column): {netted:,.2f} of "
            "revenue deducted from the order a cancellation names, else from the customer's "
            "purchases of the same day, else from their earlier purchases (most recent "
            f"first), never below zero; {left:,.2f} of refunds not netted "
            f"({count_noun(unmatched, 'unmatched return line')}, "
            f"{count_noun(over, 'return line')} larger than what was left to net against)"
        )
    by_what = ("product name (the log has product names but no product codes)"
               if netting == "product_name" else "product")
    over = sum(int(row.get("n_excess") or 0) for row in by.values())
    unmatched = int(by["return_unmatched"]["n"]) if "return_unmatched" in by else 0
    return (f"returns netted: {netted:,.2f} of revenue deducted from earlier purchases of the "
            f"same {by_what} by the same customer; {left:,.2f} of refunds not netted "
            f"({count_noun(unmatched, 'unmatched return line')}, "
            f"{count_noun(over, 'return line')} beyond the units of the purchase line they "
            "were matched to: the excess is not carried to older purchases)"
            + _price_note(by))


def _price_note(by: dict[Any, dict[str, Any]]) -> str:
    """The netting note's sentence on matched returns refunded at another unit price than
    their purchase's ('' when none): how many, their refunds and the value of their units
    at the purchase's price, and what was deducted."""
    def total(key: str) -> float:
        return float(sum(float(row.get(key) or 0.0) for row in by.values()))

    n_lo, n_hi = int(total("n_price_lo")), int(total("n_price_hi"))
    if not n_lo and not n_hi:
        return ""
    parts = []
    if n_lo:
        parts.append(
            f"{count_noun(n_lo, 'return line')} refunded {total('price_lo_refund'):,.2f} "
            f"for units bought for {total('price_lo_value'):,.2f}: a purchase loses at most "
            f"the refunds netted against it, never the units' full price (a purchase whose "
            f"units all came back for less money stays clean with quantity 0 and the money "
            f"not refunded)")
    if n_hi:
        parts.append(
            f"{count_noun(n_hi, 'return line')} refunded {total('price_hi_refund'):,.2f} "
            f"for units bought for {total('price_hi_value'):,.2f}: only the units' purchase "
            f"price is deducted (the rest is the refund price difference of the "
            f"reconciliation)")
    return (f"; {count_noun(n_lo + n_hi, 'matched return line')} at another unit price than "
            f"their purchase: " + "; ".join(parts))
