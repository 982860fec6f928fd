"""A cluster master that does not answer is refused in seconds, in one line, before any JVM.

Real sockets on loopback: a port nobody listens on (bound, then closed) and a listening one.
"""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from valuemax.engines._connect import check_master_reachable
from valuemax.exceptions import InputError


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def listening():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(4)
    yield s.getsockname()[1]
    s.close()


def test_an_unreachable_standalone_master_is_refused():
    port = _closed_port()
    with pytest.raises(InputError, match=(
            rf"cannot reach the Spark master spark://127\.0\.0\.1:{port}: no connection to "
            rf"127\.0\.0\.1:{port} \(Connection refused\) within 1 s\. Check the URL "
            r"\(CLI --spark-master\)")):
        check_master_reachable(f"spark://127.0.0.1:{port}", timeout=1)


def test_one_answering_master_of_several_is_enough(listening):
    dead = _closed_port()
    check_master_reachable(f"spark://127.0.0.1:{dead},127.0.0.1:{listening}", timeout=1)
    with pytest.raises(InputError, match=rf"127\.0\.0\.1:{dead} \(Connection refused\), "
                                         rf"127\.0\.0\.1:{dead} \(Connection refused\)"):
        check_master_reachable(f"spark://127.0.0.1:{dead},127.0.0.1:{dead}", timeout=1)


def test_kubernetes_api_address_is_checked(listening):
    check_master_reachable(f"k8s://https://127.0.0.1:{listening}", timeout=1)
    dead = _closed_port()
    with pytest.raises(InputError, match=rf"no connection to 127\.0\.0\.1:{dead}"):
        check_master_reachable(f"k8s://http://127.0.0.1:{dead}", timeout=1)


@pytest.mark.parametrize("master", ["local[2]", "local[*]", "yarn"])
def test_local_and_yarn_are_not_checked(master):
    check_master_reachable(master, timeout=0.01)


def test_cli_unreachable_master_is_one_line_without_java(tmp_path, datasets):
    """The whole command: exit 2, one line, no Java stack trace, no JVM started (the
    check runs before the session)."""
    port = _closed_port()
    proc = subprocess.run(
        [sys.executable, "-m", "valuemax.cli", "analyze", str(datasets("cdnow/CDNOW_sample.txt")),
         "--engine", "spark", "--spark-master", f"spark://127.0.0.1:{port}",
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 2, proc.stderr
    text = (proc.stdout + proc.stderr).strip()
    assert f"cannot reach the Spark master spark://127.0.0.1:{port}" in text
    assert "Traceback" not in text and "java." not in text and "Exception" not in text
    assert len(text.splitlines()) == 1
