"""Personal-data columns are found by name alone and by values alone."""

from __future__ import annotations

import numpy as np
import pytest

from valuemax.privacy import PII_KINDS, VALUE_SHARE, detect_pii, name_kind, value_kind

from ._pii_log import iso7064_mod11_2, luhn_complete


@pytest.mark.parametrize(("name", "kind"), [
    ("email", "email"), ("E-Mail", "email"), ("email_address", "email"), ("邮箱", "email"),
    ("phone", "phone"), ("Mobile", "phone"), ("tel", "phone"), ("手机号", "phone"),
    ("电话", "phone"), ("name", "name"), ("First Name", "name"), ("last_name", "name"),
    ("姓名", "name"), ("客户名称", "name"), ("address", "address"), ("Street", "address"),
    ("地址", "address"), ("住址", "address"), ("National ID", "national_id"),
    ("SSN", "national_id"), ("身份证号", "national_id"), ("bank_account", "bank_card"),
    ("Card Number", "bank_card"), ("IBAN", "bank_card"), ("银行卡号", "bank_card"),
    ("卡号", "bank_card"),
])
def test_personal_data_is_found_by_its_column_name(name, kind):
    assert name_kind(name) == kind
    found = detect_pii({}, names=[name])  # no values at all: by name only
    assert [(c.column, c.kind, c.found_by, c.share) for c in found] == [(name, kind, "name",
                                                                         None)]


@pytest.mark.parametrize("name", ["product_name", "商品名称", "Description", "Country",
                                  "InvoiceNo", "StockCode", "number_of_cds", "customer_index",
                                  "voicemail_count", "channel"])
def test_ordinary_columns_are_not_taken_for_personal_data_by_name(name):
    assert name_kind(name) is None


def _columns():
    rng = np.random.default_rng(3)
    emails = [f"user{i}@shop{i % 3}.example.com" for i in range(40)]
    mobiles = [f"1{rng.integers(3, 10)}{rng.integers(0, 10**9):09d}" for _ in range(40)]
    ids = []
    for _ in range(40):
        first = f"{rng.integers(110000, 660000)}19{rng.integers(50, 100)}0{rng.integers(1, 10)}" \
                f"{rng.integers(10, 29)}{rng.integers(0, 1000):03d}"
        ids.append(first + iso7064_mod11_2(first))
    cards = [luhn_complete(f"5{rng.integers(0, 10**14):014d}") for _ in range(40)]
    return {"c1": emails, "c2": mobiles, "c3": ids, "c4": cards}


def test_personal_data_is_found_by_values_under_neutral_names():
    cols = _columns()
    found = {c.column: c for c in detect_pii(cols)}
    assert {k: found[k].kind for k in found} == {"c1": "email", "c2": "phone",
                                                 "c3": "national_id", "c4": "bank_card"}
    assert all(c.found_by == "values" and c.share == 1.0 and c.n_sampled == 40
               for c in found.values())


def test_the_share_is_matching_values_over_non_empty_values():
    cols = _columns()
    # 30 e-mails, 10 plain words, 5 missing: share 30 / 40 = 0.75 >= 0.5
    mixed = cols["c1"][:30] + ["n/a-text"] * 10 + [None] * 5
    (col,) = detect_pii({"contact": mixed})
    assert (col.kind, col.found_by, col.share, col.n_sampled) == ("email", "values", 0.75, 40)
    # under half: not detected
    few = cols["c1"][:19] + ["word"] * 21
    assert detect_pii({"contact": few}) == []
    assert VALUE_SHARE > 19 / 40


def test_digit_runs_without_a_valid_check_are_not_personal_data():
    rng = np.random.default_rng(5)
    # 16-digit numbers: a tenth pass Luhn by chance, far below the threshold
    numbers = [f"{rng.integers(10**15, 10**16)}" for _ in range(500)]
    luhn_share = np.mean([value_kind(n) == "bank_card" for n in numbers])
    assert 0.05 < luhn_share < 0.15
    # a Chinese id with a wrong check character
    first = "11010519491231002"
    assert value_kind(first + "1") is None and value_kind(first + "X") == "national_id"
    order_ids = [str(536365 + i) for i in range(100)]  # Online Retail invoice numbers
    assert detect_pii({"numbers": numbers, "InvoiceNo": order_ids}) == []


@pytest.mark.parametrize(("value", "kind"), [
    ("+86 13912345678", "phone"), ("(020) 7946-0958", "phone"), ("+1 415 555 0100", "phone"),
    ("123-45-6789", "national_id"), ("4111 1111 1111 1111", "bank_card"),
    ("4111-1111-1111-1111", "bank_card"), ("GB82WEST12345698765432", "bank_card"),
    ("2011-12-09", None), ("17850", None), ("12.50", None), ("WHITE HANGING HEART", None),
])
def test_value_patterns(value, kind):
    assert value_kind(value) == kind


def test_kinds_are_described_in_words():
    assert set(PII_KINDS) == {"email", "phone", "name", "address", "national_id", "bank_card"}
