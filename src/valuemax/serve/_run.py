"""Start the service: the token, the loopback rule, and uvicorn."""

from __future__ import annotations

import ipaddress
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from valuemax._core._net import bind_listening
from valuemax._core.exceptions import InputError

#: Environment variable holding the bearer token.
TOKEN_ENV = "VALUEMAX_API_TOKEN"
#: Shortest token accepted, in characters (``secrets.token_urlsafe(32)`` gives 43).
MIN_TOKEN_LENGTH = 16
_MAKE_ONE = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


def _check_token(token: str, where: str) -> str:
    if not token:
        raise InputError(f"{where} is empty; put a token of at least {MIN_TOKEN_LENGTH} "
                         f"characters there (make one with {_MAKE_ONE})")
    if any(ch.isspace() for ch in token) or not token.isprintable():
        raise InputError(f"{where} holds spaces or control characters inside the token; a "
                         "bearer token is one word (make one with " + _MAKE_ONE + ")")
    if len(token) < MIN_TOKEN_LENGTH:
        raise InputError(f"{where} holds a token of {len(token)} characters; at least "
                         f"{MIN_TOKEN_LENGTH} are needed (make one with {_MAKE_ONE})")
    return token


def read_token(token_file: str | Path | None, environ: Mapping[str, str]) -> str | None:
    """The service's bearer token: from ``token_file`` if given, else ``VALUEMAX_API_TOKEN``.

    Parameters
    ----------
    token_file : str or pathlib.Path, optional
        A file holding the token on its first line, readable by its owner only (mode 600).
    environ : mapping
        The environment (``os.environ``).

    Returns
    -------
    str or None
        None when neither gives a token.

    Raises
    ------
    InputError
        If the file is missing, readable by group or others, or the token is empty, shorter
        than :data:`MIN_TOKEN_LENGTH` characters or holds spaces.
    """
    if token_file is not None:
        path = Path(token_file)
        try:
            mode = path.stat().st_mode
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError(f"--token-file {str(path)!r} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"--token-file {str(path)!r} cannot be read: {exc}") from None
        if not stat.S_ISREG(mode):
            raise InputError(f"--token-file {str(path)!r} is not a file")
        if mode & 0o077:
            raise InputError(f"--token-file {str(path)!r} is readable by others (mode "
                             f"{stat.S_IMODE(mode):o}); make it private: chmod 600 {path}")
        lines = text.splitlines()
        return _check_token(lines[0].strip() if lines else "", f"--token-file {str(path)!r}")
    value = environ.get(TOKEN_ENV)
    if value is None or value == "":
        return None
    return _check_token(value.strip(), TOKEN_ENV)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1).

    Examples
    --------
    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def check_listen(host: str, port: int, token: str | None) -> None:
    """Refuse a port out of range, and any non-loopback address without a token.

    Raises
    ------
    InputError
        If ``port`` is not in 1..65535, or ``host`` is not loopback and ``token`` is None.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise InputError(f"--port {port!r} must be a port number in 1..65535 (e.g. 8000)")
    if not is_loopback(host) and token is None:
        raise InputError(f"refusing to listen on {host} without a token: any machine that "
                         "reaches it could read every customer's scores. Set "
                         f"{TOKEN_ENV} or pass --token-file FILE, or listen on 127.0.0.1")


def serve(store: str | Path, *, host: str = "127.0.0.1", port: int = 8000,
          token: str | None = None, log_level: str = "warning",
          on_ready: Any = None) -> None:
    """Serve ``store`` with uvicorn until stopped (Ctrl-C or SIGTERM).

    Parameters
    ----------
    store : str or pathlib.Path
        The DuckDB store (read-only).
    host : str, default "127.0.0.1"
        Address to listen on; beyond loopback only with a token.
    port : int, default 8000
        TCP port.
    token : str, optional
        Bearer token (see :func:`read_token`).
    log_level : str, default "warning"
        uvicorn's log level. Access logs are off: request paths carry customer ids.
    on_ready : callable, optional
        Called with the application before the server starts (the CLI prints where it
        listens).

    Raises
    ------
    InputError
        As :func:`check_listen` and :func:`valuemax.serve.create_app`, and when the
        address cannot be bound (e.g. the port is in use).
    """
    import uvicorn

    from valuemax.serve._app import create_app

    check_listen(host, port, token)
    app = create_app(store, token=token)
    sock = bind_listening(host, port, zero_picks_free=False)
    if on_ready is not None:
        on_ready(app)
    config = uvicorn.Config(app, log_level=log_level, access_log=False, server_header=False,
                            date_header=True, proxy_headers=False)
    uvicorn.Server(config).run(sockets=[sock])


