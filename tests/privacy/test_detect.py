"""Personal-data columns are found by name alone and by values alone."""

from __future__ import annotations

import numpy as np
import pytest

from valuemax.privacy import PII_KINDS, VALUE_SHARE, detect_pii, name_kind, value_kind
from valuemax.privacy._detect import embedded_kind

from ._pii_log import iso7064_mod11_2, luhn_complete


@pytest.mark.parametrize(("name", "kind"), [
    ("email", "email"), ("E-Mail", "email"), ("email_address", "email"), ("邮箱", "email"),
    ("phone", "phone"), ("Mobile", "phone"), ("tel", "phone"), ("手机号", "phone"),
    ("电话", "phone"), ("name", "name"), ("First Name", "name"), ("last_name", "name"),
    ("姓名", "name"), ("客户名称", "name"), ("address", "address"), ("Street", "address"),
    ("地址", "address"), ("住址", "address"), ("National ID", "national_id"),
    ("SSN", "national_id"), ("身份证号", "national_id"), ("bank_account", "bank_card"),
    ("Card Number", "bank_card"), ("IBAN", "bank_card"), ("银行卡号", "bank_card"),
    ("卡号", "bank_card"), ("微信号", "messaging_id"), ("WeChat ID", "messaging_id"),
    ("QQ", "messaging_id"), ("QQ号码", "messaging_id"), ("生日", "birth_date"),
    ("出生日期", "birth_date"), ("Date of Birth", "birth_date"), ("DOB", "birth_date"),
    ("birthday", "birth_date"), ("身份证", "national_id"), ("passport", "national_id"),
    ("Passport No", "national_id"), ("护照号码", "national_id"), ("备注", "free_text"),
    ("买家留言", "free_text"), ("Remarks", "free_text"), ("notes", "free_text"),
    ("order_comment", "free_text"), ("ip_address", "ip_address"), ("IP", "ip_address"),
    ("IP地址", "ip_address"), ("shipping_address", "address"),
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
    assert set(PII_KINDS) == {"email", "phone", "name", "address", "national_id", "bank_card",
                              "messaging_id", "birth_date", "ip_address", "free_text"}


@pytest.mark.parametrize(("value", "kind"), [
    ("192.168.1.20", "ip_address"), ("2001:db8::1", "ip_address"), ("12:30:00", None),
    ("256.1.1.1", None), ("1.2.3", None),
])
def test_ip_addresses_are_their_own_kind(value, kind):
    assert value_kind(value) == kind


@pytest.mark.parametrize(("value", "kind"), [
    ("请联系13812345678", "phone"), ("call me on +44 20 7946 0958 after six", "phone"),
    ("发票寄到 a.b@example.com 谢谢", "email"), ("身份证11010519491231002X登记", "national_id"),
    ("身份证110105194912310021登记", None),  # wrong check character
    ("13812345678", None),  # the whole value: judged by the share, not as free text
    ("order 138123456789012", None), ("Pack of 12 +13 more", None), ("WHITE MUG", None),
])
def test_personal_data_inside_free_text(value, kind):
    assert embedded_kind(value) == kind


def test_one_remark_with_a_phone_number_is_enough_whatever_the_share():
    # 1 value in 200 holds a mobile inside text: far below VALUE_SHARE, still found
    notes = ["请联系13812345678"] + ["送货上门"] * 199
    (col,) = detect_pii({"memo_x": notes})
    assert (col.column, col.kind, col.found_by, col.share, col.n_sampled) == (
        "memo_x", "phone", "values inside text", 1 / 200, 200)
    (named,) = detect_pii({"备注": notes})
    assert (named.kind, named.found_by) == ("free_text", "name and values inside text")
    # a code column where a few whole values look like mobiles stays under the share rule
    codes = ["13812345678"] + [f"A{i:05d}" for i in range(199)]
    assert detect_pii({"ref": codes}) == []


def test_the_breakers_contact_columns_are_all_found():
    # the columns of the breaker's log (base.csv plus contact columns), one sampled row each
    # kind, with the remark holding a phone number on a third of the lines
    cols = {"微信号": ["wxid_abc123"] * 3, "QQ": ["12345678"] * 3, "生日": ["1990-01-01"] * 3,
            "ip_address": ["192.168.1.20"] * 3, "备注": ["请联系13812345678", None, None],
            "contact": ["+44 20 7946 0958"] * 3, "Country": ["DE"] * 3}
    kinds = {c.column: c.kind for c in detect_pii(cols)}
    assert kinds == {"微信号": "messaging_id", "QQ": "messaging_id", "生日": "birth_date",
                     "ip_address": "ip_address", "备注": "free_text", "contact": "phone"}
