"""The pseudonym key: sources, refusals, fingerprint; pseudonyms are HMAC-SHA256 of the ids."""

from __future__ import annotations

import hashlib
import hmac
import pickle

import pytest

from valuemax.exceptions import InputError
from valuemax.privacy import (
    KEY_ENV,
    PseudonymKey,
    key_fingerprint,
    load_key,
    pseudonymize,
)

KEY = b"a secret key of 32 bytes, really"


def test_pseudonyms_are_hmac_sha256_of_the_ids_and_missing_stays_missing():
    ids = ["17850", "c-1", "会员001", None]
    got = pseudonymize(ids, KEY)
    want = [hmac.new(KEY, i.encode("utf-8"), hashlib.sha256).hexdigest() for i in ids[:3]]
    assert got == [*want, None]
    assert pseudonymize(ids, load_key(KEY)) == got  # a PseudonymKey gives the same
    assert pseudonymize(ids, KEY + b"!")[:3] != want


def test_the_fingerprint_is_an_hmac_of_a_fixed_label_and_differs_between_keys():
    fp = key_fingerprint(KEY)
    assert fp == hmac.new(KEY, b"valuemax pseudonym key fingerprint v1",
                          hashlib.sha256).hexdigest()
    assert key_fingerprint(KEY.decode()) == fp == key_fingerprint(PseudonymKey(KEY))
    assert key_fingerprint(KEY + b"x") != fp
    assert KEY.hex() not in fp and KEY.decode() not in fp


def test_the_key_comes_from_the_caller_a_file_or_the_environment(tmp_path):
    assert load_key(KEY).secret == KEY
    f = tmp_path / "key.txt"
    f.write_bytes(KEY + b"\n")  # the final newline of `echo` is not part of the key
    assert load_key(key_file=f).secret == KEY
    assert load_key(environ={KEY_ENV: KEY.decode()}).secret == KEY


def test_a_missing_short_or_unreadable_key_is_refused_with_how_to_set_it(tmp_path):
    with pytest.raises(InputError, match=f"set the environment variable {KEY_ENV}.*"
                                         "--pseudonym-key-file"):
        load_key(environ={})
    with pytest.raises(InputError, match="is 5 bytes; at least 16"):
        load_key(environ={KEY_ENV: "short"})
    with pytest.raises(InputError, match="cannot be read"):
        load_key(key_file=tmp_path / "nope")
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(InputError, match="is empty"):
        load_key(key_file=tmp_path / "empty")
    with pytest.raises(InputError, match="not both"):
        load_key(KEY, key_file=tmp_path / "empty")


def test_the_key_never_shows_itself():
    key = load_key(KEY)
    for text in (repr(key), str(key), f"{key}", repr([key])):
        assert KEY.decode() not in text and KEY.hex() not in text
        assert key_fingerprint(KEY)[:12] in text
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(key)
    with pytest.raises(InputError) as err:
        load_key(environ={KEY_ENV: "tiny-secret"})
    assert "tiny-secret" not in str(err.value)
