"""An update records its own value caveats, and the API shows them.

A seeded daily log with customers arriving every day is analysed up to its last week,
then updated with the next day's lines. The caveat counting the customers whose CLV is
only the population's prior must then give the store's ``clv`` table's count, CLV range
and median (the API read the last analyze's before: a new user's report), while the
caveats describing the stored models are carried over.
"""

from __future__ import annotations

import re

import duckdb
import numpy as np
import pandas as pd
import pytest

import valuemax
from valuemax.pipeline import update
from valuemax.serve._store import load_snapshot

START = pd.Timestamp("2024-01-01")
DAYS = 200
CUT = 180  # the analysed part: days 0..CUT-1; the update: day CUT


def _log() -> pd.DataFrame:
    """Customers arriving uniformly over the log, each buying at a Gamma-drawn Poisson rate
    (seeded)."""
    rng = np.random.default_rng(11)
    rows = []
    for c in range(500):
        t = float(rng.integers(0, DAYS))
        rate = rng.gamma(2.0, 1 / 40)
        while t < DAYS:
            rows.append({"customer_id": f"K{c:03d}", "order_id": f"O{len(rows)}",
                         "order_ts": START + pd.Timedelta(days=int(t)),
                         "amount": round(float(rng.gamma(3.0, 10.0)), 2)})
            t += rng.exponential(1 / rate)
    return pd.DataFrame(rows)


def _prior_only_caveat(value: list[str]) -> str | None:
    found = [t for t in value if "the population's average as CLV" in t]
    assert len(found) <= 1
    return found[0] if found else None


def _store_figures(store) -> tuple[int, str, str, float]:
    """Count, min and max CLV of the flagged customers and the median CLV of all, by SQL."""
    with duckdb.connect(str(store), read_only=True) as con:
        n, lo, hi = con.execute("SELECT count(*), min(clv_12), max(clv_12) FROM clv "
                                "WHERE clv_from_prior_only").fetchone()
        med = con.execute("SELECT median(clv_12) FROM clv").fetchone()[0]
    return int(n), f"{lo:,.2f}", f"{hi:,.2f}", float(med)


@pytest.fixture(scope="module")
def updated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("caveats")
    log = _log()
    day = START + pd.Timedelta(days=CUT)
    first, nxt = log[log["order_ts"] < day], log[log["order_ts"] == day]
    store, head = folder / "store.duckdb", folder / "first.csv"
    first.to_csv(head, index=False)
    valuemax.analyze(head, out=None, db=store, clusters="none", propensity=False,
                     clv_model="bgnbd", random_state=0)
    before = load_snapshot(store).run["caveats"]
    n_before = _store_figures(store)[0]
    path = folder / "next_day.csv"
    nxt.to_csv(path, index=False)
    result = update(store, path)
    assert result.applied
    return store, before, n_before


def test_api_caveat_counts_the_stored_prior_only_customers(updated):
    store, before, n_before = updated
    n, lo, hi, med = _store_figures(store)
    assert n > 0 and n != n_before  # the premise: the update changed the count
    text = _prior_only_caveat(load_snapshot(store).run["caveats"]["value"])
    assert text is not None
    assert int(re.match(r"([\d,]+) customers? first seen", text).group(1).replace(",", "")) == n
    span = lo if lo == hi else f"{lo} to {hi}"
    assert f"({span}, against a median CLV of {med:,.2f} for all customers)" in text
    # the analyze's caveat gave the count of the analysed store
    old = _prior_only_caveat(before["value"])
    assert old is not None and old.startswith(f"{n_before:,} customer")


def test_model_caveats_carried_over(updated):
    """The value caveats that do not count customers describe the stored models, which
    the rescore kept: the update's row has the same ones."""
    store, before, _ = updated
    after = load_snapshot(store).run["caveats"]
    key = "the population's average as CLV"
    assert [t for t in before["value"] if key not in t]  # the premise: some to carry over
    assert ([t for t in before["value"] if key not in t]
            == [t for t in after["value"] if key not in t])
    with duckdb.connect(str(store), read_only=True) as con:
        kinds = [r[0] for r in con.execute(
            "SELECT kind FROM runs ORDER BY finished_at").fetchall()]
        recorded = con.execute("SELECT caveats FROM runs WHERE kind = 'update'").fetchone()[0]
    assert kinds == ["analyze", "update"] and recorded is not None
