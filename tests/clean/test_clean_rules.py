"""Rules on a hand-built log: one example of every rule, reasons worked out by hand."""

from __future__ import annotations

import datetime as dt
import json

import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pytest

import valuemax.clean
from valuemax.clean import PRESETS, RULE_ORDER, clean
from valuemax.exceptions import InputError

D = "2024-01-{:02d} 10:00:00"

# InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country
ROWS = [
    ("1001", "85123A", "HEART", "6", D.format(2), "2.55", "17850.0", "UK"),  # 1 clean
    ("1001", "71053", "LANTERN", "6", D.format(2), "3.39", "17850.0", "UK"),  # 2 clean
    ("1002", "85123A", "HEART", "2", D.format(3), "2.55", "", "UK"),  # 3 no customer
    ("1003", "22423", "CAKESTAND", "1", "", "12.75", "13047.0", "UK"),  # 4 no date
    ("1003", "22423", "CAKESTAND", "1", "03/01/2024", "12.75", "13047.0", "UK"),  # 5 bad date
    ("1004", "22423", "CAKESTAND", "", D.format(3), "12.75", "13047.0", "UK"),  # 6 no qty
    ("1004", "22423", "CAKESTAND", "two", D.format(3), "12.75", "13047.0", "UK"),  # 7 bad qty
    # 8: a cancellation on the log's last day: it sets the default observation end, and is
    # a cancellation (after_observation_end only with an explicit, earlier end)
    ("C1005", "85123A", "HEART", "-1", D.format(8), "2.55", "17850.0", "UK"),
    ("1001", "85123A", "HEART", "6", D.format(2), "2.55", "17850.0", "UK"),  # 9 copy of 1
    ("1006", "POST", "POSTAGE", "1", D.format(4), "18.00", "12583.0", "France"),  # 10
    ("C1007", "71053", "LANTERN", "-2", D.format(5), "3.39", "17850.0", "UK"),  # 11 cancel
    ("1008", "71053", "LANTERN", "-3", D.format(5), "3.39", "17850.0", "UK"),  # 12 return
    ("1009", "22111", "BOTTLE", "0", D.format(6), "4.25", "12583.0", "France"),  # 13 qty 0
    ("1009", "22112", "FREEBIE", "4", D.format(6), "0", "12583.0", "France"),  # 14 price 0
    ("1010", "22113", "TEACUP", "3", D.format(7), "1.25", "12583.0", "France"),  # 15 clean
    # 16: no customer and a typo date in 2029: must not move the observation end
    ("1011", "22114", "TYPO", "1", "2029-01-01 10:00:00", "5.00", None, "UK"),
    ("C1012", "gift_0001_20", "VOUCHER", "-1", D.format(5), "20", "12583.0", "France"),  # 17
    ("1002", "85123A", "HEART", "2", D.format(3), "2.55", "", "UK"),  # 18 copy of 3
    ("1014", "m", "Manual", "1", D.format(4), "5", "12583.0", "France"),  # 19 lower-case M
    # 20: a year typo (2201): implausible_date, and cannot move the observation end
    ("1015", "22115", "TYPO", "1", "2201-01-04 10:00:00", "5.00", "12583.0", "France"),
    # 21, 22: an exponent typed into the price, a barcode read as the quantity: amounts of
    # 1e300 and -2e16 are implausible in every preset (before the return rules)
    ("1016", "22116", "TYPO", "1", D.format(4), "1e300", "12583.0", "France"),
    ("1017", "22117", "TYPO", "-5012345678901234", D.format(4), "4", "12583.0", "France"),
]

# Expected reasons, by hand (first failed rule in the standard order). Row 14 (price 0) is a
# free purchase: kept by standard, quarantined by classic (unit price > 0).
STANDARD = {
    1: None, 2: None, 3: "missing_customer_id", 4: "missing_date", 5: "unparseable_date",
    6: "missing_amount", 7: "unparseable_amount", 8: "cancellation",
    9: "duplicate_line", 10: "non_product", 11: "cancellation", 12: "return",
    13: "nonpositive_quantity", 14: None, 15: None, 16: "missing_customer_id",
    17: "non_product", 18: "missing_customer_id", 19: "non_product", 20: "implausible_date",
    21: "implausible_amount", 22: "implausible_amount",
}
# classic: no date cut, duplicates and non-product lines kept
CLASSIC = {**STANDARD, 9: None, 10: None, 14: "nonpositive_price", 17: "cancellation",
           19: None}


