"""update keeps a pseudonymised store's privacy: the same key, the same dropped columns.

A store built with ``pseudonymize=True`` records its key's fingerprint; an update with
another key is refused (the store unchanged), with the right key the new lines' ids get the
same pseudonyms (HMAC-SHA256 computed here) and their personal-data columns are dropped.
"""

from __future__ import annotations

import hashlib
import hmac

import duckdb
import pytest
from tests.privacy._pii_log import IDS, PII_COLUMNS, pii_frame

import valuemax
from valuemax.exceptions import InputError
from valuemax.pipeline import update

KEY = "update test key: 0123456789abcdef"
OTHER = "another test key: fedcba98765432"
FAST = {"clusters": "none", "clv": False, "propensity": False, "random_state": 0}


def _hmac(key: str, cid: str) -> str:
    return hmac.new(key.encode(), cid.encode(), hashlib.sha256).hexdigest()


def _tables(db):
    with duckdb.connect(str(db), read_only=True) as con:
        names = [r[0] for r in con.execute("SHOW TABLES").fetchall()]
        return {n: con.execute(f'SELECT * FROM "{n}"').df() for n in names}


@pytest.fixture
def split(tmp_path):
    frame = pii_frame()
    first = frame[frame["date"] < "2024-09"]
    second = frame[frame["date"] >= "2024-09"]
    assert len(first) and len(second)
    paths = tmp_path / "first.csv", tmp_path / "second.csv"
    first.to_csv(paths[0], index=False)
    second.to_csv(paths[1], index=False)
    db = tmp_path / "store.duckdb"
    valuemax.analyze(str(paths[0]), db=db, pseudonymize=True, pseudonym_key=KEY, **FAST)
    return db, paths[1]


def test_another_key_is_refused_and_the_store_unchanged(split):
    db, second = split
    before = _tables(db)
    with pytest.raises(InputError, match="wrong pseudonym key") as info:
        update(db, second, pseudonym_key=OTHER)
    assert OTHER not in str(info.value) and KEY not in str(info.value)
    after = _tables(db)
    assert before.keys() == after.keys()
    for name, table in before.items():
        assert table.equals(after[name]), name


def test_no_key_is_refused_saying_how_to_give_it(split, monkeypatch):
    db, second = split
    monkeypatch.delenv("VALUEMAX_PSEUDONYM_KEY", raising=False)
    with pytest.raises(InputError, match="VALUEMAX_PSEUDONYM_KEY"):
        update(db, second)


def test_the_store_key_gives_the_same_pseudonyms_and_drops_the_same_columns(split):
    db, second = split
    result = update(db, second, pseudonym_key=KEY)
    assert result.applied and result.rows_clean == len(pii_frame()) // 3
    tables = _tables(db)
    expected = {_hmac(KEY, cid) for cid in IDS}
    assert set(tables["customers"]["customer_id"]) == expected
    assert set(tables["transactions_clean"]["customer_id"]) == expected
    values = {str(v) for c in PII_COLUMNS for v in pii_frame()[c]} | set(IDS)
    for name, table in tables.items():
        assert not set(PII_COLUMNS) & set(table.columns), name
        if name == "runs":
            continue
        text = set(table.astype(str).to_numpy().ravel())
        assert not text & values, name


def test_cli_another_key_is_one_line_naming_each_way_to_give_the_key_once(split, cli_runner,
                                                                            tmp_path):
    from valuemax.cli import app

    db, second = split
    key_file = tmp_path / "key"
    key_file.write_text(OTHER)
    key_file.chmod(0o600)
    run = cli_runner.invoke(app, ["update", "--db", str(db), str(second),
                                  "--pseudonym-key-file", str(key_file)])
    assert run.exit_code == 2, run.output
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: wrong pseudonym key"), run.stderr
    assert lines[0].count("--pseudonym-key-file") == 1 and "VALUEMAX_PSEUDONYM_KEY" in lines[0]
    assert "pseudonym_key_file" not in lines[0] and OTHER not in lines[0]
