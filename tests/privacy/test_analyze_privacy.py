"""analyze keeps personal data out of every output and pseudonymises ids with a key."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import stat

import duckdb
import pandas as pd
import pytest

import valuemax
from valuemax.cli import app
from valuemax.privacy import KEY_ENV, key_fingerprint
from valuemax.privacy._detect import PII_KINDS

from ._pii_log import IDS, PII_COLUMNS, pii_frame, write_pii_log
from ._scan import holding, output_texts

FAST = {"clusters": "none", "clv": False, "propensity": False, "random_state": 0}
KEY1 = "first test key: 0123456789abcdef"
KEY2 = "second test key: fedcba987654321"


def _pii_values():
    frame = pii_frame()
    return sorted({str(v) for c in PII_COLUMNS for v in frame[c]})


def _hmac(key: str, cid: str) -> str:
    return hmac.new(key.encode(), cid.encode(), hashlib.sha256).hexdigest()


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    return write_pii_log(tmp_path_factory.mktemp("log") / "customers_with_pii.csv")


@pytest.fixture(scope="module")
def plain(log, tmp_path_factory):
    """A default run (no option) with a permissive umask: the outputs' modes and contents."""
    out = tmp_path_factory.mktemp("plain") / "out"
    old = os.umask(0)
    try:
        result = valuemax.analyze(str(log), out=out, **FAST)
    finally:
        os.umask(old)
    return result, out


def test_by_default_no_personal_value_reaches_any_output(plain):
    result, out = plain
    texts = output_texts(out)
    assert {"report.html", "customers.csv", "summary.json", "valuemax.duckdb"} <= {
        os.path.basename(f) for f in texts}
    assert holding(texts, _pii_values()) == {}
    with duckdb.connect(str(out / "valuemax.duckdb"), read_only=True) as con:
        cols = {r[0] for r in con.sql("SELECT column_name FROM information_schema.columns")
                .fetchall()}
    assert cols.isdisjoint(PII_COLUMNS) and "Country" in cols
    # the ids were not pseudonymised: they are the key of every table
    assert set(result.customers["customer_id"]) == set(IDS)


def test_every_personal_column_is_listed_with_how_it_was_found(plain):
    _, out = plain
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    found = {c["column"]: c for c in summary["privacy"]["pii_columns"]}
    assert set(found) == set(PII_COLUMNS)
    kinds = {c: found[c]["kind"] for c in found}
    assert kinds == {"email": "email", "phone": "phone", "手机号": "phone",
                     "身份证号": "national_id", "姓名": "name", "地址": "address",
                     "card_number": "bank_card"}
    # names and addresses have no value pattern; the others match by name and values
    assert {c: found[c]["found_by"] for c in found} == {
        c: "name" if c in ("姓名", "地址") else "name and values" for c in found}
    assert all(found[c]["share_matching"] == 1.0 for c in found if c not in ("姓名", "地址"))
    assert all(c["action"] == "dropped" for c in found.values())
    assert summary["privacy"]["pseudonymized"] is False
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="data-privacy"' in html
    section = html[html.index('id="data-privacy"'):html.index('id="data-mapping"')]
    for c in PII_COLUMNS:
        assert re.search(f"<td[^>]*>{c}</td>", section)
    assert section.count("dropped right after reading") == len(PII_COLUMNS)
    assert PII_KINDS["national_id"] in html


def test_outputs_are_readable_by_the_owner_only_whatever_the_umask(plain):
    _, out = plain
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.rglob("*")}
    assert modes and set(modes.values()) == {0o600}, modes


def test_runs_records_who_what_options_and_outputs(plain, log):
    _, out = plain
    with duckdb.connect(str(out / "valuemax.duckdb"), read_only=True) as con:
        user, source, params, outputs = con.sql(
            'SELECT "user", source, parameters, outputs FROM runs').fetchone()
    assert user and source == str(log)
    params, outputs = json.loads(params), json.loads(outputs)
    assert params["pseudonymize"] is False and params["keep_pii"] == []
    assert outputs["out"] == str(out)
    assert {"report.html", "customers.csv", "summary.json"} <= set(outputs["files"])
    assert set(outputs["files"]) <= {p.name for p in out.iterdir()}