def fetch(expr) -> pd.DataFrame:
    """Run ``expr`` through Arrow (ibis 12's own pandas conversion warns under pandas 3)."""
    return expr.to_pyarrow().to_pandas()


def reasons(result) -> dict[int, str | None]:
    q = fetch(result.quarantine)
    got = {int(r): str(c) for r, c in zip(q["_row_id"], q["reason"], strict=True)}
    ids = fetch(result.transactions)["_row_id"]
    got.update({int(r): None for r in ids})
    return dict(sorted(got.items()))


@pytest.fixture
def small(log_factory):
    return log_factory(ROWS)


def test_public_names():
    assert sorted(valuemax.clean.__all__) == sorted([
        "DEFAULT_NON_PRODUCT_CODES", "DEFAULT_NON_PRODUCT_WORDS", "PRESETS", "RULE_ORDER", "CleanResult", "Preset",
        "QualityReport", "RuleCount", "clean",
    ])


def test_standard_reason_per_line(small):
    res = clean(small)
    assert reasons(res) == STANDARD
    # the default end is the log's last transaction date: the cancellation on 8 Jan counts;
    # the 2029 line (no customer) and the 2201 line (implausible) cannot move it
    assert res.observation_end == dt.date(2024, 1, 8)
    assert res.report.observation_end == dt.date(2024, 1, 8)
    assert res.report["after_observation_end"] == 0
    assert isinstance(res.transactions, ir.Table) and isinstance(res.quarantine, ir.Table)


def test_classic_and_none_presets(small):
    assert reasons(clean(small, preset="classic")) == CLASSIC
    res = clean(small, preset="none")
    parse = {k: v for k, v in STANDARD.items() if k in (3, 4, 5, 6, 7, 16, 18, 20, 21, 22)}
    assert reasons(res) == {k: parse.get(k) for k in STANDARD}
    assert [r.code for r in res.report.rules][-2:] == ["implausible_date", "implausible_amount"]
    # the same default end in every preset: the log's last transaction date
    assert res.observation_end == dt.date(2024, 1, 8)


def test_report_counts_every_rule_in_order(small):
    rep = clean(small).report
    assert [r.code for r in rep.rules] == list(PRESETS["standard"].rules)
    assert [r.code for r in rep.rules] == [c for c in RULE_ORDER if c in PRESETS["standard"].rules]
    expected = pd.Series([v for v in STANDARD.values() if v]).value_counts()
    for r in rep.rules:
        assert r.count == expected.get(r.code, 0), r.code
        assert r.description and "\n" not in r.description
    assert rep.rows_in == len(ROWS) == rep.rows_clean + rep.rows_quarantined
    assert rep.rows_clean == 4
    assert sum(r.count for r in rep.rules) == rep.rows_quarantined == 18
    frame = rep.to_frame()
    assert list(frame.columns) == ["rule", "description", "rows", "share"]
    assert frame["rows"].sum() == 18
    assert frame.set_index("rule").loc["non_product", "share"] == pytest.approx(3 / 22)
    d = json.loads(json.dumps(rep.to_dict()))
    assert d["observation_end"] == "2024-01-08"
    assert d["rows_in"] == 22 and len(d["rules"]) == len(rep.rules)
    text = rep.to_text()
    assert "duplicate_line" in text and "rows_quarantined" in text


def test_first_failed_rule_wins(log_factory):
    rows = [
        ("1", "A", "x", "1", D.format(1), "1", "1", "UK"),  # keeps the default end
        # no customer AND cancelled AND negative: the parse error comes first
        ("C2", "A", "x", "-1", D.format(1), "1", "", "UK"),
        # cancelled AND negative quantity AND zero price: cancellation first
        ("C3", "A", "x", "-1", D.format(1), "0", "1", "UK"),
        # non-product AND zero price: non_product first
        ("4", "POST", "POSTAGE", "1", D.format(1), "0", "1", "UK"),
        # zero quantity AND zero price: nonpositive_quantity first
        ("5", "A", "x", "0", D.format(1), "0", "1", "UK"),
    ]
    got = reasons(clean(log_factory(rows)))
    assert got == {1: None, 2: "missing_customer_id", 3: "cancellation", 4: "non_product",
                   5: "nonpositive_quantity"}


def test_quarantine_keeps_original_values(small):
    q = fetch(clean(small).quarantine).set_index("_row_id")
    raw = pd.DataFrame(ROWS, columns=q.columns.drop("reason")).set_axis(
        range(1, len(ROWS) + 1))
    assert list(q.columns) == [*raw.columns, "reason"]
    for rid in q.index:
        assert q.loc[rid].drop("reason").fillna("<NA>").tolist() == pd.Series(
            raw.loc[rid]).fillna("<NA>").tolist()
    # values as written, not as parsed
    assert q.loc[5, "InvoiceDate"] == "03/01/2024"
    assert q.loc[7, "Quantity"] == "two"
    assert q.loc[11, "CustomerID"] == "17850.0"


