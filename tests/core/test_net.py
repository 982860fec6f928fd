"""The listening socket of ``serve`` and ``dashboard``: a port in use is one clear message,
whose advice matches what the command accepts."""

from __future__ import annotations

import socket

import pytest

from valuemax._core._net import bind_listening
from valuemax.exceptions import InputError


@pytest.fixture
def taken():
    """A port bound and listening on loopback for the test's duration."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        yield s.getsockname()[1]


def test_port_in_use_names_the_option(taken):
    with pytest.raises(InputError, match=rf"cannot listen on 127\.0\.0\.1:{taken}: .*; stop "
                                         r"the other server or choose another --port "
                                         r"\(0 picks a free one\)$"):
        bind_listening("127.0.0.1", taken)


def test_no_free_port_advice_where_the_command_refuses_port_0(taken):
    """``serve`` accepts ports 1..65535 only: its message must not advise --port 0."""
    with pytest.raises(InputError) as err:
        bind_listening("127.0.0.1", taken, zero_picks_free=False)
    assert str(err.value).endswith("choose another --port")


def test_port_0_picks_a_free_one():
    sock = bind_listening("127.0.0.1", 0)
    try:
        assert sock.getsockname()[1] > 0
    finally:
        sock.close()
