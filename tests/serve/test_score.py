"""POST /score: a customer's own lines give back the stored scores; the BG/NBD and
Gamma-Gamma formulas recomputed here agree; bad bodies get 422/413 with a clear reason."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

DAYS_PER_MONTH = 365.25 / 12


def _lines(store_tables, cid: str) -> list[dict]:
    tx = store_tables["transactions_clean"]
    rows = tx[tx.customer_id == cid]
    return [{"date": pd.Timestamp(ts).isoformat(), "amount": float(a), "order_id": o}
            for ts, a, o in zip(rows.order_ts, rows.amount, rows.order_id, strict=True)]


def _sample(store_tables, n: int = 25) -> list[str]:
    """A seeded sample of customers plus the one-time buyers' and the heaviest buyer."""
    c = store_tables["customers"]
    rng = np.random.default_rng(0)
    picked = list(rng.choice(c.customer_id.to_numpy(), size=n, replace=False))
    picked += [c.loc[c.frequency == 0, "customer_id"].iloc[0],
               c.loc[c.frequency.idxmax(), "customer_id"]]
    return list(dict.fromkeys(str(p) for p in picked))


def test_own_lines_give_back_the_stored_scores(client, store_tables):
    cust = store_tables["customers"].set_index("customer_id")
    clv = store_tables["clv"].set_index("customer_id")
    for cid in _sample(store_tables):
        r = client.post("/score", json={"customer_id": cid, "transactions": _lines(store_tables, cid)})
        assert r.status_code == 200, r.text
        got = r.json()
        assert got["customer_id"] == cid and got["observation_end"] == "1998-06-30"
        # the summary built here equals the engine's customer table
        for key in ("frequency", "recency", "T", "monetary_value"):
            assert math.isclose(got["btyd"][key], cust.loc[cid, key], rel_tol=1e-9,
                                abs_tol=1e-12), (cid, key)
        for key in ("n_orders", "n_lines", "recency_days", "tenure_days"):
            assert got["rfm"][key] == cust.loc[cid, key], (cid, key)
        assert math.isclose(got["rfm"]["total_spend"], cust.loc[cid, "total_spend"],
                            rel_tol=1e-9)
        # and the models rebuilt from clv_params give back the stored scores
        v = got["value"]
        assert math.isclose(v["p_alive"], clv.loc[cid, "p_alive"], rel_tol=1e-9, abs_tol=1e-12)
        assert math.isclose(v["expected_purchases"], clv.loc[cid, "expected_purchases_12"],
                            rel_tol=1e-9, abs_tol=1e-12)
        assert math.isclose(v["expected_avg_value"], clv.loc[cid, "expected_avg_value"],
                            rel_tol=1e-9)
        assert math.isclose(v["clv"], clv.loc[cid, "clv_12"], rel_tol=1e-9, abs_tol=1e-12)


def _bgnbd(params, t, x, t_x, T):
    """BG/NBD P(alive) and conditional expectation, Fader, Hardie & Lee (2005) eqs. (10), (13)."""
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    d = 1.0 if x > 0 else 0.0
    odds = d * a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    z = t / (alpha + T + t)
    ey = ((a + b + x - 1) / (a - 1)
          * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z))
          / (1 + odds))
    return 1 / (1 + odds), ey


def test_scores_equal_the_published_formulas(client, store_tables):
    """Independent of valuemax.clv: BG/NBD eq. (10) with scipy's 2F1 for expected purchases,
    Gamma-Gamma's E[M | x, m] = (gamma + m x) p / (p x + q - 1) (Fader, Hardie & Lee 2005,
    JMR, eq. 5) for spend, and CLV as that spend times the monthly increments of E[Y(t)]
    discounted at 1% a month (the run's options)."""
    p = store_tables["clv_params"]
    bg = dict(zip(p[p.model == "BG/NBD"].parameter, p[p.model == "BG/NBD"].estimate, strict=True))
    gg = dict(zip(p[p.model == "Gamma-Gamma"].parameter, p[p.model == "Gamma-Gamma"].estimate,
                  strict=True))
    assert set(bg) == {"r", "alpha", "a", "b"} and set(gg) == {"p", "q", "gamma"}
    per_month = DAYS_PER_MONTH / 7  # weeks
    for cid in _sample(store_tables, n=8):
        got = client.post("/score", json={"transactions": _lines(store_tables, cid)}).json()
        x, t_x, T, m = (got["btyd"][k] for k in ("frequency", "recency", "T", "monetary_value"))
        alive, ey = _bgnbd(bg, 12 * per_month, x, t_x, T)
        assert math.isclose(got["value"]["p_alive"], alive, rel_tol=1e-9)
        assert math.isclose(got["value"]["expected_purchases"], ey, rel_tol=1e-9)
        if x > 0:
            spend = (gg["gamma"] + m * x) * gg["p"] / (gg["p"] * x + gg["q"] - 1)
        else:  # no repeat purchase: the population mean p gamma / (q - 1)
            spend = gg["p"] * gg["gamma"] / (gg["q"] - 1)
        assert math.isclose(got["value"]["expected_avg_value"], spend, rel_tol=1e-9)
        cum = [0.0] + [_bgnbd(bg, k * per_month, x, t_x, T)[1] for k in range(1, 13)]
        clv = spend * sum((cum[k] - cum[k - 1]) / 1.01 ** k for k in range(1, 13))
        assert math.isclose(got["value"]["clv"], clv, rel_tol=1e-9)


