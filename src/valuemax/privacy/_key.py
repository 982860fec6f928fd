"""The pseudonym key: where it comes from, how it is kept out of every output, its fingerprint."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from valuemax._core.exceptions import InputError

#: Environment variable read for the key when no key or key file is given.
KEY_ENV = "VALUEMAX_PSEUDONYM_KEY"
#: Shortest key accepted, in bytes (128 bits).
MIN_KEY_BYTES = 16
#: The fixed label whose HMAC under the key is the key's fingerprint.
FINGERPRINT_LABEL = b"valuemax pseudonym key fingerprint v1"

_HOW = (f"set the environment variable {KEY_ENV} (e.g. export {KEY_ENV}=$(python -c "
        "'import secrets; print(secrets.token_hex(32))')) or pass "
        "pseudonym_key_file=PATH, a file holding the key (CLI --pseudonym-key-file PATH); "
        "keep the key safe and reuse it: the same key gives the same pseudonyms")


class PseudonymKey:
    """A secret HMAC key that never shows itself (``repr``/``str`` give its fingerprint).

    Parameters
    ----------
    secret : bytes
        The key, at least :data:`MIN_KEY_BYTES` bytes.
    origin : str
        Where it came from (e.g. ``"environment variable VALUEMAX_PSEUDONYM_KEY"``), for
        messages; never the key itself.

    Raises
    ------
    InputError
        If ``secret`` is not bytes or is shorter than :data:`MIN_KEY_BYTES`.
    """

    __slots__ = ("_secret", "origin")

    def __init__(self, secret: bytes, origin: str = "the caller"):
        if not isinstance(secret, bytes):
            raise InputError(f"the pseudonym key from {origin} must be bytes or text, got "
                             f"{type(secret).__name__}")
        if len(secret) < MIN_KEY_BYTES:
            raise InputError(
                f"the pseudonym key from {origin} is {len(secret)} bytes; at least "
                f"{MIN_KEY_BYTES} are needed (a short key can be guessed, and with it every "
                f"original id). Use a random key: {_HOW}"
            )
        self._secret = secret
        self.origin = origin

    @property
    def secret(self) -> bytes:
        """The key bytes (use only to compute HMACs; never write them anywhere)."""
        return self._secret

    def __repr__(self) -> str:
        return f"PseudonymKey(fingerprint={key_fingerprint(self)[:12]}..., origin={self.origin!r})"

    __str__ = __repr__

    def __reduce__(self) -> Any:  # no pickling: a pickle would hold the secret
        raise TypeError("a PseudonymKey cannot be pickled (it would write the secret)")


def _secret(key: Any) -> bytes:
    if isinstance(key, PseudonymKey):
        return key.secret
    if isinstance(key, str):
        return key.encode("utf-8")
    if isinstance(key, bytes | bytearray):
        return bytes(key)
    raise InputError(f"a pseudonym key must be bytes, text or a PseudonymKey, got "
                     f"{type(key).__name__}")


def key_fingerprint(key: PseudonymKey | bytes | str) -> str:
    """A fingerprint of the key that is safe to store: HMAC-SHA256 of a fixed label.

    Two runs used the same key exactly when their fingerprints are equal, so a store can
    record the fingerprint and refuse an update made with another key; the key cannot be
    recovered from it (HMAC is a pseudo-random function of the key).

    Parameters
    ----------
    key : PseudonymKey, bytes or str
        The key (text is encoded as UTF-8).

    Returns
    -------
    str
        64 lowercase hex digits: ``HMAC-SHA256(key, FINGERPRINT_LABEL)``.

    Raises
    ------
    InputError
        If ``key`` is of another type.

    Examples
    --------
    >>> key_fingerprint(b"0123456789abcdef")[:16]
    '14493c865647b646'
    """
    return hmac.new(_secret(key), FINGERPRINT_LABEL, hashlib.sha256).hexdigest()


def load_key(key: PseudonymKey | bytes | str | None = None, *,
             key_file: str | os.PathLike | None = None,
             environ: Mapping[str, str] | None = None) -> PseudonymKey:
    """The pseudonym key: given, read from ``key_file``, or from ``VALUEMAX_PSEUDONYM_KEY``.

    Parameters
    ----------
    key : PseudonymKey, bytes or str, optional
        The key itself (text is encoded as UTF-8).
    key_file : path, optional
        A file holding the key; surrounding whitespace (a final newline) is removed.
    environ : mapping, optional
        Where to look for :data:`KEY_ENV` (default ``os.environ``).

    Returns
    -------
    PseudonymKey

    Raises
    ------
    InputError
        If both ``key`` and ``key_file`` are given, the file cannot be read or is empty,
        no key is found anywhere (the message says how to set one), or the key is shorter
        than :data:`MIN_KEY_BYTES`. No message ever contains the key.
    """
    if key is not None and key_file is not None:
        raise InputError("give the pseudonym key once: pseudonym_key= or "
                         "pseudonym_key_file=, not both")
    if isinstance(key, PseudonymKey):
        return key
    if key is not None:
        return PseudonymKey(_secret(key).strip(), "pseudonym_key=")
    if key_file is not None:
        path = Path(key_file).expanduser()
        try:
            secret = path.read_bytes().strip()
        except OSError as exc:
            raise InputError(f"pseudonym_key_file={str(path)!r} cannot be read "
                             f"({exc.strerror}); give the path of a file holding the key "
                             "(CLI --pseudonym-key-file PATH)") from None
        if not secret:
            raise InputError(f"pseudonym_key_file={str(path)!r} is empty; write the key "
                             "into it (e.g. python -c 'import secrets; "
                             "print(secrets.token_hex(32))' > keyfile)")
        return PseudonymKey(secret, f"file {str(path)!r}")
    env = os.environ if environ is None else environ
    value = env.get(KEY_ENV, "").strip()
    if not value:
        raise InputError(f"pseudonymising customer ids needs a secret key and none was "
                         f"found: {_HOW}")
    return PseudonymKey(value.encode("utf-8"), f"environment variable {KEY_ENV}")
