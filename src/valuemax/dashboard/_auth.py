"""Who may see the dashboard: loopback only, or anyone holding the token.

- Without a token the dashboard listens on a loopback address only, and answers only
  requests whose ``Host`` is a loopback name (``localhost``, ``127.0.0.1``, ``[::1]``), so a
  web page elsewhere cannot read it through DNS rebinding.
- With a token (``--token-file`` or ``VALUEMAX_DASHBOARD_TOKEN``) it may listen on any address
  and every request must carry the token as ``Authorization: Bearer <token>`` or the cookie
  set by the ``/login`` form (an HMAC of the token, never the token itself). A token in the
  URL's query string is refused: URLs end up in logs, proxies and browser history.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
from pathlib import Path

from valuemax._core.exceptions import InputError

#: Environment variable holding the token (the CLI reads it; the library takes ``token=``).
TOKEN_ENV = "VALUEMAX_DASHBOARD_TOKEN"
#: Shortest token accepted (characters).
MIN_TOKEN_LENGTH = 16
#: Name of the session cookie set by ``/login``.
COOKIE = "valuemax_dashboard"
#: Query parameters that look like a credential (refused in a URL).
TOKEN_PARAMS = frozenset({"token", "access_token", "api_key", "apikey", "key", "auth"})


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses (``127.0.0.0/8``, ``::1``).

    Examples
    --------
    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The host of a ``Host`` header without its port (``[::1]:8050`` -> ``::1``).

    Examples
    --------
    >>> host_name("127.0.0.1:8050"), host_name("[::1]:80"), host_name("localhost")
    ('127.0.0.1', '::1', 'localhost')
    """
    h = header.strip()
    if h.startswith("["):
        return h[1:h.find("]")] if "]" in h else h
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


def check_token(token: str, source: str) -> str:
    """``token`` stripped of surrounding whitespace; InputError if too short or empty."""
    t = token.strip()
    if len(t) < MIN_TOKEN_LENGTH or any(c.isspace() for c in t):
        raise InputError(
            f"the dashboard token from {source} has {len(t)} characters"
            + (" and whitespace inside" if any(c.isspace() for c in t) else "")
            + f"; give at least {MIN_TOKEN_LENGTH} characters without spaces, e.g. from "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`")
    return t


def read_token(token_file: Path | None, environ: dict[str, str] | None = None) -> str | None:
    """The token from ``token_file``, else from ``$VALUEMAX_DASHBOARD_TOKEN``, else None.

    Raises
    ------
    InputError
        If the file cannot be read or the token is shorter than :data:`MIN_TOKEN_LENGTH`.
    """
    env = os.environ if environ is None else environ
    if token_file is not None:
        try:
            text = Path(token_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"--token-file {str(token_file)!r} cannot be read: "
                             f"{getattr(exc, 'strerror', None) or exc}") from exc
        return check_token(text, f"--token-file {str(token_file)!r}")
    if env.get(TOKEN_ENV):
        return check_token(env[TOKEN_ENV], f"${TOKEN_ENV}")
    return None


def check_host(host: str, token: str | None) -> None:
    """Refuse to listen beyond loopback without a token.

    Raises
    ------
    InputError
        If ``host`` is not a loopback address and ``token`` is None.
    """
    if token is None and not is_loopback(host):
        raise InputError(
            f"--host {host!r} is not a loopback address: anyone on the network could read "
            "the customers. Keep the default --host 127.0.0.1, or require a token with "
            f"--token-file FILE or ${TOKEN_ENV}")


def session_value(token: str) -> str:
    """The cookie value for ``token``: HMAC-SHA256 of a fixed label under the token."""
    return hmac.new(token.encode(), b"valuemax-dashboard-session", hashlib.sha256).hexdigest()


def authorized(token: str, authorization: str | None, cookie: str | None) -> bool:
    """True if the bearer header or the session cookie matches ``token`` (constant time)."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(),
                                                              token.encode()):
            return True
    return bool(cookie) and hmac.compare_digest(cookie.encode(),
                                                session_value(token).encode())
