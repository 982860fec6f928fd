"""Open Ibis backends: DuckDB with offline-safe settings, PySpark local mode on request."""

from __future__ import annotations

import os
import re
import tempfile
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
_PASSWORD = re.compile(r"(?<=://)([^:/@]*):([^@/]*)@")


#: DuckDB's memory cap for valuemax (its own default is 80 % of RAM). Measured on a 10M-line
#: log: peak RSS 7.5 GB -> 3.5 GB and faster (less memory pressure); larger work spills to disk.
DEFAULT_MEMORY_LIMIT = "3GB"


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
        system temp directory (never the current directory or the output folder). ``None``:
        DuckDB's own default (80 % of RAM).

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
    without a network (DESIGN.md §2).
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
        config["temp_directory"] = str(Path(tempfile.gettempdir()) / "valuemax-duckdb-spill")
    if target is None:
        return ibis.duckdb.connect(":memory:", **config)
    path = Path(target)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the folder for the store {str(path)!r}: {exc}") from exc
    return ibis.duckdb.connect(str(path), **config)


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


#: Seconds to wait for a TCP connection to a cluster master before giving up.
MASTER_CONNECT_TIMEOUT_S = 5.0


def check_master_reachable(master: str, timeout: float = MASTER_CONNECT_TIMEOUT_S) -> None:
    """Refuse a ``spark://`` or ``k8s://`` master whose host:port accepts no TCP connection.

    Without this check the JVM starts, retries the master for about a minute and fails
    with Java stack traces; a plain TCP connection to each listed ``HOST:PORT`` (a
    standalone cluster may list several masters; one answering is enough) tells the same
    in seconds. ``local``, ``local-cluster`` and ``yarn`` (whose address is in the Hadoop
    configuration) are not checked.

    Parameters
    ----------
    master : str
        A URL accepted by :func:`check_spark_master`.
    timeout : float, default 5.0
        Seconds per connection attempt.

    Raises
    ------
    InputError
        If no listed master accepts a connection: the addresses, the operating system's
        reason, and what to check.
    """
    import socket

    if master.startswith("spark://"):
        hosts = [h.rsplit(":", 1) for h in master[len("spark://"):].split(",")]
        default = 7077
    elif master.startswith("k8s://"):
        rest = master[len("k8s://"):]
        secure = not rest.startswith("http://")
        rest = rest.split("://", 1)[-1].split("/", 1)[0]
        hosts = [rest.rsplit(":", 1) if ":" in rest else [rest]]
        default = 443 if secure else 80
    else:
        return
    reasons = []
    for parts in hosts:
        host, port = parts[0].strip("[]"), int(parts[1]) if len(parts) > 1 else default
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            return
        except OSError as exc:
            reasons.append(f"{host}:{port} ({exc.strerror or exc.__class__.__name__})")
    raise InputError(
        f"cannot reach the Spark master {master}: no connection to {', '.join(reasons)} "
        f"within {timeout:g} s. Check the URL (CLI --spark-master), that the "
        + ("Kubernetes API server answers there (kubectl cluster-info prints its address)"
           if master.startswith("k8s://") else
           "master runs (sbin/start-master.sh prints its spark:// URL)")
        + " and that this machine can reach it (firewall, VPN)")


def spark_session(*, app_name: str = "valuemax", memory: str = "2g",
                  master: str | None = None):
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

    Returns
    -------
    pyspark.sql.SparkSession

    Raises
    ------
    InputError
        If PySpark is not installed (with the ``pip install`` fix), ``master`` is malformed
        or unreachable (:func:`check_master_reachable`), a session with another master
        already runs in this process (Spark allows one per process: pass that session as
        ``engine=`` instead), or the session cannot start (the JVM's first error line).
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
    except Exception as exc:  # Py4JJavaError, PySparkRuntimeError (no Java): one line each
        first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
        raise InputError(
            f"the Spark session (master {master}) could not start: "
            f"{type(exc).__name__}: {first[:300]}. Check the master URL (CLI --spark-master), "
            "Java 17 (JAVA_HOME) and the cluster's logs") from exc


def redact(url: str) -> str:
    """Return ``url`` with its password replaced by ``***`` (for messages and the run record).

    Examples
    --------
    >>> redact("postgres://ann:s3cret@db.example:5432/sales")
    'postgres://ann:***@db.example:5432/sales'
    >>> redact("mysql://ann@db/sales")
    'mysql://ann@db/sales'
    """
    return _PASSWORD.sub(r"\1:***@", url)


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


def connect_url(url: str):
    """Open the database server ``url`` names (PostgreSQL, MySQL/MariaDB) as an Ibis backend.

    Parameters
    ----------
    url : str
        ``postgres://user:password@host:port/database`` (or ``postgresql://``),
        ``mysql://...`` or ``mariadb://...`` (both through Ibis's MySQL backend), or
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
    try:
        return ibis.connect(url)
    except ImportError as exc:
        raise InputError(f"cannot open {shown}: {exc}") from exc
    except Exception as exc:  # the drivers' own OperationalError classes: not importable here
        first = _without_password(
            (str(exc).strip().splitlines() or [type(exc).__name__])[0], _password(url))
        raise InputError(
            f"cannot connect to {shown}: {first}. Check the host, port, user and password "
            f"(and that the server is running)."
        ) from None
