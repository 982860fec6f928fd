"""Check digits that tell a real identifier from a run of digits: Luhn, Chinese ID, IBAN."""

from __future__ import annotations

#: Weights of the 17 digits of a Chinese resident identity number (GB 11643-1999).
CN_ID_WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
#: Check character by the weighted sum modulo 11 (GB 11643-1999, ISO 7064 MOD 11-2).
CN_ID_CHECK = "10X98765432"


def luhn_valid(digits: str) -> bool:
    """Whether a digit string passes the Luhn (mod 10) check of payment card numbers.

    Parameters
    ----------
    digits : str
        Only the digits (no spaces or dashes).

    Returns
    -------
    bool
        False also for an empty or non-digit string.

    References
    ----------
    .. [1] ISO/IEC 7812-1:2017, Annex B (the Luhn formula).

    Examples
    --------
    >>> luhn_valid("4111111111111111"), luhn_valid("4111111111111112")
    (True, False)
    """
    if not digits or not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def cn_id_check_char(first17: str) -> str:
    """The check character of a Chinese resident identity number from its first 17 digits.

    Parameters
    ----------
    first17 : str
        The 17 digits (region, birth date, sequence).

    Returns
    -------
    str
        One of ``0-9`` or ``X``.

    Raises
    ------
    ValueError
        If ``first17`` is not 17 ASCII digits.

    References
    ----------
    .. [1] GB 11643-1999, Citizen identification number (ISO 7064 MOD 11-2).

    Examples
    --------
    >>> cn_id_check_char("11010519491231002")
    'X'
    """
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError(f"expected 17 digits, got {len(first17)} characters")
    total = sum(int(c) * w for c, w in zip(first17, CN_ID_WEIGHTS, strict=True))
    return CN_ID_CHECK[total % 11]


def cn_id_valid(text: str) -> bool:
    """Whether ``text`` is 17 digits plus the right check character (``X`` in any case).

    Examples
    --------
    >>> cn_id_valid("11010519491231002X"), cn_id_valid("110105194912310021")
    (True, False)
    """
    if len(text) != 18 or not text[:17].isascii() or not text[:17].isdigit():
        return False
    return cn_id_check_char(text[:17]) == text[17].upper()


def iban_valid(text: str) -> bool:
    """Whether ``text`` (spaces allowed) is an IBAN with a valid mod-97 check (ISO 13616).

    Examples
    --------
    >>> iban_valid("GB82 WEST 1234 5698 7654 32"), iban_valid("GB82 WEST 1234 5698 7654 33")
    (True, False)
    """
    s = text.replace(" ", "").upper()
    if not (15 <= len(s) <= 34 and s.isascii() and s.isalnum() and s[:2].isalpha()
            and s[2:4].isdigit()):
        return False
    moved = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1
