"""Check digits: Luhn, the Chinese resident id and IBAN, against published and independently
computed values."""

from __future__ import annotations

import numpy as np
import pytest

from valuemax.privacy import cn_id_check_char, cn_id_valid, iban_valid, luhn_valid

from ._pii_log import iso7064_mod11_2, luhn_complete


@pytest.mark.parametrize("number", [
    # published test card numbers (Visa, MasterCard, American Express, Discover)
    "4111111111111111", "5555555555554444", "378282246310005", "6011111111111117",
])
def test_published_test_card_numbers_pass_luhn_and_a_changed_digit_fails(number):
    assert luhn_valid(number)
    changed = number[:-1] + str((int(number[-1]) + 1) % 10)
    assert not luhn_valid(changed)


def test_luhn_agrees_with_the_digit_sum_formulation_on_random_numbers():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        n = int(rng.integers(13, 20))
        digits = "".join(map(str, rng.integers(0, 10, n)))
        doubled = "".join(str(int(c) * (2 if i % 2 else 1))
                          for i, c in enumerate(reversed(digits)))
        assert luhn_valid(digits) == (sum(map(int, doubled)) % 10 == 0)
    # exactly one of the ten last digits completes a prefix
    assert sum(luhn_valid("400012345670000" + d) for d in "0123456789") == 1
    assert luhn_valid(luhn_complete("400012345670000"))


def test_chinese_id_check_character_matches_the_standard_example_and_iso7064():
    # GB 11643-1999's example number
    assert cn_id_check_char("11010519491231002") == "X"
    assert cn_id_valid("11010519491231002X") and cn_id_valid("11010519491231002x")
    assert not cn_id_valid("110105194912310021")
    rng = np.random.default_rng(1)
    for _ in range(2000):
        first = "".join(map(str, rng.integers(0, 10, 17)))
        # ISO 7064 MOD 11-2 by its recursive definition (not the weighted sum)
        assert cn_id_check_char(first) == iso7064_mod11_2(first)
    with pytest.raises(ValueError, match="17 digits"):
        cn_id_check_char("1234")


@pytest.mark.parametrize("iban", ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000",
                                  "FR1420041010050500013M02606"])
def test_published_ibans_pass_mod97_and_a_changed_digit_fails(iban):
    assert iban_valid(iban)
    compact = iban.replace(" ", "")
    changed = compact[:-1] + str((int(compact[-1]) + 1) % 10)
    assert not iban_valid(changed)
