"""valuemax.io.protect on small tables: what is dropped, kept, listed and pseudonymised."""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd
import pytest

from valuemax.clean import clean
from valuemax.exceptions import InputError
from valuemax.io import protect, read_transactions
from valuemax.privacy import load_key

KEY = b"protect test key of 32 bytes ok!"


def _h(text: str) -> str:
    return hmac.new(KEY, text.encode(), hashlib.sha256).hexdigest()


def test_float_like_ids_are_pseudonymised_as_read_and_missing_ids_stay_missing():
    df = pd.DataFrame({"CustomerID": [17850.0, 17851.0, np.nan, 17850.0],
                       "InvoiceDate": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
                       "amount": [1.0, 2.0, 3.0, 4.0]})
    ing = protect(read_transactions(df), pseudonym_key=load_key(KEY))
    std = ing.standardized().order_by("_row_id").to_pyarrow().to_pandas()
    # the id as read is '17850' (a float column with integral values), not '17850.0'
    assert std["customer_id"].tolist()[:2] == [_h("17850"), _h("17851")]
    assert std["customer_id"].iloc[3] == _h("17850") and pd.isna(std["customer_id"].iloc[2])
    assert std["_parse_error"].tolist()[2] == "missing_customer_id"
    res = clean(ing)
    assert res.report.rows_quarantined == 1
    q = res.quarantine.to_pyarrow().to_pandas()
    assert q["reason"].tolist() == ["missing_customer_id"]
    assert ing.privacy.pseudonymized and ing.privacy.pii_columns == ()


def test_emails_as_customer_ids_are_listed_not_dropped():
    df = pd.DataFrame({"user_email": ["a@x.org", "b@y.com", "a@x.org"],
                       "date": ["2024-01-01", "2024-01-02", "2024-02-01"],
                       "amount": [5.0, 6.0, 7.0]})
    ing = protect(read_transactions(df, mapping={"customer_id": "user_email"}))
    (col,) = ing.privacy.pii_columns
    assert (col.column, col.kind, col.found_by, col.share, col.action) == (
        "user_email", "email", "name and values", 1.0, "customer id: kept as the key")
    assert any("pseudonymize=True (CLI --pseudonymize)" in n for n in ing.notes)
    assert ing.standardized().to_pyarrow().to_pandas()["customer_id"].tolist() == ["a@x.org", "b@y.com",
                                                                       "a@x.org"]
    keyed = protect(read_transactions(df, mapping={"customer_id": "user_email"}),
                    pseudonym_key=load_key(KEY))
    assert keyed.privacy.pii_columns[0].action == "customer id: pseudonymised"
    assert set(keyed.standardized().to_pyarrow().to_pandas()["customer_id"]) == {_h("a@x.org"),
                                                                    _h("b@y.com")}
    assert not any("a@x.org" in n for n in keyed.notes)


def test_keep_pii_keeps_a_column_and_refuses_an_unknown_one():
    df = pd.DataFrame({"customer_id": ["c1", "c2"], "date": ["2024-01-01", "2024-01-02"],
                       "amount": [1.0, 2.0], "Email": ["a@x.org", "b@y.com"],
                       "手机号": ["13912345678", "13812345678"], "Country": ["UK", "CN"]})
    ing = protect(read_transactions(df), keep_pii=["Email"])
    assert ing.extra_columns == ("Email", "Country")
    assert "手机号" not in ing.raw.columns and "Email" in ing.raw.columns
    assert ing.privacy.dropped == ("手机号",) and ing.privacy.keep_pii == ("Email",)
    assert ing.standardized().to_pyarrow().to_pandas()["Email"].tolist() == ["a@x.org", "b@y.com"]
    with pytest.raises(InputError, match=r"does not have: 'email'.*'Email'"):
        protect(read_transactions(df), keep_pii=["email"])


def test_a_log_without_personal_data_is_left_as_read():
    df = pd.DataFrame({"customer_id": ["c1", "c2"], "date": ["2024-01-01", "2024-01-02"],
                       "amount": [1.0, 2.0], "Country": ["UK", "CN"]})
    before = read_transactions(df)
    after = protect(before)
    assert after.privacy.pii_columns == () and after.notes == before.notes
    pd.testing.assert_frame_equal(after.standardized().to_pyarrow().to_pandas(),
                                  before.standardized().to_pyarrow().to_pandas())
