"""A listening socket for the local web servers (``valuemax serve``, ``valuemax dashboard``)."""

from __future__ import annotations

import socket

from valuemax._core.exceptions import InputError


def bind_listening(host: str, port: int, *, backlog: int = 2048,
                   zero_picks_free: bool = True) -> socket.socket:
    """A socket listening on ``host:port``, bound before the server announces itself.

    Parameters
    ----------
    host : str
        Name or address (``[::1]`` brackets allowed).
    port : int
        Port; 0 picks a free one.
    backlog : int, default 2048
        Pending connections queued by the kernel.
    zero_picks_free : bool, default True
        Whether the command accepts ``--port 0`` (then the message on a port in use says so).

    Raises
    ------
    InputError
        If the host cannot be resolved or the port cannot be bound (e.g. in use), naming
        the option to change.
    """
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise InputError(f"--host {host!r} cannot be resolved: {exc.strerror}") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        hint = " (0 picks a free one)" if zero_picks_free else ""
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror}; stop the other "
                         f"server or choose another --port{hint}") from None
    sock.listen(backlog)
    return sock
