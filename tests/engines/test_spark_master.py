"""A cluster master that does not answer, or is not a Spark master, is refused in seconds,
in one line, before any JVM; ``yarn`` without its configuration too.

Real sockets on loopback: a port nobody listens on (bound, then closed), a listening one that
says nothing, and real HTTP servers (``http.server``: a plain one, and one serving a page as
a Spark master's web UI does).
"""

from __future__ import annotations

import http.server
import socket
import subprocess
import sys
import threading

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
            rf"cannot reach the Spark master spark://127\.0\.0\.1:{port}: 127\.0\.0\.1:{port} "
            r"\(no connection: Connection refused\) within 1 s\. Check the URL "
            r"\(CLI --spark-master\)")):
        check_master_reachable(f"spark://127.0.0.1:{port}", timeout=1)


def test_one_answering_master_of_several_is_enough(listening):
    dead = _closed_port()
    check_master_reachable(f"spark://127.0.0.1:{dead},127.0.0.1:{listening}", timeout=1)
    with pytest.raises(InputError, match=rf"127\.0\.0\.1:{dead} \(no connection: Connection "
                                         rf"refused\), 127\.0\.0\.1:{dead} \(no connection"):
        check_master_reachable(f"spark://127.0.0.1:{dead},127.0.0.1:{dead}", timeout=1)


def test_kubernetes_api_address_is_checked(listening):
    check_master_reachable(f"k8s://https://127.0.0.1:{listening}", timeout=1)
    dead = _closed_port()
    with pytest.raises(InputError, match=rf"no connection to 127\.0\.0\.1:{dead}"):
        check_master_reachable(f"k8s://http://127.0.0.1:{dead}", timeout=1)


@pytest.mark.parametrize("master", ["local[2]", "local[*]", "local-cluster[2,1,1024]"])
def test_local_masters_are_not_checked(master):
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


#: What a Spark master's web UI (MasterPage) shows at the top of its page.
_UI_PAGE = (b"<html><head><title>Spark Master at spark://10.1.2.3:7077</title></head><body>"
            b"<h3>Spark Master at spark://10.1.2.3:7077</h3></body></html>")


class _Page(http.server.BaseHTTPRequestHandler):
    body = b"<html><body>hello</body></html>"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):  # quiet
        pass

    def log_error(self, *args):
        pass


def _http_server(body):
    handler = type("Handler", (_Page,), {"body": body})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


@pytest.fixture
def http_port():
    server = _http_server(_Page.body)
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def spark_ui_port():
    server = _http_server(_UI_PAGE)
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_an_http_server_is_not_a_spark_master(http_port):
    """A plain web server accepts the connection but answers Spark's frame with HTTP."""
    with pytest.raises(InputError, match=(
            rf"cannot reach the Spark master spark://127\.0\.0\.1:{http_port}: "
            rf"127\.0\.0\.1:{http_port} \(an HTTP server answers there, not Spark's RPC "
            r"protocol; a Spark master's web UI listens on 8080 by default, its RPC port, the "
            r"one to pass, on 7077\)")):
        check_master_reachable(f"spark://127.0.0.1:{http_port}", timeout=2)


def test_the_web_ui_port_gives_the_master_url(spark_ui_port):
    with pytest.raises(InputError, match=(
            r"it is a Spark master's web UI, whose master URL is spark://10\.1\.2\.3:7077; "
            r"pass that")):
        check_master_reachable(f"spark://127.0.0.1:{spark_ui_port}", timeout=2)


def test_an_http_server_beside_a_possible_master_is_passed_over(http_port, listening):
    """With several masters listed, one that may be Spark (silent here) is enough."""
    check_master_reachable(f"spark://127.0.0.1:{http_port},127.0.0.1:{listening}", timeout=1)


def test_yarn_needs_its_configuration(monkeypatch, tmp_path):
    monkeypatch.delenv("HADOOP_CONF_DIR", raising=False)
    monkeypatch.delenv("YARN_CONF_DIR", raising=False)
    with pytest.raises(InputError, match=(
            r"spark_master='yarn' needs the cluster's Hadoop configuration, and neither "
            r"HADOOP_CONF_DIR nor YARN_CONF_DIR is set")):
        check_master_reachable("yarn", timeout=1)
    monkeypatch.setenv("HADOOP_CONF_DIR", str(tmp_path))
    with pytest.raises(InputError, match=rf"no yarn-site\.xml in HADOOP_CONF_DIR={tmp_path}"):
        check_master_reachable("yarn", timeout=1)


def _yarn_site(folder, properties):
    rows = "".join(f"<property><name>{k}</name><value>{v}</value></property>"
                   for k, v in properties.items())
    (folder / "yarn-site.xml").write_text(
        f'<?xml version="1.0"?><configuration>{rows}</configuration>', encoding="utf-8")


