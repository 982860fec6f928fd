"""Benchmark: the main job's row-level part on each engine, beside a plain Polars group-by.

The row-level part is what ``valuemax analyze --engine E`` runs before the customer-level
models, composed here from the same functions in the same order (``pipeline/_analyze.py``):

1. read: the file into the local DuckDB store, mapped and typed (``transactions_raw``);
2. push (Spark, PostgreSQL, MariaDB only): the raw and normalised log copied into the engine;
   with ``--source table`` (PostgreSQL, MariaDB), the log is a table of the server instead
   (loaded before the job, not measured; ``--source text-table``: every column text, as a
   CSV load leaves it) and the job reads it as ``analyze --table`` does:
   numbered on the server and streamed into the store (read), then normalised on the
   server ("normalise", no push) when it can be exactly;
3. clean: the standard preset with returns netting, the quarantine with its reason codes,
   run on the engine, the clean log and the quarantine written there and copied back;
4. customers: the customer table (RFM + BTYD summary) on the engine, written there and
   copied back, then read into pandas (one row per customer, as ``analyze`` does);
5. calibration: the calibration/holdout table, split at 2023-06-30, likewise.

Beside it, in the same run, the customer table by a plain Polars lazy group-by on the same
file (``customers_polars`` of ``bench_analyze.py``: no cleaning, no quarantine).

The log is the seeded synthetic log of ``bench_analyze.py`` (``make_synthetic``: N lines,
N/10 customers, 4,000 products, two years, parquet). Every job runs in a fresh interpreter;
its peak RSS is the peak of the summed resident memory of that process and all its children
(the Spark JVM is one), sampled every 0.1 s with psutil. A database server's own processes
are not children of the job and are not counted in its CPU and RSS; a server on this
machine (a loopback URL) has its CPU time during the job reported beside them ("server CPU
s": the listening process and its children, PostgreSQL's backends; its other clients would
be counted too), the work the engine did, less sensitive than wall time to a shared
machine's load.

Usage::

    python benchmarks/bench_engines.py --lines 1000000 --lines 10000000 \\
        [--engine duckdb --engine spark --engine postgres --engine mariadb] \\
        [--postgres URL] [--postgres-max-lines 1000000] [--mariadb URL] \\
        [--mariadb-max-lines 100000] [--spark-memory 6g] [--source file|table|text-table] \\
        [--parts-dir DIR] [--polars-engine auto|streaming] [--polars before|after] \\
        [--json out.json]

``--parts-dir DIR`` writes the log as a folder of Parquet parts (2M lines each) under DIR and
every job reads that folder (``analyze FOLDER``; Polars ``scan_parquet`` of the folder),
so a 100M-line log is never one file nor whole in any process's memory.

``--postgres`` defaults to ``$VALUEMAX_TEST_POSTGRES_URL``, ``--mariadb`` to
``$VALUEMAX_TEST_MARIADB_URL``; ``scripts/test-servers.sh run`` starts both servers on
loopback and sets them::

    bash scripts/test-servers.sh run env PYTHONPATH=$PWD/src .venv/bin/python \\
        benchmarks/bench_engines.py --lines 1000000 --lines 10000000

With ``BENCH_PROGRESS=FILE`` in the environment each job appends every finished step (wall,
CPU, peak) to FILE as it ends. Wall times on a shared machine depend on its load: the CPU seconds beside them (the job and
its children) say how much work each job did.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_analyze import customers_polars, make_synthetic, synthetic_chunks  # noqa: E402

#: The calibration/holdout split of the synthetic log (2022-01-01 .. 2023-12-31).
CALIBRATION_END = "2023-06-30"
ENGINES = ("duckdb", "spark", "postgres", "mariadb")


def synthetic_parts(lines: int, folder: Path) -> Path:
    """The synthetic log of ``make_synthetic`` (the same rows) as a folder of Parquet parts
    of 2M lines each (``part-00000.parquet``, ...; ``_SUCCESS`` when complete), written
    chunk by chunk (one chunk in memory at a time); reused when complete. The form a
    warehouse export or Spark leaves a large log in, read by ``analyze FOLDER``."""
    import pyarrow.parquet as pq

    out = folder / f"synthetic_{lines}"
    if (out / "_SUCCESS").exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    for i, table in enumerate(synthetic_chunks(lines)):
        part = out / f"part-{i:05d}.parquet"
        if not part.exists():  # a part of an interrupted run is kept (written, then renamed)
            pq.write_table(table, out / f".{part.name}.tmp")
            (out / f".{part.name}.tmp").rename(part)
    (out / "_SUCCESS").write_text("")
    return out


def _run_tables() -> dict:
    """``{"tables": RunTables}``: this run's engine table names (``valuemax_tmp_<tag>_*``,
    issue 14's run-scoped tables); ``{}`` for the code before them (fixed names)."""
    try:
        from valuemax.pipeline._engine_tables import RunTables
    except ImportError:
        return {}
    global _TABLES
    if _TABLES is None:
        _TABLES = RunTables.new()
    return {"tables": _TABLES}