@pytest.fixture(scope="module")
def keyed(log, tmp_path_factory):
    """Pseudonymised with KEY1 (from the environment), e-mail kept, store outside the folder."""
    base = tmp_path_factory.mktemp("keyed")
    out, db = base / "out", base / "store.duckdb"
    mp = pytest.MonkeyPatch()
    mp.setenv(KEY_ENV, KEY1)
    old = os.umask(0o022)
    try:
        result = valuemax.analyze(str(log), out=out, db=db, pseudonymize=True,
                                  keep_pii=["email"], **FAST)
    finally:
        os.umask(old)
        mp.undo()
    return result, out, db


def test_pseudonyms_are_the_hmac_of_each_id_under_the_key(keyed):
    result, out, _ = keyed
    want = {_hmac(KEY1, c) for c in IDS}
    assert set(result.customers["customer_id"]) == want
    csv_ids = pd.read_csv(out / "customers.csv", encoding="utf-8-sig")["customer_id"]
    assert set(csv_ids) == want


def test_neither_the_key_nor_an_original_id_is_in_any_output(keyed):
    _, out, db = keyed
    texts = output_texts(out, db)
    assert str(db) in texts
    assert holding(texts, [KEY1, KEY1.encode().hex(), *IDS, "kunde-Quinn"]) == {}
    with duckdb.connect(str(db), read_only=True) as con:
        params = json.loads(con.sql("SELECT parameters FROM runs").fetchone()[0])
    assert params["pseudonymize"] is True
    assert params["pseudonym_key_fingerprint"] == key_fingerprint(KEY1)


def test_a_kept_column_flows_and_is_recorded(keyed):
    _, out, db = keyed
    emails = sorted(set(pii_frame()["email"]))
    texts = output_texts(db)
    assert set(holding(texts, emails)) == set(emails)  # kept on purpose: in the store
    others = [v for v in _pii_values() if v not in emails]
    assert holding(output_texts(out, db), others) == {}
    with duckdb.connect(str(db), read_only=True) as con:
        holders = {r[0] for r in con.sql("SELECT table_name FROM information_schema.columns "
                                         "WHERE column_name = 'email'").fetchall()}
    assert holders == {"transactions_raw", "transactions_clean", "quarantine"}
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["privacy"]["keep_pii"] == ["email"] == summary["params"]["keep_pii"]
    kept = [c for c in summary["privacy"]["pii_columns"] if c["column"] == "email"]
    assert kept[0]["action"] == "kept (keep_pii)"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600  # a store valuemax created


def test_the_same_key_gives_the_same_pseudonyms_and_another_key_others(log, keyed):
    first = set(keyed[0].customers["customer_id"])
    again = valuemax.analyze(str(log), pseudonymize=True, pseudonym_key=KEY1, **FAST)
    other = valuemax.analyze(str(log), pseudonymize=True, pseudonym_key=KEY2, **FAST)
    assert set(again.customers["customer_id"]) == first
    assert set(other.customers["customer_id"]) == {_hmac(KEY2, c) for c in IDS}
    assert first.isdisjoint(other.customers["customer_id"])
    # the figures do not depend on the ids
    cols = ["n_orders", "total_spend", "recency_days"]
    a = again.customers.sort_values(cols)[cols].reset_index(drop=True)
    b = other.customers.sort_values(cols)[cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_cli_without_a_key_exits_2_saying_how_to_set_it(log, tmp_path, cli_runner,
                                                        monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    out = tmp_path / "out"
    res = cli_runner.invoke(app, ["analyze", str(log), "--out", str(out), "--pseudonymize"])
    assert res.exit_code == 2
    assert KEY_ENV in res.stderr and "--pseudonym-key-file" in res.stderr
    assert not out.exists()
    key_file = tmp_path / "key"
    key_file.write_text(KEY2 + "\n")
    res = cli_runner.invoke(app, ["analyze", str(log), "--out", str(out), "--pseudonymize",
                                  "--pseudonym-key-file", str(key_file), "--keep-pii", "姓名",
                                  "--clusters", "none", "--no-clv", "--no-propensity"])
    assert res.exit_code == 0, res.stderr
    ids = pd.read_csv(out / "customers.csv", encoding="utf-8-sig")["customer_id"]
    assert set(ids) == {_hmac(KEY2, c) for c in IDS}
    assert holding(output_texts(out), [KEY2]) == {}
    res = cli_runner.invoke(app, ["analyze", str(log), "--out", str(tmp_path / "o2"),
                                  "--keep-pii", "e_mail"])
    assert res.exit_code == 2 and "'e_mail'" in res.stderr and "'email'" in res.stderr