def test_yarn_resource_manager_must_answer(monkeypatch, tmp_path, listening):
    monkeypatch.delenv("HADOOP_CONF_DIR", raising=False)
    monkeypatch.setenv("YARN_CONF_DIR", str(tmp_path))
    dead = _closed_port()
    _yarn_site(tmp_path, {"yarn.resourcemanager.hostname": "127.0.0.1",
                          "yarn.resourcemanager.address":
                              f"${{yarn.resourcemanager.hostname}}:{dead}"})
    with pytest.raises(InputError, match=(
            rf"spark_master='yarn': no connection to the ResourceManager 127\.0\.0\.1:{dead} "
            rf"named in {tmp_path}/yarn-site\.xml \(Connection refused\) within 1 s")):
        check_master_reachable("yarn", timeout=1)
    _yarn_site(tmp_path, {"yarn.resourcemanager.address": f"127.0.0.1:{listening}"})
    check_master_reachable("yarn", timeout=1)
    # with high availability YARN's client picks the active ResourceManager itself
    _yarn_site(tmp_path, {"yarn.resourcemanager.ha.enabled": "true",
                          "yarn.resourcemanager.address": f"127.0.0.1:{dead}"})
    check_master_reachable("yarn", timeout=1)


def _cli(args, env=None):
    import os

    proc = subprocess.run([sys.executable, "-m", "valuemax.cli", *args], capture_output=True,
                          text=True, timeout=300, check=False,
                          env=None if env is None else {**os.environ, **env})
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def test_cli_http_server_as_master_is_one_line_without_java(http_port, tmp_path, datasets):
    code, text = _cli(["analyze", str(datasets("cdnow/CDNOW_sample.txt")), "--engine",
                       "spark", "--spark-master", f"spark://127.0.0.1:{http_port}",
                       "--out", str(tmp_path / "out")])
    assert code == 2, text
    assert "an HTTP server answers there, not Spark's RPC protocol" in text
    assert "Traceback" not in text and "java." not in text and "WARN" not in text
    assert len(text.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_cli_yarn_without_configuration_is_one_line_without_java(tmp_path, datasets):
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("HADOOP_CONF_DIR", "YARN_CONF_DIR")}
    proc = subprocess.run(
        [sys.executable, "-m", "valuemax.cli", "analyze",
         str(datasets("cdnow/CDNOW_sample.txt")), "--engine", "spark", "--spark-master",
         "yarn", "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300, check=False, env=env)
    text = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 2, text
    assert "neither HADOOP_CONF_DIR nor YARN_CONF_DIR is set" in text
    assert len(text.splitlines()) == 1 and "java." not in text


_START = """
import sys
from valuemax.engines import spark_session
from valuemax.exceptions import InputError
try:
    spark_session(master=sys.argv[1], start_timeout=float(sys.argv[2]), memory="512m")
except InputError as exc:
    print(exc)
    sys.exit(2)
"""


@pytest.mark.spark
def test_a_silent_master_is_given_up_within_the_start_timeout(listening):
    """A listener that never speaks passes the probe (an authenticating master may behave
    so): the JVM starts, its output goes to a log file instead of the terminal, and the
    start is refused after ``start_timeout`` with the JVM stopped."""
    import re
    from pathlib import Path

    proc = subprocess.run([sys.executable, "-c", _START, f"spark://127.0.0.1:{listening}", "8"],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == ""  # nothing from the JVM on the terminal
    text = proc.stdout.strip()
    assert len(text.splitlines()) == 1, text
    assert text.startswith(f"the Spark session (master spark://127.0.0.1:{listening}) could "
                           "not start: it did not register with the master within 8 s")
    log = re.search(r"the JVM's log: (\S+valuemax-spark-\S+\.log)\)", text)
    assert log is not None, text
    # the JVM wrote there: its launcher's and Spark's lines
    assert "Spark" in Path(log.group(1)).read_text(encoding="utf-8", errors="replace")
    Path(log.group(1)).unlink()


@pytest.fixture
def banner_port():
    """A TCP server that greets every connection with an SSH banner, as sshd does."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def test_another_protocol_is_refused_with_its_first_bytes(banner_port):
    with pytest.raises(InputError, match=(
            rf"127\.0\.0\.1:{banner_port} \(something answers there, but not in Spark's RPC "
            r"protocol: its first bytes b'SSH-2\.0-OpenSSH_9\.2p1 De'\)")):
        check_master_reachable(f"spark://127.0.0.1:{banner_port}", timeout=2)


def test_the_jvm_log_gives_spark_s_reason_for_giving_up(tmp_path):
    """The line the message quotes: Spark's reason when it gave up, not a later echo."""
    from valuemax.engines._connect import _last_error

    log = tmp_path / "valuemax-spark-x.log"
    log.write_text(
        "26/12/06 23:56:29 WARN NativeCodeLoader: Unable to load native-hadoop library\n"
        "26/12/06 23:57:32 ERROR StandaloneSchedulerBackend: Application has been killed. "
        "Reason: All masters are unresponsive! Giving up.\n"
        "26/12/06 23:57:36 ERROR TransportResponseHandler: Still have 3 requests "
        "outstanding when connection from /127.0.0.1:35591 is closed\n", encoding="utf-8")
    assert _last_error(str(log)) == ("StandaloneSchedulerBackend: Application has been "
                                     "killed. Reason: All masters are unresponsive! Giving up.")
    log.write_text("26/12/06 23:57:36 ERROR SparkContext: Error initializing SparkContext.\n"
                   "26/12/06 23:57:37 INFO ShutdownHookManager: Shutdown hook called\n",
                   encoding="utf-8")
    assert _last_error(str(log)) == "SparkContext: Error initializing SparkContext."
    log.write_text("26/12/06 23:57:37 INFO ShutdownHookManager: Shutdown hook called\n",
                   encoding="utf-8")
    assert _last_error(str(log)) is None