_TABLES = None


def _read_engine_table(econ, table: str, con, step):
    """Read and normalise the engine's ``table`` as ``analyze(engine=..., table=...)`` does:
    with ``valuemax.pipeline._engine_read`` (issue 14's second step), numbered there,
    streamed into the store, normalised on the engine when it can be exactly ("normalise");
    without it (the code before), read into the store, normalised locally and pushed.
    Returns ``(ingested, log for clean, where it was normalised)``."""
    from valuemax.pipeline import ReadOptions
    from valuemax.pipeline._engine import engine_table, push_log
    from valuemax.pipeline._prepare import read_source

    expr = econ.table(table)
    names = _run_tables()
    try:
        from valuemax.pipeline._engine_read import (
            NORMALISED_ON_ENGINE,
            RAW,
            local_only_reason,
            normalise_on_engine,
            stage_on_engine,
        )
    except ImportError:  # before: the rows read into the store, normalised and pushed
        NORMALISED_ON_ENGINE = ()
    if econ.name not in NORMALISED_ON_ENGINE:  # before (Spark: before its numbering)
        ingested = step("read", lambda: read_source(ReadOptions(), expr, con))
        return ingested, step("push", lambda: push_log(econ, ingested, **names)), "local"
    ingested = step("read", lambda: stage_on_engine(
        econ, expr, con, ReadOptions(), label=table, key=None, keep_pii=(), schema=None,
        **names))
    raw = names["tables"].work(RAW) if names else RAW
    reason = local_only_reason(econ, ingested, engine_table(econ, raw))
    if reason is not None:
        return ingested, step("push", lambda: push_log(econ, ingested, **names)), \
            f"local ({reason})"
    return ingested, step("normalise", lambda: normalise_on_engine(
        econ, ingested, None, **names)), "engine"


def _push_file(econ, ingested, step):
    """The log of a file on the engine as ``analyze(path, engine=...)`` builds it: on Spark
    (``RAW_PUSHED``), the raw log pushed alone and normalised there when it can be exactly;
    else (and before), the raw and the normalised log pushed."""
    from valuemax.pipeline._engine import push_log

    try:
        from valuemax.pipeline._engine_read import (
            RAW_PUSHED,
            local_only_reason,
            normalise_on_engine,
            push_normalised,
            push_raw,
        )
    except ImportError:
        RAW_PUSHED = ()
    names = _run_tables()
    if econ.name not in RAW_PUSHED:
        return step("push", lambda: push_log(econ, ingested, **names)), "local"
    eraw, pushed = step("push", lambda: push_raw(econ, ingested, None, **names))
    reason = local_only_reason(econ, ingested, eraw)
    if reason is not None:
        return step("push", lambda: push_normalised(econ, ingested, eraw, None, pushed,
                                                    **names)), f"local ({reason})"
    return step("normalise", lambda: normalise_on_engine(econ, ingested, None, pushed,
                                                         **names)), "engine"


