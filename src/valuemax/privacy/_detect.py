"""Which columns hold personal data: by their name (English and Chinese) and by their values.

Names and street addresses have no value pattern and are found by column name only; e-mail
addresses, phone numbers, national ids and bank/card numbers are found either way. A column
is personal data by its values when at least :data:`VALUE_SHARE` of its non-empty sampled
values match one pattern (a check digit is required where the identifier has one, so random
digit runs do not qualify: 1 in 10 passes Luhn, 1 in 11 the Chinese ID check).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from valuemax._core.schema import normalise_name
from valuemax.privacy._checks import cn_id_valid, iban_valid, luhn_valid

PiiKind = Literal["email", "phone", "name", "address", "national_id", "bank_card"]
#: Kinds of personal data detected, with the words used in messages and the report.
PII_KINDS: dict[str, str] = {
    "email": "e-mail address", "phone": "phone number", "name": "person's name",
    "address": "street address", "national_id": "national id number",
    "bank_card": "bank account or card number",
}
#: Share of a column's sampled non-empty values that must match one pattern.
VALUE_SHARE = 0.5

# -- by name: rules on the name lower-cased without spaces, "_", "-", "." ---------------
_NAME_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"^e?mail(address|addr)?$|邮箱|电子邮件|邮件地址")),
    ("national_id", re.compile(
        r"^(ssn|sin|nino|passport(no|number)?|taxid|nationalid.*|identity(card|number)|"
        r"idcard(no|number)?|socialsecurity.*)$|身份证|证件号|身份号")),
    ("bank_card", re.compile(
        r"iban|bank|creditcard|debitcard|cardnumber|cardno|cardnum|accountnumber|"
        r"^(card|pan|cc|ccnumber)$|银行|卡号")),
    ("phone", re.compile(r"phone|^(tel|mobile|mobil|cell|msisdn|fax)(no|nr|num|number)?$|"
                         r"手机|电话|联系方式")),
    ("address", re.compile(r"address|street|^addr(ess)?(line)?\d*$|地址|住址|街道|门牌")),
    ("name", re.compile(
        r"^(first|last|full|given|family|middle|customer|client|contact|member|person|"
        r"buyer|recipient|receiver|billing|shipping|account|user|card(holder)?|sur|fore)?"
        r"name$|^(surname|forename|cardholder)$|姓名|名字|客户名称|客户名|联系人|收货人|收件人|"
        r"会员名|用户名")),
)

# -- by value ------------------------------------------------------------------------------
_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_CN_MOBILE = re.compile(r"^(?:(?:\+|00)86[ -]?)?1[3-9]\d{9}$")
_PHONE_INTL = re.compile(r"^(?:\+|00)\d[\d ().-]{5,20}\d$")
_PHONE_GROUPS = re.compile(r"^\(?\d{2,5}\)?[ .-]\d{3,4}[ .-]?\d{3,4}$")
_CN_ID = re.compile(r"^\d{17}[\dXx]$")
_SSN = re.compile(r"^\d{3}-\d{2}-\d{4}$")
_CARD = re.compile(r"^\d[\d -]{11,22}\d$")


def name_kind(name: str) -> str | None:
    """The kind of personal data a column's name announces, or None.

    Parameters
    ----------
    name : str
        A column name, English or Chinese (case, spaces, ``_``, ``-`` and ``.`` ignored).

    Returns
    -------
    str or None
        A key of :data:`PII_KINDS`.

    Examples
    --------
    >>> [name_kind(n) for n in ("E-Mail", "手机号", "Last Name", "收货地址", "product_name")]
    ['email', 'phone', 'name', 'address', None]
    """
    key = normalise_name(str(name))
    # "email" as a word of its own ("voicemail" is not one): camelCase and separators split
    words = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(name)).lower()
    if re.search(r"(^|[^a-z])e[-_ ]?mail", words):
        return "email"
    for kind, rule in _NAME_RULES:
        if rule.search(key):
            return kind
    return None


def value_kind(value: object) -> str | None:
    """The kind of personal data one value looks like, or None.

    E-mail addresses; IBANs (mod-97 check); Chinese resident ids (17 digits and a valid
    check character); US social security numbers written ``123-45-6789``; card numbers
    (13-19 digits, spaces or dashes allowed, passing Luhn); phone numbers (a Chinese mobile
    ``1[3-9]`` + 9 digits, optionally ``+86``; an international ``+``/``00`` number; or
    digit groups separated by spaces, dots or dashes, 7-15 digits in all).

    Examples
    --------
    >>> [value_kind(v) for v in ("a.b@example.com", "13812345678", "4111 1111 1111 1111",
    ...                          "11010519491231002X", "17850", None)]
    ['email', 'phone', 'bank_card', 'national_id', None, None]
    """
    if value is None:
        return None
    s = str(value).strip()
    if not s or len(s) > 254:
        return None
    if "@" in s:
        return "email" if _EMAIL.match(s) else None
    if s[:2].isalpha() and iban_valid(s):
        return "bank_card"
    if _CN_ID.match(s) and cn_id_valid(s):
        return "national_id"
    if _SSN.match(s):
        return "national_id"
    if _CARD.match(s):
        digits = re.sub(r"[ -]", "", s)
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return "bank_card"
    if _CN_MOBILE.match(s):
        return "phone"
    if _PHONE_INTL.match(s) or _PHONE_GROUPS.match(s):
        n = sum(ch.isdigit() for ch in s)
        if 7 <= n <= 15:
            return "phone"
    return None


@dataclass(frozen=True)
class PiiColumn:
    """A column found to hold personal data, and what was done with it.

    Attributes
    ----------
    column : str
        The column's name in the source.
    kind : str
        A key of :data:`PII_KINDS`.
    found_by : {"name", "values", "name and values"}
        How it was detected.
    share : float or None
        Share of the sampled non-empty values matching ``kind``'s pattern (None when the
        values were not sampled or none matched).
    n_sampled : int
        Non-empty values sampled.
    action : str
        ``"dropped"``, ``"kept (keep_pii)"``, ``"customer id: pseudonymised"`` or
        ``"customer id: kept as the key"``.
    """

    column: str
    kind: str
    found_by: str
    share: float | None
    n_sampled: int
    action: str = "dropped"

    def to_dict(self) -> dict[str, object]:
        """A JSON-able record (summary.json ``privacy.pii_columns``)."""
        return {"column": self.column, "kind": self.kind, "what": PII_KINDS[self.kind],
                "found_by": self.found_by,
                "share_matching": None if self.share is None else round(self.share, 4),
                "n_sampled": self.n_sampled, "action": self.action}


def _share(values: Iterable[object]) -> tuple[str | None, float | None, int]:
    kinds: dict[str, int] = {}
    n = 0
    for v in values:
        if v is None or not str(v).strip():
            continue
        n += 1
        k = value_kind(v)
        if k is not None:
            kinds[k] = kinds.get(k, 0) + 1
    if not kinds:
        return None, None, n
    best = max(sorted(kinds), key=kinds.__getitem__)
    return best, kinds[best] / n, n


def detect_pii(samples: Mapping[str, Iterable[object]], *, names: Iterable[str] = (),
               min_share: float = VALUE_SHARE) -> list[PiiColumn]:
    """Columns that hold personal data, found by name and by a sample of values.

    Parameters
    ----------
    samples : mapping of str to iterable
        Column name -> sampled values of that column (text or integers; None = missing).
    names : iterable of str
        Further columns to judge by name only (values not sampled, e.g. dates).
    min_share : float, default VALUE_SHARE
        Share of non-empty sampled values that must match one pattern, in (0, 1].

    Returns
    -------
    list of PiiColumn
        In the order given (``samples`` first), ``action="dropped"``.

    Raises
    ------
    ValueError
        If ``min_share`` is not in (0, 1].

    Examples
    --------
    >>> found = detect_pii({"contact": ["a@x.org", "b@y.com", None], "Country": ["UK", "FR"]},
    ...                    names=["姓名"])
    >>> [(c.column, c.kind, c.found_by, c.share) for c in found]
    [('contact', 'email', 'values', 1.0), ('姓名', 'name', 'name', None)]
    """
    if not 0 < min_share <= 1:
        raise ValueError(f"min_share={min_share!r} must be in (0, 1]")
    out: list[PiiColumn] = []
    seen: set[str] = set()
    for column, values in samples.items():
        seen.add(column)
        by_name = name_kind(column)
        kind, share, n = _share(values)
        by_values = kind if share is not None and share >= min_share else None
        if by_name is None and by_values is None:
            continue
        found_by = ("name and values" if by_name and by_values else
                    "name" if by_name else "values")
        chosen = by_name or by_values
        out.append(PiiColumn(column, chosen, found_by,
                             share if kind == chosen else None, n))
    for column in names:
        if column in seen:
            continue
        by_name = name_kind(column)
        if by_name is not None:
            out.append(PiiColumn(column, by_name, "name", None, 0))
    return out
