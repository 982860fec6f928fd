"""POST /score: an observation end outside the store's range and repeated JSON keys are 422s
that name the value (or key) and what is allowed."""

from __future__ import annotations

import datetime as dt
import json
import re

import pandas as pd

LINES = [{"date": "1997-03-01", "amount": 10.0}]


def _range(store_tables):
    """The allowed observation ends, computed here from the store's tables: its first
    purchase day, and its observation end + the clv horizon (months of 365.25/12 days,
    rounded to days: 12 months are 365 days, a calendar year here)."""
    first = pd.Timestamp(store_tables["customers"].first_purchase.min()).date()
    end = pd.Timestamp(store_tables["customers"].last_purchase.max()).date()
    months = [int(m.group(1)) for c in store_tables["clv"].columns
              if (m := re.fullmatch(r"clv_(\d+)", c))]
    horizon = months[0] if months else 12
    return first, end + dt.timedelta(days=round(horizon * 365.25 / 12)), horizon


def test_far_future_observation_end_is_422_with_the_range(client, store_tables):
    first, latest, horizon = _range(store_tables)
    assert (first, latest) == (dt.date(1997, 1, 1), dt.date(1999, 6, 30))  # CDNOW, 12 months
    r = client.post("/score", json={"transactions": LINES, "observation_end": "9999-12-31"})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail.startswith("observation_end '9999-12-31' is after the period the stored "
                             "models predict over")
    assert (f"from {first.isoformat()} (the store's first purchase day) to "
            f"{latest.isoformat()} (its observation end 1998-06-30 + the value horizon of "
            f"{horizon} months)") in detail


def test_observation_end_bounds_are_inclusive(client, store_tables):
    first, latest, _ = _range(store_tables)
    ok = client.post("/score", json={"transactions": LINES, "observation_end": latest.isoformat()})
    assert ok.status_code == 200 and ok.json()["observation_end"] == latest.isoformat()
    on_first = client.post("/score", json={
        "transactions": [{"date": first.isoformat(), "amount": 1.0}],
        "observation_end": first.isoformat()})
    assert on_first.status_code == 200 and on_first.json()["btyd"]["T"] == 0
    after = (latest + dt.timedelta(days=1)).isoformat()
    r = client.post("/score", json={"transactions": LINES, "observation_end": after})
    assert r.status_code == 422 and f"observation_end '{after}'" in r.json()["detail"]


def test_observation_end_before_the_first_purchase_is_422(client, store_tables):
    first, _, _ = _range(store_tables)
    before = (first - dt.timedelta(days=1)).isoformat()
    r = client.post("/score", json={"transactions": [{"date": before, "amount": 1.0}],
                                    "observation_end": before})
    assert r.status_code == 422
    assert r.json()["detail"].startswith(
        f"observation_end '{before}' is before the store's first purchase day: this store "
        f"scores observation ends from {first.isoformat()}")


def test_repeated_key_is_422_naming_it(client):
    body = ('{"transactions": [{"date": "1997-03-01", "amount": 10.0}], '
            '"observation_end": "1998-01-01", "observation_end": "1998-02-01"}')
    r = client.post("/score", content=body.encode(), headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("the request body repeats the key 'observation_end'")
    # inside a line too
    body = '{"transactions": [{"date": "1997-03-01", "amount": 10.0, "amount": 99.0}]}'
    r = client.post("/score", content=body.encode(), headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "repeats the key 'amount'" in r.json()["detail"]
    # the same body with the key once is scored
    r = client.post("/score", content=json.dumps({"transactions": LINES}).encode(),
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 200


def test_repeated_key_without_the_token_is_still_401(server):
    import httpx

    body = '{"transactions": [], "transactions": []}'
    r = httpx.post(f"{server}/score", content=body.encode(),
                   headers={"Content-Type": "application/json"}, timeout=30.0)
    assert r.status_code == 401