def rows_on_engine(path: str, out: str, engine: str, target: str, spark_memory: str,
                   table: str = "") -> dict:
    """The row-level part of ``analyze(path, engine=...)`` (or of ``analyze(engine=...,
    table=table)`` when ``table`` is given); returns step times (s)."""
    t_import = time.perf_counter()
    from valuemax.clean import clean
    from valuemax.engines import connect, spark_session
    from valuemax.features import calibration_holdout, customer_table
    from valuemax.pipeline import ReadOptions
    from valuemax.pipeline._engine import (
        copy_to_store,
        drop_engine_tables,
        engine_table,
        write_engine_table,
    )
    from valuemax.pipeline._prepare import default_returns, read_source
    from valuemax.pipeline._store import write_table

    steps: dict[str, float] = {"import": time.perf_counter() - t_import}
    stage, peaks, done = _stage_peaks("connect")
    t0 = time.perf_counter()
    if engine == "duckdb":
        econ = None
    elif engine == "spark":
        econ = connect(spark_session(memory=spark_memory))
    else:
        econ = connect(target)
    steps["connect"] = time.perf_counter() - t0
    con = connect(Path(out) / "valuemax.duckdb")

    cpu: dict[str, float] = {}

    def step(name, fn):
        stage[0] = name
        t, c = time.perf_counter(), time.process_time()
        value = fn()
        steps[name] = time.perf_counter() - t
        cpu[name] = time.process_time() - c
        _progress(name, steps[name], cpu[name], peaks.get(name, 0))
        return value

    if table and engine == "spark":  # the session's table: a view of the parquet file
        econ._session.read.parquet(path).createOrReplaceTempView(table)
    if table:  # the log is a table of the engine (loaded before the job, not measured)
        ingested, source, where = _read_engine_table(econ, table, con, step)
    else:
        ingested = step("read", lambda: read_source(ReadOptions(), path, con))
        source, where = (ingested, "local") if econ is None else \
            _push_file(econ, ingested, step)
    returns = default_returns(None, "standard", ingested)

    def store(name, expr):
        if econ is None:
            write_table(con, name, expr)
        else:
            copy_to_store(con, name, write_engine_table(econ, f"valuemax_{name}", expr),
                          schema=expr.schema())

    def do_clean():
        cleaned = clean(source, preset="standard", returns=returns)
        store("transactions_clean", cleaned.transactions)
        store("quarantine", cleaned.quarantine)
        return cleaned

    cleaned = step("clean", do_clean)
    obs_end = cleaned.observation_end
    clean_log = (con.table("transactions_clean") if econ is None
                 else engine_table(econ, "valuemax_transactions_clean"))

    def do_customers():
        store("customers", customer_table(clean_log, observation_end=obs_end, time_unit="D"))
        return con.table("customers").order_by("customer_id").to_pyarrow().to_pandas()

    customers = step("customers", do_customers)

    def do_calibration():
        store("calibration_holdout", calibration_holdout(
            clean_log, calibration_end=CALIBRATION_END, observation_end=obs_end,
            time_unit="D"))
        return con.table("calibration_holdout").count().to_pyarrow().as_py()

    n_cal = step("calibration", do_calibration)
    rows_clean = con.table("transactions_clean").count().to_pyarrow().as_py()
    if econ is not None:
        if _run_tables():  # the run-scoped working tables (valuemax_tmp_<tag>_*)
            from valuemax.pipeline._engine_tables import drop_run_tables

            drop_run_tables(econ, _run_tables()["tables"])
        drop_engine_tables(econ, ("valuemax_transactions_std", "valuemax_transactions_raw",
                                  "valuemax_transactions_clean", "valuemax_quarantine",
                                  "valuemax_customers", "valuemax_calibration_holdout"))
    con.disconnect()
    done.set()
    return {"customers": len(customers), "calibration_customers": n_cal, "normalised": where,
            "rows_in": cleaned.report.rows_in, "rows_clean": rows_clean, "timings_s": steps,
            "cpu_s_by_step": cpu,
            "peak_rss_mb_by_step": {k: round(v / 2**20) for k, v in peaks.items()}}


