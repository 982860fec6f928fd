"""Lines held back as ``after_observation_end`` (an observation end before the last line).

An update re-cleans only the stored lines of customers with new lines: the other customers'
held lines would stay out for good, and a file sending them again counted them twice (a log
without order ids cannot tell the copies apart) or was taken as "nothing changed". So a
store holding lines back is refused (rebuild it), and an update does not hold lines back.
"""

from __future__ import annotations

import duckdb
import pytest

import valuemax
from valuemax.exceptions import InputError
from valuemax.pipeline import update

from ._stores import snapshot

OPTIONS = {"clv": False, "propensity": False, "clusters": "none"}
HEADER = "customer_id,date,amount\n"
JANUARY = "a,2024-01-03,10\nb,2024-01-05,20\na,2024-01-20,15\n"
FEBRUARY = "b,2024-02-02,30\na,2024-02-10,12\n"
MARCH = "a,2024-03-05,40\n"


@pytest.fixture
def held(tmp_path):
    """A store of January + February analysed only to January 31 (February held back)."""
    log = tmp_path / "jan-feb.csv"
    log.write_text(HEADER + JANUARY + FEBRUARY)
    store = tmp_path / "store.duckdb"
    valuemax.analyze(str(log), db=store, observation_end="2024-01-31", out=None, **OPTIONS)
    with duckdb.connect(str(store), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM quarantine WHERE reason = "
                           "'after_observation_end'").fetchone()[0] == 2
    return store, tmp_path


@pytest.mark.parametrize("lines", [FEBRUARY, FEBRUARY + MARCH, MARCH])
def test_a_store_holding_lines_back_is_refused_and_unchanged(held, lines):
    store, folder = held
    new = folder / "new.csv"
    new.write_text(HEADER + lines)
    before = snapshot(store)
    with pytest.raises(InputError, match=r"holds 2 lines back .*after_observation_end .*"
                                         r"2024-01-31.*Rebuild the store with valuemax analyze"):
        update(store, new)
    after = snapshot(store)
    assert before.keys() == after.keys()
    for name, table in before.items():
        assert table.equals(after[name]), name


def test_an_update_does_not_hold_new_lines_back(tmp_path):
    log, new = tmp_path / "jan.csv", tmp_path / "feb-mar.csv"
    log.write_text(HEADER + JANUARY)
    new.write_text(HEADER + FEBRUARY + MARCH)
    store = tmp_path / "store.duckdb"
    valuemax.analyze(str(log), db=store, out=None, **OPTIONS)
    before = snapshot(store)
    with pytest.raises(InputError, match=r"1 line is dated after observation_end=2024-02-29 "
                                         r"\(e.g. line 3 \(customer 'a', 2024-03-05\)\)"):
        update(store, new, observation_end="2024-02-29")
    assert all(t.equals(snapshot(store)[n]) for n, t in before.items())
    update(store, new)  # without the early end every line is taken in, once
    with duckdb.connect(str(store), read_only=True) as con:
        clean = con.execute("SELECT count(*), sum(amount) FROM transactions_clean").fetchone()
    assert clean == (6, pytest.approx(10 + 20 + 15 + 30 + 12 + 40))