def test_duplicates_keep_first_copy(log_factory):
    line = ("1", "A", "x", "2", D.format(1), "1.5", "7", "UK")
    other_country = ("1", "A", "x", "2", D.format(1), "1.5", "7", "FR")
    with_null = ("2", "Z", None, "1", D.format(1), "3", "7", "UK")
    rows = [line, line, other_country, line, with_null, with_null]
    res = clean(log_factory(rows))
    assert reasons(res) == {1: None, 2: "duplicate_line", 3: None, 4: "duplicate_line",
                            5: None, 6: "duplicate_line"}
    assert res.report["duplicate_line"] == 3


def test_observation_end_given(small):
    res = clean(small, observation_end="2024-01-04")
    got = reasons(res)
    # lines dated after 4 Jan that pass the parse checks (16 has no customer id) and have a
    # plausible date (20 is dated 2201)
    after = {8, 11, 12, 13, 14, 15, 17}
    assert {k for k, v in got.items() if v == "after_observation_end"} == after
    assert res.report["after_observation_end"] == len(after) == 7
    assert res.observation_end == dt.date(2024, 1, 4)
    for same in (dt.date(2024, 1, 4), dt.datetime(2024, 1, 4, 0, 0), pd.Timestamp("2024-01-04")):
        assert clean(small, observation_end=same).report == res.report
    # classic has no date rule, but a given end adds it
    classic = clean(small, preset="classic", observation_end="2024-01-04")
    assert classic.report["after_observation_end"] == 7


@pytest.mark.parametrize("bad", ["2024-13-01", "01/02/2024", "20240104", "yesterday", 20240104])
def test_bad_observation_end(small, bad):
    with pytest.raises(InputError, match="observation_end"):
        clean(small, observation_end=bad)


def test_timezone_aware_observation_end_is_refused(small):
    with pytest.raises(InputError, match="time zone"):
        clean(small, observation_end=dt.datetime(2024, 1, 4, tzinfo=dt.UTC))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"preset": "strict"}, "preset='strict' is not a valid option; choose one of 'standard', "
                               "'classic', 'none'"),
        ({"returns": "drop"}, "returns='drop' .*'exclude', 'net'"),
        ({"outliers": "remove"}, "outliers='remove' .*'flag', 'off'"),
        ({"cancel_prefix": ""}, "cancel_prefix"),
        ({"non_product_codes": "POST"}, "single string"),
        ({"non_product_codes": ["POST", 3]}, r"holds 1 invalid entry \(\[3\]\)"),
        ({"non_product_codes": ["", "*"]}, r"holds 2 invalid entries \(\['', '\*'\]\)"),
        ({"preset": "none", "returns": "net"}, "returns='net' needs a preset"),
    ],
)
def test_bad_options(small, kwargs, match):
    with pytest.raises(InputError, match=match):
        clean(small, **kwargs)


def test_all_rows_invalid(log_factory):
    rows = [("1", "A", "x", "1", D.format(1), "1", "", "UK")] * 3 + [
        ("C2", "A", "x", "-1", D.format(1), "1", "5", "UK")
    ]
    with pytest.raises(InputError, match=r"all 4 rows were quarantined: missing_customer_id "
                                         r"3, cancellation 1\. The main cause is "
                                         r"missing_customer_id.*mapping"):
        clean(log_factory(rows))


def test_not_an_ingested_object():
    with pytest.raises(InputError, match="read_transactions"):
        clean(pd.DataFrame({"a": [1]}))


def test_cancel_prefix_and_non_product_options(small):
    # cancellation off: C lines with negative quantity are still returns
    got = reasons(clean(small, cancel_prefix=None))
    assert got[11] == "return"
    rep = clean(small, cancel_prefix=None).report
    assert "cancellation" not in [r.code for r in rep.rules]
    # no non-product rule: POST is a sale, the voucher refund a cancellation
    got = reasons(clean(small, non_product_codes=()))
    assert (got[10], got[17], got[19]) == (None, "cancellation", None)
    # a custom list, with a prefix entry; added to the classic preset too
    got = reasons(clean(small, preset="classic", non_product_codes=["post", "221*"]))
    assert (got[10], got[13], got[14], got[15], got[19]) == (
        "non_product", "non_product", "non_product", "non_product", None)