def test_score_is_monotone_in_recent_activity(client):
    """Invariant: the same history with a later last purchase is more likely alive."""
    early = [{"date": "1997-01-05", "amount": 20.0}, {"date": "1997-02-01", "amount": 20.0}]
    late = [{"date": "1997-01-05", "amount": 20.0}, {"date": "1998-06-01", "amount": 20.0}]
    a = client.post("/score", json={"transactions": early}).json()["value"]
    b = client.post("/score", json={"transactions": late}).json()["value"]
    assert 0 < a["p_alive"] < b["p_alive"] <= 1
    assert a["expected_purchases"] < b["expected_purchases"]


def test_score_does_not_touch_the_store(client, cdnow_store):
    before = cdnow_store.stat()
    client.post("/score", json={"transactions": [{"date": "1997-03-01", "amount": 10}]})
    after = cdnow_store.stat()
    assert (before.st_mtime_ns, before.st_size) == (after.st_mtime_ns, after.st_size)
    assert client.get("/health").json()["reload_pending"] is False


@pytest.mark.parametrize(("body", "expected"), [
    ({"transactions": [{"date": "1997-03-01", "amount": -5}]}, "net returns"),
    ({"transactions": [{"date": "1997-03-01T10:00:00+08:00", "amount": 5}]}, "time zone"),
    ({"transactions": [{"date": 857174400, "amount": 5}]}, "Unix times are not accepted"),
    ({"transactions": [{"date": "03/01/1997", "amount": 5}]}, "is not an ISO date"),
    ({"transactions": [{"date": "1900-01-01", "amount": 5}]}, "placeholder date"),
    ({"transactions": [{"date": "1997-03-01", "amount": "5"}]}, "valid number"),
    ({"transactions": [{"date": "1997-03-01", "amount": 5, "qty": 1}]}, "transactions.0.qty"),
    ({"transactions": []}, "at least 1 item"),
    ({"lines": [{"date": "1997-03-01", "amount": 5}]}, "transactions: Field required"),
    ({"transactions": [{"date": "1997-03-01", "amount": 5}, {"date": "1998-07-02", "amount": 1},
                       {"date": "1999-01-01", "amount": 1}]},
     "2 of 3 lines fall after the observation end 1998-06-30 (transactions[1] 1998-07-02"),
])
def test_bad_bodies_get_422_saying_why(client, body, expected):
    r = client.post("/score", json=body)
    assert r.status_code == 422
    assert expected in r.json()["detail"], r.json()


def test_malformed_json_is_422(client):
    r = client.post("/score", content=b'{"transactions": [{"date": "1997-03-01", ',
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert "JSON decode error" in r.json()["detail"]


def test_nan_amount_is_422(client):
    # Python's JSON reader accepts the non-standard token NaN: it must not become a score
    r = client.post("/score", content=b'{"transactions": [{"date": "1997-03-01", "amount": NaN}]}',
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert "finite number" in r.json()["detail"]


def test_later_observation_end_is_accepted(client):
    lines = [{"date": "1998-07-02", "amount": 10.0}, {"date": "1998-08-01", "amount": 12.0}]
    got = client.post("/score", json={"transactions": lines, "observation_end": "1998-09-30"})
    assert got.status_code == 200
    body = got.json()
    assert body["observation_end"] == "1998-09-30"
    assert body["btyd"]["frequency"] == 1
    assert math.isclose(body["btyd"]["T"], (pd.Timestamp("1998-09-30")
                                            - pd.Timestamp("1998-07-02")).days / 7)


def test_too_many_lines_is_413(client):
    from valuemax.serve import MAX_TRANSACTIONS

    lines = [{"date": "1997-03-01", "amount": 1}] * (MAX_TRANSACTIONS + 1)
    r = client.post("/score", json={"transactions": lines})
    assert r.status_code == 413
    assert f"at most {MAX_TRANSACTIONS:,}" in r.json()["detail"]


def test_body_over_the_byte_limit_is_413(client):
    from valuemax.serve import MAX_BODY_BYTES

    body = json.dumps({"transactions": [{"date": "1997-03-01", "amount": 1}],
                       "customer_id": "x" * (MAX_BODY_BYTES + 1)}).encode()
    r = client.post("/score", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert f"limit of {MAX_BODY_BYTES:,} bytes" in r.json()["detail"]

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b" " * 65536

    r = client.post("/score", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
