"""Which columns hold personal data: by their name (English and Chinese) and by their values.

Names, street addresses, messaging accounts (WeChat, QQ), birth dates and free-text remarks
have no reliable value pattern and are found by column name only; e-mail addresses, phone
numbers, national ids, bank/card numbers and IP addresses are found either way. A column is
personal data by its values when at least :data:`VALUE_SHARE` of its non-empty sampled
values match one pattern (a check digit is required where the identifier has one, so random
digit runs do not qualify: 1 in 10 passes Luhn, 1 in 11 the Chinese ID check).

Free text is judged more strictly: a text column is personal data as soon as ONE sampled
value holds, inside other text, an e-mail address, a Chinese mobile number, an international
``+``/``00`` phone number or a Chinese id with a valid check character
(:func:`embedded_kind`), e.g. a remark ``请联系13812345678`` on a single line; a value that
is only the number itself counts towards the share above, not here, so code-like columns
(order ids, digit runs) are not caught by chance.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from valuemax._core.schema import normalise_name
from valuemax.privacy._checks import cn_id_valid, iban_valid, luhn_valid

PiiKind = Literal["email", "phone", "name", "address", "national_id", "bank_card",
                  "messaging_id", "birth_date", "ip_address", "free_text"]
#: Kinds of personal data detected, with the words used in messages and the report.
PII_KINDS: dict[str, str] = {
    "email": "e-mail address", "phone": "phone number", "name": "person's name",
    "address": "street address", "national_id": "national id or passport number",
    "bank_card": "bank account or card number",
    "messaging_id": "messaging account (WeChat, QQ, ...)", "birth_date": "date of birth",
    "ip_address": "IP address",
    "free_text": "free-text remarks (may hold contact details)",
}
#: Share of a column's sampled non-empty values that must match one pattern.
VALUE_SHARE = 0.5

# -- by name: rules on the name lower-cased without spaces, "_", "-", "." ---------------
_NAME_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"^e?mail(address|addr)?$|邮箱|电子邮件|邮件地址")),
    ("ip_address", re.compile(
        r"^(ip|ipv4|ipv6|ipaddr|ipaddress|clientip|remoteip|userip|customerip|sourceip|"
        r"client(ip)?address|remoteaddr(ess)?)$|ip地址")),
    ("national_id", re.compile(
        r"^(ssn|sin|nino|passport(no|nr|num|number|id)?|taxid|nationalid.*|"
        r"identity(card|number|no)|idcard(no|number)?|socialsecurity.*)$|身份证|证件号|身份号|"
        r"护照")),
    ("messaging_id", re.compile(
        r"wechat|weixin|^wx(id|no|account|号)?$|^qq(id|no|num|number|account|号|号码)?$|"
        r"whatsapp|telegram|skype|^line(id)?$|^kakao|微信|^qq|旺旺|钉钉")),
    ("birth_date", re.compile(
        r"birthday|birthdate|dateofbirth|^(dob|born|bday|birth)$|^birth(day|date)?|"
        r"生日|出生")),
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
    ("free_text", re.compile(
        r"^(remarks?|notes?|comments?|memo|message|instructions?|delivery(note|notes|"
        r"instructions?)|order(note|notes|comment|comments|remark|remarks)|customer(note|"
        r"notes|comment|comments|remark|remarks|message)|buyer(note|notes|message|remark)|"
        r"specialinstructions?)$|备注|留言|附言|买家留言|客户留言|评论")),
)

# -- by value ------------------------------------------------------------------------------
_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_CN_MOBILE = re.compile(r"^(?:(?:\+|00)86[ -]?)?1[3-9]\d{9}$")
_PHONE_INTL = re.compile(r"^(?:\+|00)\d[\d ().-]{5,20}\d$")
_PHONE_GROUPS = re.compile(r"^\(?\d{2,5}\)?[ .-]\d{3,4}[ .-]?\d{3,4}$")
_CN_ID = re.compile(r"^\d{17}[\dXx]$")
_SSN = re.compile(r"^\d{3}-\d{2}-\d{4}$")
_CARD = re.compile(r"^\d[\d -]{11,22}\d$")
_IPV4 = re.compile(r"^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}"
                   r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$")
_IPV6 = re.compile(r"^(?=.*:.*:)[0-9A-Fa-f:.]{2,45}$")
# -- inside free text: bounded so that longer digit runs do not match ----------------------
_IN_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_IN_CN_MOBILE = re.compile(r"(?<![\d+])(?:(?:\+|00)86[ -]?)?1[3-9]\d{9}(?!\d)")
_IN_PHONE_INTL = re.compile(r"(?<![\d+])(?:\+|00)\d[\d ().-]{5,20}\d(?!\d)")
_IN_CN_ID = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")


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
    if _IPV4.match(s) or (_IPV6.match(s) and _is_ip(s)):
        return "ip_address"
    return None


def _is_ip(s: str) -> bool:
    try:
        ipaddress.ip_address(s)
    except ValueError:
        return False
    return True


def embedded_kind(value: object) -> str | None:
    """The kind of personal data found INSIDE a longer text value, or None.

    Looks for an e-mail address, a Chinese mobile number (``1[3-9]`` + 9 digits, optionally
    ``+86``), an international ``+``/``00`` phone number (7-15 digits) or a Chinese resident
    id with a valid check character, each not part of a longer digit run. A value that is
    nothing but the match (``"13812345678"``) is not free text and gives None here (it is
    judged by :func:`value_kind` and the share threshold instead).

    Examples
    --------
    >>> [embedded_kind(v) for v in ("请联系13812345678", "mail me: a.b@example.com",
    ...                             "call +44 20 7946 0958 after 6", "13812345678",
    ...                             "order 138123456789012", "Pack of 12", None)]
    ['phone', 'email', 'phone', None, None, None, None]
    """
    if value is None:
        return None
    s = str(value).strip()
    if not s or len(s) > 10_000:
        return None
    for kind, pattern in (("email", _IN_EMAIL), ("national_id", _IN_CN_ID),
                          ("phone", _IN_CN_MOBILE), ("phone", _IN_PHONE_INTL)):
        for m in pattern.finditer(s):
            if m.group(0).strip() == s:
                continue  # the whole value: not free text
            text = m.group(0)
            if kind == "national_id" and not cn_id_valid(text):
                continue
            if kind == "phone" and not 7 <= sum(ch.isdigit() for ch in text) <= 15:
                continue
            return kind
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
    found_by : {"name", "values", "name and values", "values inside text", \
"name and values inside text"}
        How it was detected ("inside text": at least one sampled value holds a phone
        number, e-mail address or id inside longer text, :func:`embedded_kind`).
    share : float or None
        Share of the sampled non-empty values matching ``kind``'s pattern, or holding it
        inside text (None when the values were not sampled or none matched).
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


@dataclass(frozen=True)
class _Shares:
    kind: str | None      # the commonest whole-value kind
    share: float | None   # its share of the non-empty values
    n: int                # non-empty values
    in_text: str | None   # the commonest kind found inside free text
    in_text_share: float | None


def _best(kinds: dict[str, int], n: int) -> tuple[str | None, float | None]:
    if not kinds:
        return None, None
    best = max(sorted(kinds), key=kinds.__getitem__)
    return best, kinds[best] / n


def _share(values: Iterable[object]) -> _Shares:
    kinds: dict[str, int] = {}
    inside: dict[str, int] = {}
    n = 0
    for v in values:
        if v is None or not str(v).strip():
            continue
        n += 1
        k = value_kind(v)
        if k is not None:
            kinds[k] = kinds.get(k, 0) + 1
            continue
        e = embedded_kind(v)
        if e is not None:
            inside[e] = inside.get(e, 0) + 1
    return _Shares(*_best(kinds, n), n, *_best(inside, n))


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
        Share of non-empty sampled values that must match one pattern, in (0, 1]. A single
        value holding personal data inside free text (:func:`embedded_kind`) is enough on
        its own, whatever this share.

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
        sh = _share(values)
        by_values = sh.kind if sh.share is not None and sh.share >= min_share else None
        # free text: one value holding a phone, e-mail or id inside other text is enough
        by_text = sh.in_text if by_values is None else None
        if by_name is None and by_values is None and by_text is None:
            continue
        if by_values is not None or by_text is None:
            found_by = ("name and values" if by_name and by_values else
                        "name" if by_name else "values")
            chosen = by_name or by_values
            share = sh.share if sh.kind == chosen else None
        else:
            found_by = "name and values inside text" if by_name else "values inside text"
            chosen = by_name or by_text
            share = sh.in_text_share if by_name is None else None
        out.append(PiiColumn(column, str(chosen), found_by, share, sh.n))
    for column in names:
        if column in seen:
            continue
        by_name = name_kind(column)
        if by_name is not None:
            out.append(PiiColumn(column, by_name, "name", None, 0))
    return out