def test_outlier_flag_matches_numpy(log_factory):
    amounts = [10.0, 12.0, 9.0, 11.0, 10.5, 9.5, 500.0, 0.2, 10.0, 13.0]
    rows = [(str(i), "A", "x", "1", D.format(1), str(a), "1", "UK")
            for i, a in enumerate(amounts, 1)]
    res = clean(log_factory(rows))
    tx = fetch(res.transactions).sort_values("_row_id")
    x = np.log(amounts)
    med = np.median(x)
    mad = np.median(np.abs(x - med))
    expected = np.abs(0.6745 * (x - med) / mad) > 3.5
    assert expected.tolist() == [False] * 6 + [True, True, False, False]
    assert tx["is_outlier"].tolist() == expected.tolist()
    assert res.report.n_outliers == 2
    off = clean(log_factory(rows), outliers="off")
    assert not fetch(off.transactions)["is_outlier"].any()
    assert off.report.n_outliers == 0
    # classic does not flag unless asked
    assert clean(log_factory(rows), preset="classic").report.n_outliers == 0
    assert clean(log_factory(rows), preset="classic", outliers="flag").report.n_outliers == 2


def test_outlier_flag_with_constant_amounts(log_factory):
    rows = [(str(i), "A", "x", "1", D.format(1), "5", "1", "UK") for i in range(4)]
    res = clean(log_factory(rows))
    assert res.report.n_outliers == 0
    assert any("MAD of 0" in n for n in res.report.notes)


def test_default_end_note_gives_the_last_day_and_the_gap(log_factory):
    rows = [("1", "A", "x", "1", D.format(d), "1", "1", "UK") for d in (1, 2, 2)]
    note = clean(log_factory(rows)).report.notes[0]
    assert note == ("observation_end 2024-01-02: the date of the log's last transaction "
                    "(2 lines that day; the previous date with transactions is 2024-01-01, "
                    "1 day before)")
    # a 41-day gap is below the 90-day guard: accepted, with a hint in the note
    rows.append(("9", "A", "x", "1", "2024-02-12 10:00:00", "1", "1", "UK"))
    res = clean(log_factory(rows))
    assert res.observation_end == dt.date(2024, 2, 12)
    note = res.report.notes[0]
    assert "(1 line that day" in note and "2024-01-02, 41 days before" in note
    assert "mistyped date" in note


def test_empty_log(log_factory):
    with pytest.raises(InputError, match="no lines"):
        clean(log_factory([]))


def test_default_codes_need_their_description(log_factory):
    """A shop whose SKUs are sizes S/M/D/B keeps those sales; Online Retail's non-product
    lines (their telltale descriptions) are still quarantined, and the note counts the
    lines kept with a default code."""
    rows = [
        ("2001", "S", "T-SHIRT RED S", "2", D.format(2), "9.50", "501", "UK"),  # 1 sale
        ("2001", "M", "T-SHIRT RED M", "1", D.format(2), "9.50", "501", "UK"),  # 2 sale
        ("2002", "D", "DENIM JACKET", "1", D.format(3), "60", "502", "UK"),  # 3 sale
        ("2002", "b", "belt", "1", D.format(3), "15", "502", "UK"),  # 4 sale
        ("2003", "S", "SAMPLES", "1", D.format(4), "3", "503", "UK"),  # 5 non-product
        ("2003", "m", "Manual", "1", D.format(4), "5", "503", "UK"),  # 6 non-product
        ("2004", "POST", "POSTAGE", "1", D.format(5), "18", "501", "UK"),  # 7 non-product
        ("2004", "C2", "", "1", D.format(5), "50", "501", "UK"),  # 8 no description: sale
        ("2005", "gift_0001_20", "Gift Voucher 20.00", "1", D.format(5), "20", "502",
         "UK"),  # 9 non-product (prefix entry, confirmed)
    ]
    res = clean(log_factory(rows))
    assert reasons(res) == {1: None, 2: None, 3: None, 4: None, 5: "non_product",
                            6: "non_product", 7: "non_product", 8: None, 9: "non_product"}
    note = next(n for n in res.report.notes if n.startswith("non_product"))
    assert "S 'SAMPLE'" in note and "5 clean lines with one of these codes" in note
    # codes the user gives need no description: S and M are then quarantined as given
    got = reasons(clean(log_factory(rows), non_product_codes=["S", "M"]))
    assert [k for k, v in got.items() if v == "non_product"] == [1, 2, 5, 6]