def _progress(name: str, wall: float, cpu: float, peak: int) -> None:
    """Append a finished step to the file ``$BENCH_PROGRESS`` names, if set (a long run's
    steps are known before it ends, or when it is stopped)."""
    path = os.environ.get("BENCH_PROGRESS")
    if path:
        with open(path, "a") as fh:
            fh.write(f"{time.strftime('%H:%M:%S', time.gmtime())} {name}: wall {wall:.1f} s, "
                     f"CPU {cpu:.1f} s (this process), peak {peak / 2**20:,.0f} MB\n")


def _tree_rss(ps) -> int:
    """Resident bytes of ``ps`` and all its children (0 for those gone meanwhile)."""
    import psutil

    total = 0
    for p in [ps, *ps.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total


def _stage_peaks(first: str):
    """Start sampling this process tree's RSS every 0.1 s, keeping the peak of each stage:
    returns ``(stage, peaks, done)``; set ``stage[0]`` to the running stage's name and
    ``done`` to stop."""
    import psutil

    stage, peaks, done = [first], {}, threading.Event()
    me = psutil.Process()

    def sample():
        while not done.is_set():
            rss = _tree_rss(me)
            peaks[stage[0]] = max(peaks.get(stage[0], 0), rss)
            done.wait(0.1)

    threading.Thread(target=sample, daemon=True).start()
    return stage, peaks, done


def _server_root(url: str | None):
    """The process of the database server ``url`` names when it listens on this machine,
    else None."""
    from urllib.parse import urlparse

    import psutil

    if not url:
        return None
    parsed = urlparse(url)
    if parsed.hostname not in ("127.0.0.1", "localhost", "::1") or parsed.port is None:
        return None
    for c in psutil.net_connections(kind="tcp"):
        if c.laddr and c.laddr.port == parsed.port and c.status == psutil.CONN_LISTEN and c.pid:
            return psutil.Process(c.pid)
    return None


def _server_tree(root) -> list:
    """``root`` and its children (PostgreSQL's backends); [] without a root."""
    import psutil

    if root is None:
        return []
    try:
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _cpu_of(procs) -> dict[int, float]:
    import psutil

    out = {}
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            t = p.cpu_times()
            out[p.pid] = t.user + t.system
    return out


def run_job(argv: list[str], server: str | None = None) -> dict:
    """Run ``argv`` (a ``--job`` of this file) in a fresh interpreter; return its output with
    wall time (s), CPU time (s) and peak RSS (MB) of the process and its children, and, for
    a ``server`` URL on this machine, the CPU time (s) its processes used meanwhile (the
    server does the engine's work; its other clients would be counted too)."""
    import psutil

    root = _server_root(server)
    server_start = _cpu_of(_server_tree(root))
    server_cpu: dict[int, float] = dict(server_start)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--job", *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ps = psutil.Process(proc.pid)
    peak = 0
    cpu: dict[int, float] = {}
    stop = threading.Event()

    def sample():
        nonlocal peak
        while not stop.is_set():
            if root is not None:
                server_cpu.update(_cpu_of(_server_tree(root)))  # the last reading of each
            try:
                tree = [ps, *ps.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            total = 0
            for p in tree:
                try:
                    total += p.memory_info().rss
                    t = p.cpu_times()
                    cpu[p.pid] = t.user + t.system  # the last reading of each process
                except psutil.NoSuchProcess:
                    pass
            peak = max(peak, total)
            stop.wait(0.1)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    stdout, stderr = proc.communicate()
    stop.set()
    watcher.join()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed after {wall:.0f} s:\n{stderr[-2000:]}")
    info = json.loads(stdout.strip().splitlines()[-1])
    info["wall_s"] = wall
    info["peak_rss_mb"] = peak / 2**20
    info["cpu_s"] = sum(cpu.values())
    if server_cpu:
        server_cpu.update(_cpu_of(_server_tree(root)))
        info["server_cpu_s"] = sum(v - server_start.get(k, 0.0) for k, v in server_cpu.items())
    return info


def _load_table(url: str, path: str, text: bool = False) -> str:
    """Load the parquet file ``path`` into the server ``url`` as table ``vm_bench_orders``
    (its bulk path: ``COPY`` / ``LOAD DATA``), as a warehouse would hold the log; with
    ``text``, every column as text, as a CSV load leaves it (the date
    ``2022-01-01 00:00:00``, numbers as Arrow writes them: ``3``, ``4.48``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from valuemax.engines import connect
    from valuemax.pipeline._engine import write_engine_table

    data = pq.read_table(path)
    if text:
        data = pa.table({name: data[name].cast(pa.string()) for name in data.column_names})
    con = connect(url)
    write_engine_table(con, "vm_bench_orders", data)
    con.disconnect()
    return "vm_bench_orders"


def _drop_table(url: str, table: str) -> None:
    from valuemax.engines import connect

    con = connect(url)
    con.drop_table(table, force=True)
    con.disconnect()


def _row(label: str, info: dict) -> str:
    server = f"{info['server_cpu_s']:>13.1f}" if "server_cpu_s" in info else f"{'–':>13}"
    return (f"{label:<44} {info['wall_s']:>8.1f} {info['cpu_s']:>8.1f} {server} "
            f"{info['peak_rss_mb']:>12,.0f} {info['customers']:>10,}")


def _polars(rows: dict, synth: str, engine: str) -> None:
    """The Polars group-by job into ``rows["polars"]``; its failure (e.g. killed short of
    memory) is printed and the engines' rows kept."""
    try:
        rows["polars"] = run_job(["polars", synth, engine])
    except RuntimeError as exc:
        print(f"customer table, Polars group-by ({engine}): {exc}", flush=True)
        return
    print(_row(f"customer table, Polars group-by ({engine})", rows["polars"]), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, action="append")
    ap.add_argument("--engine", action="append", choices=ENGINES)
    ap.add_argument("--postgres", default=os.environ.get("VALUEMAX_TEST_POSTGRES_URL"))
    ap.add_argument("--postgres-max-lines", type=int, default=1_000_000)
    ap.add_argument("--mariadb", default=os.environ.get("VALUEMAX_TEST_MARIADB_URL"))
    ap.add_argument("--mariadb-max-lines", type=int, default=100_000)
    ap.add_argument("--spark-memory", default="6g")
    ap.add_argument("--json", help="write every measurement to this file")
    ap.add_argument("--polars-engine", choices=("auto", "streaming"), default="auto",
                    help="Polars' collect engine for the group-by beside the jobs: the "
                         "default in memory (the whole log's columns held: about 14 GB at "
                         "100M lines), or streaming (chunks; for a log larger than memory)")
    ap.add_argument("--polars", choices=("before", "after"), default="before",
                    help="run the Polars group-by before the engines' jobs (default) or after "
                         "them (when memory is short: it holds about a row per "
                         "(customer, day), 7 GB and growing at 100M lines even streaming)")
    ap.add_argument("--parts-dir", type=Path,
                    help="write (or reuse) each log as a folder of Parquet parts of 2M lines "
                         "under this folder and read that folder (100M lines: about 3 GB); "
                         "default: one Parquet file in benchmarks/_data")
    ap.add_argument("--source", choices=("file", "table", "text-table"), default="file",
                    help="PostgreSQL/MariaDB/Spark: the job reads the parquet file "
                         "(default), or a table of the server the file was loaded into "
                         "before the job (its load not measured; Spark: a view of the "
                         "session over the parquet file): analyze --engine E --table T; "
                         "text-table (PostgreSQL/MariaDB): that table with every column "
                         "text, as a CSV load leaves it")
    ap.add_argument("--job", nargs="+")
    args = ap.parse_args()
    if args.job:
        name, *rest = args.job
        if name == "polars":
            info = customers_polars(rest[0], "", *rest[1:])
        else:
            path, out, target, memory, *table = rest
            info = rows_on_engine(path, out, name, target, memory, *table)
        print(json.dumps(info, default=str))
        return
    import tempfile

    engines = args.engine or list(ENGINES)
    if "postgres" in engines and not args.postgres:
        print("postgres skipped: no --postgres URL nor $VALUEMAX_TEST_POSTGRES_URL "
              "(scripts/test-servers.sh run ... sets it)")
        engines = [e for e in engines if e != "postgres"]
    if "mariadb" in engines and not args.mariadb:
        print("mariadb skipped: no --mariadb URL nor $VALUEMAX_TEST_MARIADB_URL")
        engines = [e for e in engines if e != "mariadb"]
    print(f"machine: {os.cpu_count()} cores (shared with other work while measured), "
          f"python {sys.version.split()[0]}")
    header = (f"{'job':<44} {'wall s':>8} {'CPU s':>8} {'server CPU s':>13} "
              f"{'peak RSS MB':>12} {'customers':>10}")
    results: dict = {}
    for lines in sorted(args.lines or [1_000_000]):
        synth = str(synthetic_parts(lines, args.parts_dir) if args.parts_dir
                    else make_synthetic(lines))
        print(f"\n{lines:,} lines, {lines // 10:,} customer ids")
        print(header, flush=True)
        rows = results[lines] = {}
        if args.polars == "before":
            _polars(rows, synth, args.polars_engine)
        for engine in engines:
            if engine == "postgres" and lines > args.postgres_max_lines:
                continue
            if engine == "mariadb" and lines > args.mariadb_max_lines:
                continue
            target = args.mariadb if engine == "mariadb" else args.postgres
            server = engine in ("postgres", "mariadb")
            table = (_load_table(target, synth, text=args.source == "text-table")
                     if server and args.source != "file" else
                     "vm_bench_orders" if engine == "spark" and args.source == "table" else "")
            with tempfile.TemporaryDirectory() as tmp:
                try:
                    info = rows[engine] = run_job(
                        [engine, synth, tmp, target or "", args.spark_memory,
                         *([table] if table else [])],
                        server=target if server else None)
                except RuntimeError as exc:  # one engine failing (e.g. killed) ends its row
                    print(f"row-level part, {engine}: {exc}", flush=True)
                    continue
                finally:
                    if table and server:
                        _drop_table(target, table)
            print(_row(f"row-level part, {engine}" + (" (--table)" if table else ""), info))
            print(f"  normalised: {info['normalised']}")
            ratio = (f"{info['wall_s'] / rows['polars']['wall_s']:.1f}x Polars wall; "
                     if "polars" in rows else "")
            print(f"  {ratio}"
                  f"{info['rows_clean']:,} of {info['rows_in']:,} lines clean; steps (s): "
                  + ", ".join(f"{k} {v:.1f}" for k, v in info["timings_s"].items()))
            print("  peak RSS by step (MB): " + ", ".join(
                f"{k} {v:,}" for k, v in info["peak_rss_mb_by_step"].items()), flush=True)
            print("  CPU s by step (this process; not a JVM's): " + ", ".join(
                f"{k} {v:.1f}" for k, v in info.get("cpu_s_by_step", {}).items()), flush=True)
            if args.json:
                Path(args.json).write_text(json.dumps(results, indent=2, default=str))
        if args.polars == "after":
            _polars(rows, synth, args.polars_engine)
            if args.json:
                Path(args.json).write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
