"""DuckDB's spill folder: one per connection, so two jobs at once never share spill files
(a 10M-line run failed with "Could not read enough bytes from file
.../valuemax-duckdb-spill/duckdb_temp_storage_S128K-0.tmp" while other runs spilled to the
same folder), and gone once the connection closes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from valuemax.engines import connect
from valuemax.engines._connect import sweep_spill_folders


def _spill_folder(con) -> Path:
    return Path(con.raw_sql("SELECT current_setting('temp_directory')").fetchone()[0])


def test_each_connection_spills_to_its_own_folder_removed_on_close():
    a, b = (connect(None, threads=1, memory_limit="32MB") for _ in range(2))
    da, db = _spill_folder(a), _spill_folder(b)
    assert da != db
    assert da.parent == db.parent == Path(tempfile.gettempdir())
    assert da.name.startswith("valuemax-duckdb-spill-")
    # a sort of twice the memory limit spills, and both give the right answer at once
    query = ("SELECT count(*), sum(i) FROM (SELECT i, hash(i) AS h FROM range(4000000) t(i) "
             "ORDER BY h)")
    want = (4_000_000, 4_000_000 * 3_999_999 // 2)
    assert a.raw_sql(query).fetchone() == want
    assert da.is_dir()  # DuckDB created it on the first spill
    assert b.raw_sql(query).fetchone() == want
    a.disconnect()
    b.disconnect()
    assert not da.exists() and not db.exists()


_CHILD = """
import sys, time
from valuemax.engines import connect
con = connect(None, threads=1, memory_limit="32MB")
folder = con.raw_sql("SELECT current_setting('temp_directory')").fetchone()[0]
con.raw_sql("SELECT count(*) FROM (SELECT i, hash(i) AS h FROM range(4000000) t(i) ORDER BY h)"
            ).fetchone()
print("SPILL " + folder, flush=True)
time.sleep(600)
"""


def _spilling_child():
    """A real process that opened a connection, spilled (DuckDB made its folder) and waits."""
    proc = subprocess.Popen([sys.executable, "-c", _CHILD], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    # DuckDB may draw a progress bar on stdout first (a query over 2 s on a busy machine)
    raw = ""
    for raw in proc.stdout:
        if raw.startswith("SPILL "):
            break
    line = raw[len("SPILL "):].strip() if raw.startswith("SPILL ") else ""
    if not line:
        state = (repr(raw), proc.poll())
        proc.kill()
        proc.wait(timeout=30)
        err = proc.stderr.read()
        _close(proc)
        raise AssertionError(f"the child printed no spill folder: {state} {err}")
    return proc, Path(line)


def _close(proc):
    for stream in (proc.stdout, proc.stderr):
        stream.close()


def test_the_next_connection_sweeps_the_folder_of_a_killed_run_never_a_live_ones():
    killed, killed_dir = _spilling_child()
    procs = [killed]
    try:
        alive, alive_dir = _spilling_child()
        procs.append(alive)
        assert killed_dir.is_dir()  # DuckDB made it to spill
        assert alive_dir.is_dir()
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
        assert killed_dir.is_dir()  # a hard kill leaves it behind
        con = connect(None, threads=1, memory_limit="32MB")  # the next connection
        assert not killed_dir.exists()
        assert alive_dir.is_dir() and alive.poll() is None  # a live run keeps its folder
        con.disconnect()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)
            _close(proc)
        sweep_spill_folders(Path(tempfile.gettempdir()))  # the live one's, killed now
    assert not alive_dir.exists()


def test_sweeping_leaves_other_hosts_links_and_other_names_alone(tmp_path):
    from valuemax.engines._connect import _host_tag

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(dead.stdout)  # a process that has exited
    mine = tmp_path / f"valuemax-duckdb-spill-{_host_tag()}-{pid}-{'a' * 12}"
    other_tag = "0" * 8 if _host_tag() != "0" * 8 else "1" * 8
    other_host = tmp_path / f"valuemax-duckdb-spill-{other_tag}-{pid}-{'b' * 12}"
    other_name = tmp_path / f"valuemax-duckdb-spill-x{pid}-{'c' * 12}"  # not a spill name
    shared = tmp_path / "valuemax-duckdb-spill"  # the oldest, shared name: no pid to check
    target = tmp_path / "kept"
    link = tmp_path / f"valuemax-duckdb-spill-{_host_tag()}-{pid}-{'d' * 12}"
    for folder in (mine, other_host, other_name, shared, target):
        folder.mkdir()
        (folder / "duckdb_temp_storage-0.tmp").write_bytes(b"x")
    link.symlink_to(target, target_is_directory=True)
    assert sweep_spill_folders(tmp_path) == [mine]
    assert not mine.exists()
    assert other_host.is_dir() and other_name.is_dir() and shared.is_dir()
    assert link.is_symlink() and (target / "duckdb_temp_storage-0.tmp").is_file()


def test_folders_of_the_name_before_the_host_tag_are_swept_by_the_same_rules(tmp_path):
    """``valuemax-duckdb-spill-<pid>-<random>`` (no host tag, valuemax before the sweep):
    removed when its process is gone, kept while it runs, never through a link."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(dead.stdout)  # a process that has exited
    gone = tmp_path / f"valuemax-duckdb-spill-{pid}-{'a' * 12}"
    live = tmp_path / f"valuemax-duckdb-spill-{os.getppid()}-{'b' * 12}"  # our parent runs
    target = tmp_path / "kept"
    link = tmp_path / f"valuemax-duckdb-spill-{pid}-{'c' * 12}"
    for folder in (gone, live, target):
        folder.mkdir()
        (folder / "duckdb_temp_storage-0.tmp").write_bytes(b"x")
    link.symlink_to(target, target_is_directory=True)
    assert sweep_spill_folders(tmp_path) == [gone]
    assert not gone.exists() and live.is_dir() and link.is_symlink()
    assert (target / "duckdb_temp_storage-0.tmp").is_file()


def test_the_spill_folder_is_owner_only_whatever_the_umask_and_removed_when_collected():
    import gc
    import stat

    old = os.umask(0o022)  # the common default: DuckDB itself made the folder 0755
    try:
        con = connect(None, threads=1, memory_limit="32MB")
    finally:
        os.umask(old)
    folder = _spill_folder(con)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert folder.stat().st_uid == os.getuid()
    # spill files are made inside the owner-only folder
    con.raw_sql("SELECT count(*) FROM (SELECT i, hash(i) AS h FROM range(4000000) t(i) "
                "ORDER BY h)").fetchone()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    # a connection dropped without disconnect() takes its folder with it
    del con
    gc.collect()
    assert not folder.exists()
