"""On the CDNOW sample, pseudonymised ids change nothing but the ids."""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd

import valuemax

KEY = "cdnow test key, thirty-two bytes"
COLUMNS = ["customer_id", "customer_index", "date", "number_of_cds", "dollar_value"]


def test_pseudonymised_analyze_gives_the_same_btyd_figures(datasets):
    src = str(datasets("cdnow/CDNOW_sample.txt"))
    kw = {"columns": COLUMNS, "time_unit": "W", "calibration_end": "1997-09-30",
          "clv_model": "bgnbd", "clusters": "none", "propensity": False, "random_state": 0}
    plain = valuemax.analyze(src, **kw)
    pseudo = valuemax.analyze(src, pseudonymize=True, pseudonym_key=KEY, **kw)
    # the published BG/NBD fit (Fader, Hardie & Lee 2005) on the calibration period,
    # and the same estimates with pseudonyms
    a = plain.value.comparison.models["BG/NBD"].params_
    b = pseudo.value.comparison.models["BG/NBD"].params_
    for name, published in {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}.items():
        assert abs(a[name] - published) < 5e-3
        assert b[name] == a[name]
    assert pseudo.value.model.params_ == plain.value.model.params_
    # every customer's figures are unchanged; only the id is its HMAC under the key
    cols = ["frequency", "recency", "T", "monetary_value", "p_alive",
            "expected_purchases_12", "clv_12", "segment"]
    mapped = plain.customers.assign(customer_id=[
        hmac.new(KEY.encode(), c.encode(), hashlib.sha256).hexdigest()
        for c in plain.customers["customer_id"]])
    left = mapped.set_index("customer_id")[cols].sort_index()
    right = pseudo.customers.set_index("customer_id")[cols].sort_index()
    assert len(left) == 2357 and left.index.equals(right.index)
    pd.testing.assert_frame_equal(left, right)
    assert np.isclose(pseudo.customers["clv_12"].sum(), plain.customers["clv_12"].sum())
    assert set(pseudo.customers["customer_id"]).isdisjoint(plain.customers["customer_id"])
