"""Open Ibis backends: DuckDB with offline-safe settings, PySpark local mode on request."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import socket
import stat
import tempfile
import uuid
import weakref
from pathlib import Path
from typing import Any

import ibis
from ibis.backends import BaseBackend

from valuemax._core.exceptions import InputError

_SPARK_HINT = "install the Spark extra: pip install 'valuemax[spark]' (needs Java 17)"

#: URL scheme -> (Ibis backend, the driver module it imports, the valuemax extra).
_SERVERS = {
    "postgres": ("postgres", "psycopg", "postgres"),
    "postgresql": ("postgres", "psycopg", "postgres"),
    "mysql": ("mysql", "MySQLdb", "mysql"),
    "mariadb": ("mysql", "MySQLdb", "mysql"),
}
#: ``user:password@host...`` without a scheme: a server address, not a DuckDB file name.
_CREDENTIALS = re.compile(r"[^/\\:@]+:[^/@]*@")
#: ``user:password@`` after the scheme; the password runs to the LAST ``@`` before the path, so
#: an unencoded ``@`` in it (``bob:p@ss@host``) is masked whole.
_PASSWORD = re.compile(r"(?<=://)([^:/@]*):([^/]*)@")
#: a password given as a query parameter (``?password=...``, libpq's and MySQL's spelling)
_QUERY_PASSWORD = re.compile(r"([?&](?:password|passwd|pwd)=)[^&#]*", re.IGNORECASE)


#: DuckDB's memory cap for valuemax (its own default is 80 % of RAM). Measured on a 10M-line
#: log: peak RSS 7.5 GB -> 3.5 GB and faster (less memory pressure); larger work spills to disk.
DEFAULT_MEMORY_LIMIT = "3GB"


#: Start of the name of a connection's spill folder (:func:`connect`).
_SPILL_PREFIX = "valuemax-duckdb-spill-"
#: ``valuemax-duckdb-spill-<host>-<pid>-<random>``: the host's tag, the owner's process id
_SPILL_NAME = re.compile(re.escape(_SPILL_PREFIX) + r"([0-9a-f]{8})-([1-9]\d*)-[0-9a-f]{12}")
#: ``valuemax-duckdb-spill-<pid>-<random>``: the name before the host tag (valuemax up to
#: the sweep's introduction); such a folder is swept by the same rules, the host unknown
_OLD_SPILL_NAME = re.compile(re.escape(_SPILL_PREFIX) + r"([1-9]\d*)-[0-9a-f]{12}")


def _host_tag() -> str:
    """8 hex digits naming this host (its name hashed), in the spill folders' names: a temp
    folder shared with another host or container (another set of process ids) is never
    swept by this one."""
    return hashlib.sha256(socket.gethostname().encode("utf-8")).hexdigest()[:8]


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (of any user: a number reused by another process
    counts as alive too, so a folder is never removed while its number runs)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists, under another user
        return True
    return True


def _spill_pid(name: str, tag: str) -> int | None:
    """The process id in a spill folder's name of this host (``tag``) or of the earlier
    naming without a tag; None for any other name."""
    m = _SPILL_NAME.fullmatch(name)
    if m is not None:
        return int(m.group(2)) if m.group(1) == tag else None
    old = _OLD_SPILL_NAME.fullmatch(name)
    return None if old is None else int(old.group(1))


def sweep_spill_folders(temp: Path) -> list[Path]:
    """Remove the spill folders in ``temp`` left by valuemax processes of this host and
    user that no longer run (killed with SIGKILL or crashed before closing their
    connection); return the folders removed.

    A folder is removed only when its name is a spill folder's
    (``valuemax-duckdb-spill-<host>-<pid>-<random>``) with this host's tag, or one of the
    earlier naming without a host tag (``valuemax-duckdb-spill-<pid>-<random>``, written by
    valuemax before the tag; taken as this host's), it is a real folder (not a link) owned
    by this user, and no process ``pid`` runs. A folder of a live
    process is never touched (nor one whose number another process took since: it is
    swept once that one ends); a folder that cannot be removed is left as it is. POSIX
    only (elsewhere nothing is swept).

    Parameters
    ----------
    temp : Path
        The folder holding the spill folders (the system temp directory).

    Returns
    -------
    list of Path
        The folders removed.
    """
    if os.name != "posix":
        return []
    tag, removed = _host_tag(), []
    try:
        entries = list(os.scandir(temp))
    except OSError:
        return []
    for entry in entries:
        pid = _spill_pid(entry.name, tag)
        if pid is None or pid == os.getpid():
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
            continue
        if _alive(pid):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        if not os.path.lexists(entry.path):
            removed.append(Path(entry.path))
    return removed


def connect(target: str | Path | BaseBackend | Any | None = None, *, threads: int | None = None,
            memory_limit: str | None = DEFAULT_MEMORY_LIMIT):
    """Return an Ibis backend for ``target``.

    Parameters
    ----------
    target : str, Path, ibis backend, SparkSession or None
        ``None``: in-memory DuckDB. A path (``.duckdb``/``.db`` or any file name): a DuckDB
        file, created with its parent folders when missing. A URL with ``://``: passed to
        ``ibis.connect`` (``postgres://...``, ``mysql://...``). An Ibis backend: returned as is.
        A ``pyspark.sql.SparkSession``: wrapped with ``ibis.pyspark.connect``.
    threads : int, optional
        DuckDB worker threads; default all cores.
    memory_limit : str or None, default "3GB"
        DuckDB ``memory_limit``; beyond it DuckDB spills to a temporary folder under the
        system temp directory (never the current directory or the output folder), one per
        connection (``valuemax-duckdb-spill-<host>-<pid>-<random>``: two jobs at once on
        one machine must not read each other's spill files), created owner-only (0700)
        when the connection opens and removed when it is disconnected (or garbage-collected,
        or at exit). A folder left by a process that was
        killed (SIGKILL, a crash) is removed by the next connection
        (:func:`sweep_spill_folders`). ``None``: DuckDB's own default (80 % of RAM).

    Returns
    -------
    ibis.backends.BaseBackend

    Raises
    ------
    InputError
        If the path's folder cannot be created or the URL's backend is not installed.

    Notes
    -----
    DuckDB is opened with ``autoinstall_known_extensions = false``: extensions that would be
    downloaded at run time (excel, httpfs, postgres scanner) fail fast instead of hanging
    without a network (DESIGN.md §2), and with ``enable_progress_bar = false``: DuckDB's
    Python client draws a progress bar on standard output for any query longer than two
    seconds, even when standard output is a pipe, which would corrupt ``--json`` output and
    the terminal's step lines.
    """
    if isinstance(target, BaseBackend):
        return target
    if target is not None and type(target).__module__.startswith("pyspark"):
        return ibis.pyspark.connect(target)
    if isinstance(target, str) and "://" in target:
        return connect_url(target)
    if isinstance(target, str) and _CREDENTIALS.match(target):
        raise InputError(
            f"{redact('x://' + target)[4:]!r} looks like a database server's address without "
            "its scheme (user:password@host/...); write postgres://USER:PASSWORD@HOST:PORT/DB "
            "or mysql://... (a plain name is a DuckDB file)")
    config: dict[str, Any] = {"autoinstall_known_extensions": False}
    if threads is not None:
        config["threads"] = int(threads)
    if memory_limit is not None:
        config["memory_limit"] = memory_limit
        spill = _make_spill_folder()
        config["temp_directory"] = str(spill)
    try:
        if target is None:
            con = ibis.duckdb.connect(":memory:", **config)
        else:
            path = Path(target)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise InputError(
                    f"cannot create the folder for the store {str(path)!r}: {exc}") from exc
            con = ibis.duckdb.connect(str(path), **config)
    except BaseException:
        if memory_limit is not None:
            shutil.rmtree(spill, ignore_errors=True)
        raise
    con.raw_sql("SET enable_progress_bar = false")     # a connection option, not a global one
    if memory_limit is not None:
        _remove_spill_folder_with(con, spill)
    return con


def _make_spill_folder() -> Path:
    """Sweep the folders of dead runs, then create this connection's spill folder owner-only
    (0700 whatever the umask: the spill files hold customer ids and amounts, and DuckDB
    itself would create the folder with the umask's mode, e.g. 0755)."""
    temp = Path(tempfile.gettempdir())
    sweep_spill_folders(temp)
    folder = temp / f"{_SPILL_PREFIX}{_host_tag()}-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    os.mkdir(folder, 0o700)       # fails if it exists: never a folder (or link) of another
    os.chmod(folder, 0o700)       # the umask may have taken bits off mkdir's mode
    return folder


def _remove_spill_folder_with(con: Any, folder: Path) -> None:
    """Remove ``folder`` when ``con`` is disconnected, garbage-collected or at exit (DuckDB
    deletes its spill files on close but leaves a folder it did not create itself)."""
    remove = weakref.finalize(con, shutil.rmtree, str(folder), ignore_errors=True)
    disconnect = con.disconnect

    def disconnect_and_remove() -> None:
        disconnect()
        remove()

    con.disconnect = disconnect_and_remove


#: Spark master URLs (the forms ``spark-submit --master`` takes; Mesos left Spark in 4.0).
_SPARK_MASTER = re.compile(
    r"local(\[(\*|[1-9]\d*)(,\s*[1-9]\d*)?\])?"              # local, local[4], local[*,3]
    r"|local-cluster\[[1-9]\d*,\s*[1-9]\d*,\s*[1-9]\d*\]"     # local-cluster[2,1,1024]
    r"|spark://[\w.-]+:\d{1,5}(,[\w.-]+:\d{1,5})*"              # standalone, HA masters
    r"|yarn"
    r"|k8s://(https?://)?[\w.-]+(:\d{1,5})?(/[\w./-]*)?"         # Kubernetes API server
)
#: The master valuemax starts when none is given: every core of this machine.
DEFAULT_SPARK_MASTER = "local[*]"


def check_spark_master(master: Any) -> str:
    """Return ``master`` when it is a Spark master URL, else raise.

    Parameters
    ----------
    master : str
        ``local``, ``local[N]``, ``local[*]``, ``local[N,F]`` (F task retries),
        ``local-cluster[W,C,M]``, ``spark://HOST:PORT[,HOST:PORT...]``, ``yarn`` or
        ``k8s://[https://]HOST[:PORT]``.

    Returns
    -------
    str

    Raises
    ------
    InputError
        If ``master`` is not a string of one of these forms (the message lists them).

    Examples
    --------
    >>> check_spark_master("local[1]")
    'local[1]'
    >>> check_spark_master("spark://10.0.0.5:7077")
    'spark://10.0.0.5:7077'
    """
    if isinstance(master, str) and _SPARK_MASTER.fullmatch(master.strip()):
        return master.strip()
    shown = redact(master) if isinstance(master, str) else master
    raise InputError(
        f"spark_master={shown!r} is not a Spark master URL; expected local[*], local[N] "
        f"(N threads), spark://HOST:PORT (a standalone cluster), yarn or "
        f"k8s://https://HOST:PORT, as spark-submit --master takes (CLI --spark-master)"
    )


#: Seconds to wait for a TCP connection to a cluster master (and for its answer to the
#: protocol probe) before giving up.
MASTER_CONNECT_TIMEOUT_S = 5.0
#: Seconds a session valuemax starts on a cluster master may take to register before the
#: JVM is stopped (a standalone master that never answers: Spark itself retries 3 x 20 s).
SPARK_START_TIMEOUT_S = 120.0
#: Spark's transport frames: an 8-byte big-endian length (the whole frame), a 1-byte message
#: type, the body. The probe is a ``ChunkFetchRequest`` (type 0) of stream -1: a Spark
#: master's RPC server answers ``ChunkFetchFailure`` (type 2), no stream being open. Its
#: chunk index is the bytes CR LF CR LF, so an HTTP server reads the frame as a complete
#: (malformed) request and answers it at once (400) instead of waiting for a line end.
_SPARK_PROBE = (21).to_bytes(8, "big") + b"\x00" + (-1).to_bytes(8, "big", signed=True) \
    + b"\r\n\r\n"
_SPARK_URL = re.compile(r"spark://[\w.-]+:\d{1,5}")


def _probe_spark(host: str, port: int, timeout: float) -> str | None:
    """Connect to ``host:port`` and tell whether Spark's RPC protocol answers there.

    Returns None when it may be a Spark master (a Spark frame back; or nothing readable:
    silence, a closed connection, which an authenticating master also gives), else the
    reason it is not (no connection; an HTTP server, with the master URL a Spark web UI
    shows; another answer, with its first bytes). Raises nothing.
    """
    import socket

    try:
        conn = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        return f"{host}:{port} (no connection: {exc.strerror or exc.__class__.__name__})"
    data = b""
    try:
        conn.settimeout(timeout)
        conn.sendall(_SPARK_PROBE)
        while len(data) < 9:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:  # silence or a reset: not recognisably something else
        pass
    finally:
        conn.close()
    length = int.from_bytes(data[:8], "big")
    if not data or (len(data) >= 9 and 9 <= length < 2**31 and data[8] < 32):
        return None  # nothing, or a Spark frame (a length, then a message type)
    lower = data.decode("latin-1").lower()
    if data.startswith(b"HTTP/") or "<html" in lower or "<!doctype html" in lower:
        ui = _spark_ui_master(host, port, timeout)
        return (f"{host}:{port} (an HTTP server answers there, not Spark's RPC protocol"
                + (f": it is a Spark master's web UI, whose master URL is {ui}; pass that"
                   if ui else "; a Spark master's web UI listens on 8080 by default, its "
                   "RPC port, the one to pass, on 7077") + ")")
    if len(data) < 9:
        return None  # a few bytes, then the end: not enough to tell
    return (f"{host}:{port} (something answers there, but not in Spark's RPC protocol: its "
            f"first bytes {data[:24]!r})")


def _spark_ui_master(host: str, port: int, timeout: float) -> str | None:
    """The ``spark://`` URL a Spark master's web UI at ``host:port`` shows, if it shows one."""
    import http.client

    try:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.request("GET", "/")
            body = conn.getresponse().read(200_000).decode("utf-8", "replace")
        finally:
            conn.close()
    except (OSError, http.client.HTTPException):
        return None
    found = _SPARK_URL.search(body) if "Spark Master" in body else None
    return found.group(0) if found else None


def check_master_reachable(master: str, timeout: float = MASTER_CONNECT_TIMEOUT_S) -> None:
    """Refuse a cluster master that cannot work, in seconds and before any JVM starts.

    Without this check the JVM starts, retries the master for a minute or more and fails
    with Java stack traces. ``spark://HOST:PORT[,HOST:PORT]`` (a standalone cluster may
    list several masters; one possible master is enough): each address must accept a TCP
    connection, and is sent a Spark transport frame (a chunk fetch of no stream, which a
    master answers with a failure frame): an HTTP server answering there (a web server, or
    the master's own web UI, whose page then gives the right URL) is refused; silence or a
    closed connection (a master requiring authentication) is not. ``k8s://``: the API
    server's address must accept a TCP connection. ``yarn``: ``HADOOP_CONF_DIR`` or
    ``YARN_CONF_DIR`` must name a folder holding ``yarn-site.xml`` (Spark needs one of the
    two variables), and when that file names the ResourceManager's address (no high
    availability), it must accept a TCP connection. ``local`` and ``local-cluster`` are not
    checked.

    Parameters
    ----------
    master : str
        A URL accepted by :func:`check_spark_master`.
    timeout : float, default 5.0
        Seconds per connection attempt and per answer awaited.

    Raises
    ------
    InputError
        If no listed master may be one: each address and why (no connection, the operating
        system's reason; an HTTP server), and what to check; ``yarn`` without its
        configuration (the variables to set) or with an unreachable ResourceManager.
    """
    import socket

    if master == "yarn":
        _check_yarn(timeout)
        return
    if master.startswith("spark://"):
        reasons = []
        for address in master[len("spark://"):].split(","):
            host, port = address.rsplit(":", 1)
            reason = _probe_spark(host.strip("[]"), int(port), timeout)
            if reason is None:
                return
            reasons.append(reason)
        raise InputError(
            f"cannot reach the Spark master {master}: {', '.join(reasons)} within "
            f"{timeout:g} s. Check the URL (CLI --spark-master), that the master runs "
            "(sbin/start-master.sh prints its spark:// URL) and that this machine can reach "
            "it (firewall, VPN)")
    if not master.startswith("k8s://"):
        return
    rest = master[len("k8s://"):]
    secure = not rest.startswith("http://")
    rest = rest.split("://", 1)[-1].split("/", 1)[0]
    parts = rest.rsplit(":", 1) if ":" in rest else [rest]
    host, port = parts[0].strip("[]"), int(parts[1]) if len(parts) > 1 else (443 if secure
                                                                            else 80)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        raise InputError(
            f"cannot reach the Spark master {master}: no connection to {host}:{port} "
            f"({exc.strerror or exc.__class__.__name__}) within {timeout:g} s. Check the URL "
            "(CLI --spark-master), that the Kubernetes API server answers there (kubectl "
            "cluster-info prints its address) and that this machine can reach it (firewall, "
            "VPN)") from None


def _check_yarn(timeout: float) -> None:
    """``yarn``: the Hadoop configuration folder is set and has ``yarn-site.xml``; the
    ResourceManager it names (without high availability) accepts a TCP connection."""
    import socket
    import xml.etree.ElementTree as ET

    given = {v: os.environ[v] for v in ("HADOOP_CONF_DIR", "YARN_CONF_DIR")
             if os.environ.get(v)}
    if not given:
        raise InputError(
            "spark_master='yarn' needs the cluster's Hadoop configuration, and neither "
            "HADOOP_CONF_DIR nor YARN_CONF_DIR is set: set one to the folder holding the "
            "cluster's yarn-site.xml and core-site.xml (e.g. export "
            "HADOOP_CONF_DIR=/etc/hadoop/conf), or pass another master (CLI --spark-master)")
    sites = [Path(d) / "yarn-site.xml" for d in given.values()]
    site = next((p for p in sites if p.is_file()), None)
    if site is None:
        shown = ", ".join(f"{v}={d}" for v, d in given.items())
        raise InputError(
            f"spark_master='yarn': no yarn-site.xml in {shown}: point the variable at the "
            "folder holding the cluster's yarn-site.xml and core-site.xml (the cluster's "
            "gateway machines have it, often /etc/hadoop/conf)")
    try:
        props = {p.findtext("name", "").strip(): p.findtext("value", "").strip()
                 for p in ET.parse(site).getroot().iter("property")}
    except (ET.ParseError, OSError) as exc:
        raise InputError(f"spark_master='yarn': cannot read {site}: {exc}") from None
    if props.get("yarn.resourcemanager.ha.enabled", "").lower() == "true":
        return  # several ResourceManagers, one active: YARN's client finds it
    hostname = props.get("yarn.resourcemanager.hostname", "0.0.0.0")
    address = props.get("yarn.resourcemanager.address") or f"{hostname}:8032"
    address = address.replace("${yarn.resourcemanager.hostname}", hostname)
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return  # a form Hadoop may resolve further: left to YARN's client
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise InputError(
            f"spark_master='yarn': no connection to the ResourceManager {host}:{port} "
            f"named in {site} ({exc.strerror or exc.__class__.__name__}) within {timeout:g} "
            "s. Check that the ResourceManager runs and that this machine can reach it, or "
            "that HADOOP_CONF_DIR/YARN_CONF_DIR names this cluster's configuration") from None


def spark_session(*, app_name: str = "valuemax", memory: str = "2g",
                  master: str | None = None, start_timeout: float = SPARK_START_TIMEOUT_S):
    """Start (or reuse) a PySpark session configured for valuemax.

    Sets ``SPARK_LOCAL_IP=127.0.0.1`` when unset, enables Arrow transfers, the session time
    zone UTC (so timestamps are not shifted) and, in local mode, 2 shuffle partitions and a
    warehouse folder of its own under the system temp directory (tables written with
    ``schema=`` go there, never into the current directory; a local session's catalog is
    in memory and forgets them when it stops).

    Parameters
    ----------
    app_name : str
        Application name shown by the cluster manager.
    memory : str
        ``spark.driver.memory`` (JVM size syntax, e.g. ``"2g"``); only applies when this call
        starts the JVM (``spark-submit --driver-memory`` sets it otherwise).
    master : str, optional
        Spark master URL (:func:`check_spark_master`); default ``local[*]``. A cluster master
        keeps the cluster's own shuffle partitions and warehouse.
    start_timeout : float, default 120
        With a cluster master (``spark://``, ``yarn``, ``k8s://``): seconds the session may
        take to start once the JVM runs (registering with the master included) before the
        JVM is stopped and the start refused. Such a JVM, when this call starts it, writes
        its output to a log file ``valuemax-spark-*.log`` under the system temp directory,
        not to the terminal; a failed start names the file and its last ``ERROR`` line.

    Returns
    -------
    pyspark.sql.SparkSession

    Raises
    ------
    InputError
        If PySpark is not installed (with the ``pip install`` fix), ``master`` is malformed
        or unreachable (:func:`check_master_reachable`), a session with another master
        already runs in this process (Spark allows one per process: pass that session as
        ``engine=`` instead), or the session cannot start (the JVM's first error line) or,
        on a cluster master, does not start within ``start_timeout``.
    """
    master = check_spark_master(DEFAULT_SPARK_MASTER if master is None else master)
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise InputError(f"PySpark is not installed: {_SPARK_HINT}") from exc
    active = SparkSession.getActiveSession()
    if active is not None:
        running = active.sparkContext.master
        if running != master:
            raise InputError(
                f"a Spark session with master {running!r} already runs in this process and "
                f"Spark allows one per process, so spark_master={master!r} cannot start; pass "
                f"that session as engine= (or stop it first)"
            )
        return active
    check_master_reachable(master)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.driver.memory", memory)
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
    )
    if master.startswith("local"):
        warehouse = tempfile.mkdtemp(prefix="valuemax-spark-warehouse-")
        builder = (builder.config("spark.sql.shuffle.partitions", "2")
                   .config("spark.sql.warehouse.dir", warehouse))
        try:
            return builder.getOrCreate()
        except Exception as exc:  # Py4JJavaError, PySparkRuntimeError (no Java): one line
            raise _start_error(master, exc) from exc
    return _start_on_cluster(builder, master, start_timeout)


def _start_error(master: str, exc: BaseException, log: str | None = None,
                 detail: str | None = None) -> InputError:
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return InputError(
        f"the Spark session (master {master}) could not start: "
        + (detail or f"{type(exc).__name__}: {first[:300]}")
        + (f" (the JVM's log: {log})" if log else "")
        + ". Check the master URL (CLI --spark-master), Java 17 (JAVA_HOME) and the "
        "cluster's logs")


def _start_on_cluster(builder: Any, master: str, timeout: float):
    """Start a session on a cluster master within ``timeout`` seconds, the JVM's own output
    in a log file (named in the error), not on the terminal."""
    import subprocess
    import threading

    from pyspark import SparkContext
    from pyspark.conf import SparkConf
    from pyspark.java_gateway import launch_gateway

    log = None
    if SparkContext._gateway is None:  # no JVM in this process yet: start it, quiet
        conf = SparkConf()
        for key, value in builder._options.items():
            conf.set(key, value)
        handle, log = tempfile.mkstemp(prefix="valuemax-spark-", suffix=".log")
        try:
            gateway = launch_gateway(conf, popen_kwargs={"stdout": handle,
                                                         "stderr": subprocess.STDOUT})
        except Exception as exc:  # no Java, a JVM that exits at once
            raise _start_error(master, exc, log) from exc
        finally:
            os.close(handle)  # the JVM holds its own copy
        SparkContext._ensure_initialized(gateway=gateway, conf=conf)
    outcome: dict[str, Any] = {}

    def start() -> None:
        try:
            outcome["session"] = builder.getOrCreate()
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=start, name="valuemax-spark-start", daemon=True)
    thread.start()
    thread.join(timeout)
    session = outcome.get("session")
    if session is not None and not session.sparkContext._jsc.sc().isStopped():
        return session
    if thread.is_alive() or session is not None:  # still registering, or given up
        reason = (f"it did not register with the master within {timeout:g} s"
                  if thread.is_alive() else "the master did not accept the application")
        _stop_jvm()
        raise InputError(
            f"the Spark session (master {master}) could not start: {reason}"
            + (f": {_last_error(log)}" if log and _last_error(log) else "")
            + (f" (the JVM's log: {log})" if log else "")
            + ". Check the master URL (CLI --spark-master; spark://HOST:7077 is the "
            "master's RPC port, not its web UI), that the master runs and accepts "
            "applications, and the cluster's logs")
    error = outcome["error"]
    _stop_jvm()
    raise _start_error(master, error, log, _last_error(log) if log else None) from error


def _last_error(log: str) -> str | None:
    """The JVM log's reason for giving up (Spark's ``... Reason: ...`` line), else its last
    ERROR line; the message without the time stamp."""
    try:
        lines = Path(log).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    errors = [line.split(" ERROR ", 1)[1].strip() for line in lines if " ERROR " in line]
    reasons = [e for e in errors if "Reason: " in e]
    chosen = (reasons or errors or [None])[-1]
    return None if chosen is None else chosen[:300]


def _stop_jvm() -> None:
    """Stop the session's JVM after a failed start, so a later start launches a new one."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    proc = getattr(gateway, "proc", None)
    if proc is not None:
        proc.kill()
        proc.wait(timeout=30)
    with contextlib.suppress(Exception):
        gateway.shutdown()
    SparkContext._gateway = None
    SparkContext._jvm = None
    SparkContext._active_spark_context = None


def redact(url: str) -> str:
    """Return ``url`` with its password replaced by ``***`` (for messages and the run record).

    Examples
    --------
    >>> redact("postgres://ann:s3cret@db.example:5432/sales")
    'postgres://ann:***@db.example:5432/sales'
    >>> redact("mysql://ann@db/sales")
    'mysql://ann@db/sales'
    >>> redact("postgres://bob:p@ss:w0rd@localhost:5432/db?password=other&sslmode=require")
    'postgres://bob:***@localhost:5432/db?password=***&sslmode=require'
    """
    return _QUERY_PASSWORD.sub(r"\1***", _PASSWORD.sub(r"\1:***@", url))


def _password(url: str) -> str | None:
    match = _PASSWORD.search(url)
    return match.group(2) if match and match.group(2) else None


def _without_password(message: str, secret: str | None) -> str:
    """``message`` with the password's URL and ``password=`` forms masked; withheld whole
    when the password still appears in it.

    Replacing every occurrence of a password that is also an ordinary word ("connection",
    a port number) would mask parts of the message and show, by what vanished, what the
    password is; such a message is withheld instead.

    Examples
    --------
    >>> _without_password("FATAL: password authentication failed for user 'ann'", "zq9")
    "FATAL: password authentication failed for user 'ann'"
    >>> _without_password("bad dsn postgres://ann:s3cret@db:5432/x", "s3cret")
    'bad dsn postgres://ann:***@db:5432/x'
    >>> _without_password("port 5999 failed", "5999")
    "the server's message is withheld: it contains the password's text"
    """
    if not secret:
        return message
    message = message.replace(f":{secret}@", ":***@")
    message = re.sub(rf"(password\s*=\s*['\"]?){re.escape(secret)}", r"\1***", message,
                     flags=re.IGNORECASE)
    if secret in message:
        return "the server's message is withheld: it contains the password's text"
    return message


#: ``local_infile=`` values in a MySQL/MariaDB URL and what they set.
_SWITCH = {"0": 0, "false": 0, "off": 0, "no": 0, "1": 1, "true": 1, "on": 1, "yes": 1}


def _mysql_options(url: str, shown: str) -> dict[str, int]:
    """The driver's ``local_infile`` from a MySQL/MariaDB URL's ``?local_infile=0|1`` (Ibis
    hands query values to mysqlclient as text, which it refuses), else nothing.

    Examples
    --------
    >>> _mysql_options("mysql://ann@db/shop?local_infile=off", "")
    {'local_infile': 0}
    >>> _mysql_options("mysql://ann@db/shop", "")
    {}
    """
    from urllib.parse import parse_qsl, urlsplit

    given = dict(parse_qsl(urlsplit(url).query)).get("local_infile")
    if given is None:
        return {}
    if given.strip().lower() not in _SWITCH:
        raise InputError(f"engine {shown}: local_infile={given!r} is not 0 or 1 (0: never "
                         "send files to the server, load with INSERTs instead)")
    return {"local_infile": _SWITCH[given.strip().lower()]}


def connect_url(url: str):
    """Open the database server ``url`` names (PostgreSQL, MySQL/MariaDB) as an Ibis backend.

    Parameters
    ----------
    url : str
        ``postgres://user:password@host:port/database`` (or ``postgresql://``),
        ``mysql://...`` or ``mariadb://...`` (both through Ibis's MySQL backend; ``?local_infile=0``
        at the end has the client library refuse every file request of the server, and
        valuemax load with multi-row ``INSERT`` statements instead of ``LOAD DATA LOCAL
        INFILE``), or
        ``duckdb:///path/to/file.duckdb`` (an existing DuckDB database). Other Ibis backends
        (SQLite, BigQuery, Snowflake...) are refused: the row-level steps are tested on
        these four engines only.

    Returns
    -------
    ibis.backends.BaseBackend

    Raises
    ------
    InputError
        If the scheme is not one of those, a ``duckdb://`` file does not exist (it is not
        created: an empty database would only fail later, far from the typo), the driver is
        not installed (the message names the ``pip install 'valuemax[postgres]'`` /
        ``'valuemax[mysql]'`` fix), or the server cannot be reached or refuses the login. The message shows the URL without its password and the
        server's first line of error, the password replaced by ``***`` there too.
    """
    scheme = url.split("://", 1)[0].lower()
    shown = redact(url)
    backend, driver, extra = _SERVERS.get(scheme, (None, None, None))
    if scheme == "duckdb":
        path = Path(url.split("://", 1)[1])
        if not path.is_file():
            raise InputError(
                f"engine {shown}: no DuckDB database there (a duckdb:// engine is "
                "an existing database; three slashes for an absolute path, "
                "duckdb:///home/me/shop.duckdb). Leave the engine out to run on an in-memory "
                "DuckDB, and name a new store with --db")
        return connect(str(path))
    if driver is None:
        raise InputError(
            f"engine {shown}: the scheme {scheme!r} is not supported; valuemax runs on DuckDB "
            "(the default, or duckdb:///FILE), Spark (--engine spark) and the servers "
            "postgres://USER:PASSWORD@HOST:PORT/DB and mysql://... (MySQL/MariaDB)")
    import importlib

    try:
        importlib.import_module(driver)
    except ImportError as exc:
        raise InputError(
            f"cannot open {shown}: its driver {driver!r} is not installed; install the "
            f"extra: pip install 'valuemax[{extra}]'"
        ) from exc
    url = f"{backend}://{url.split('://', 1)[1]}"
    options = _mysql_options(url, shown) if backend == "mysql" else {}
    try:
        return ibis.connect(url, **options)
    except ImportError as exc:
        raise InputError(f"cannot open {shown}: {exc}") from exc
    except Exception as exc:  # the drivers' own OperationalError classes: not importable here
        first = _without_password(
            (str(exc).strip().splitlines() or [type(exc).__name__])[0], _password(url))
        raise InputError(
            f"cannot connect to {shown}: {first}. Check the host, port, user and password "
            f"(and that the server is running)."
        ) from None
