"""Keyed pseudonyms of customer ids: HMAC-SHA256, the same key giving the same pseudonyms."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from valuemax.privacy._key import PseudonymKey, _secret


def pseudonymize(ids: Iterable[str | None], key: PseudonymKey | bytes | str) -> list[str | None]:
    """Replace each id by its keyed pseudonym, ``HMAC-SHA256(key, id as UTF-8)`` in hex.

    Deterministic: the same key gives the same pseudonym for the same id in every run, so
    runs, updates and experiments still link; without the key the pseudonyms cannot be
    linked back to the ids (nor recomputed from a list of candidate ids, unlike a plain
    hash). Meant for the distinct ids of a log (few compared to its lines); the pipeline
    maps them once and joins the result back in the engine.

    Parameters
    ----------
    ids : iterable of str or None
        Customer ids as text; None stays None (a missing id).
    key : PseudonymKey, bytes or str
        The secret key (text is encoded as UTF-8).

    Returns
    -------
    list of str or None
        One 64-hex-digit pseudonym per id, in order.

    Raises
    ------
    InputError
        If ``key`` is of an unsupported type.

    References
    ----------
    .. [1] Krawczyk, Bellare & Canetti (1997). HMAC: Keyed-Hashing for Message
       Authentication. RFC 2104.

    Examples
    --------
    >>> pseudonymize(["c1", None], b"0123456789abcdef")[0][:16]
    'e13ed6f9e1b47fab'
    """
    secret = _secret(key)
    return [None if i is None else
            hmac.new(secret, str(i).encode("utf-8"), hashlib.sha256).hexdigest() for i in ids]
