"""Where a run writes: a private folder and store, published in one step only on success.

A run never leaves a half-written output folder, a mix of two runs, or a touched user file:

- everything is written into ``.<out>.partial-<id>/`` next to ``out`` (or next to ``db``),
  a folder the live run holds an exclusive ``flock`` on; a later run removes the partial
  folders of dead runs (the lock is free once the process is gone, even after SIGKILL);
- ``out`` holds a manifest, ``.valuemax-manifest.json``, naming the files valuemax wrote
  there and the command that wrote each. A run may replace only those files; a user's file
  or folder with the name of an output (the input itself when ``--out`` is its folder, a
  ``customers.parquet/`` dataset, ...) is refused before any work starts, with its path;
- publishing builds the complete new folder (this run's files, the other commands' files and
  hard links to the user's own files, which are never opened or moved) and swaps it with
  ``out`` in one ``renameat2(RENAME_EXCHANGE)``: a kill at any instant leaves ``out`` holding
  exactly the old run or exactly the new one. Outputs the previous run of the same command
  wrote and this run did not (e.g. ``rules.csv`` when the basket step is skipped now) are
  gone with the old folder. Where the exchange is unavailable (another OS or file system)
  two renames are used, and a kill between them is repaired by the next run;
- a user-given ``db`` receives the run's documented tables and its ``runs`` row in one
  DuckDB transaction (``BEGIN ... COMMIT``): a kill leaves the store at the old run or the
  new one. Tables private to a run (``_vm_labelled_<hash>``, Ibis caches) are never copied.
- a full disk (``ENOSPC``) is reported with the file that could not be written, the space
  the run had used and the space left (:meth:`Workspace.disk_full`);
- everything is readable by its owner only, whatever the umask: the private folder is
  created 0700 and every file the run wrote is set to 0600 (folders 0700) before it is
  published, so a new ``out`` folder is 0700; a store file valuemax creates is 0600.
  While the run writes into its private folder the process umask is ``0o077`` (restored
  when the folder is published or discarded), so the files of a killed run's
  ``.partial-*`` folder are 0600 too. The umask is process-wide: files another thread of
  the same process creates meanwhile are owner-only as well. An
  existing ``out`` folder keeps its own mode (it is the user's), and a user's file linked
  into the new folder is never touched.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import shutil
import signal
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from valuemax._core.exceptions import InputError, ValuemaxError
from valuemax.privacy import PRIVATE_DIR, PRIVATE_FILE, make_private

#: The process umask while a run writes into its private folder (files 0600, folders 0700).
PRIVATE_UMASK = 0o077

_DUCKDB_MAGIC = b"DUCK"

#: The manifest valuemax keeps in every output folder it writes.
MANIFEST = ".valuemax-manifest.json"

#: Files ``analyze`` may write into ``out`` (besides a ``db`` placed inside it).
ANALYZE_OUTPUTS: tuple[str, ...] = (
    "report.html", "customers.parquet", "customers.csv", "quarantine.parquet",
    "calibration_holdout.parquet", "rules.parquet", "rules.csv", "recommendations.parquet",
    "recommendations.csv", "summary.json", "valuemax.duckdb", "valuemax.duckdb.wal",
)

#: Tables of a store that are documented (DESIGN.md §3, README) and so copied into ``db``.
STORE_TABLES: tuple[str, ...] = (
    "transactions_raw", "transactions_clean", "quarantine", "customers",
    "calibration_holdout", "segments", "segment_summary", "quality", "clv", "clv_params",
    "clv_models", "clv_tracking", "clv_holdout_by_frequency", "propensity_scores",
    "propensity_metrics", "rules", "recommendations", "experiments", "uplift_scores", "targets",
)
#: Private tables earlier versions leaked into users' stores; removed on the next copy.
_LEAKED_PREFIXES = ("_vm_labelled_", "ibis_cache_", "__valuemax_")

_RENAME_EXCHANGE = 2
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _check_writable_folder(folder: Path, what: str) -> None:
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(
            f"{what}: cannot write in {str(existing)!r} (not a writable folder); choose a "
            "location you can write to"
        )


def _check_existing_out(out: Path) -> None:
    """An existing output folder must take new files: the run publishes into it at the end
    (checked by creating and removing a hidden file: ``os.access`` says yes to root on an
    immutable folder or a read-only mount)."""
    probe = out / f".valuemax-probe-{uuid.uuid4().hex[:8]}"
    try:
        probe.touch(exist_ok=False)
        probe.unlink()
    except OSError as exc:
        raise InputError(
            f"out/--out {str(out)!r} exists but cannot be written ({exc.strerror}), so the "
            "results could not be published there; nothing was run: make the folder "
            "writable (chmod u+w; chattr -i for an immutable one) or choose another out "
            "folder") from exc


def _publish_failed(out: Path, exc: OSError, state: str) -> InputError:
    """The one-line error for a finished run whose outputs could not be put in place."""
    where = f" at {exc.filename!r}" if exc.filename else ""
    return InputError(
        f"out/--out {str(out)!r}: the finished results could not be published "
        f"({exc.strerror or exc}{where}); {state}: make the folder and its parent writable "
        "(chmod u+w; chattr -i for an immutable one) or choose another out folder, and run "
        "again")


def check_db_path(db: Path) -> None:
    """Raise InputError unless ``db`` is a DuckDB file or can be created as one."""
    if db.exists():
        if db.is_dir():
            raise InputError(f"db/--db {str(db)!r} is a folder; give a file name such as "
                             f"{str(db / 'valuemax.duckdb')!r}")
        with db.open("rb") as fh:
            head = fh.read(12)
        if len(head) > 0 and head[8:12] != _DUCKDB_MAGIC:
            raise InputError(
                f"db/--db {str(db)!r} exists and is not a DuckDB database (it would be "
                "overwritten); give a new file name or an existing .duckdb store"
            )
        if not os.access(db, os.W_OK):
            raise InputError(f"db/--db {str(db)!r} is not writable")
    else:
        _check_writable_folder(db.parent, "db/--db")
        try:  # the folder must really take a file (os.access says yes to root in /proc)
            db.parent.mkdir(parents=True, exist_ok=True)
            probe = db.parent / f".{db.name}.probe-{uuid.uuid4().hex[:8]}"
            probe.touch()
            probe.unlink()
        except OSError as exc:
            raise InputError(
                f"db/--db {str(db)!r}: cannot create a file in {str(db.parent)!r} "
                f"({exc.strerror}); choose a writable location"
            ) from exc


def read_manifest(out: Path) -> dict[str, str]:
    """Files valuemax wrote in ``out``: ``{name: command}`` (empty when there are none).

    A folder written before manifests existed (a ``summary.json`` with ``valuemax_version``
    and no manifest) counts its regular files named like ``analyze`` outputs as valuemax's.
    """
    path = out / MANIFEST
    if path.is_file():
        try:
            files = json.loads(path.read_text(encoding="utf-8")).get("files", {})
            return {str(k): str(v) for k, v in files.items()}
        except (OSError, ValueError, AttributeError):
            return {}
    summary = out / "summary.json"
    try:
        legacy = summary.is_file() and "valuemax_version" in json.loads(
            summary.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        legacy = False
    if not legacy:
        return {}
    return {n: "analyze" for n in ANALYZE_OUTPUTS
            if (out / n).is_file() and not (out / n).is_symlink()}


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _lock(folder: Path) -> int:
    fd = os.open(folder, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def remove_dead_partials(anchor: Path) -> list[Path]:
    """Remove ``.<name>.partial-*`` folders next to ``anchor`` left by runs that died.

    A live run holds an exclusive lock on its folder; a folder whose lock can be taken
    belongs to no live process. A lone ``.<name>.old-*`` folder left when ``anchor`` is
    missing (a kill between the two renames of the fallback publish) is moved back.

    Returns
    -------
    list of Path
        The folders removed.
    """
    parent, removed = anchor.parent, []
    if not parent.is_dir():
        return removed
    olds = sorted(parent.glob(f".{anchor.name}.old-*"))
    if olds and not _exists(anchor):
        with contextlib.suppress(OSError):
            olds[0].rename(anchor)
    for item in [*parent.glob(f".{anchor.name}.partial-*"), *olds]:
        if not item.is_dir() or item.is_symlink():
            continue
        try:
            fd = _lock(item)
        except OSError:  # a live run holds it
            continue
        try:
            shutil.rmtree(item, ignore_errors=True)
            removed.append(item)
        finally:
            os.close(fd)
    return removed


def _exchange(a: Path, b: Path) -> bool:
    """Swap ``a`` and ``b`` atomically (Linux ``renameat2``); False when unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    rc = fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM while the folder is swapped; they are delivered right after."""
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    except (ValueError, OSError, AttributeError):  # not the main thread / not POSIX
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _link_copy(src: Path, dst: Path) -> None:
    """Give ``dst`` the content of a user's ``src`` without opening or moving it."""
    if src.is_symlink():
        os.symlink(os.readlink(src), dst)
    elif src.is_dir():
        shutil.copytree(src, dst, symlinks=True, copy_function=os.link)
    else:
        os.link(src, dst, follow_symlinks=False)


def _folder_size(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += (Path(root) / name).lstat().st_size
    return total


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def is_disk_full(exc: BaseException) -> bool:
    """True for ``ENOSPC``/``EDQUOT`` from Python or DuckDB ("No space left on device")."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc)
    return "No space left on device" in text or "Disk quota exceeded" in text


class Workspace:
    """The private folder of one run and the final places its results go.

    Parameters
    ----------
    out : Path or None
        Output folder (created or updated on success).
    db : Path or None
        User-given DuckDB store; tables are copied there on success.
    outputs : iterable of str, default ANALYZE_OUTPUTS
        Names the run may write into ``out``; a user's file or folder of such a name is
        refused before the run (``InputError``).
    job : str, default "analyze"
        The command, recorded in the manifest: a run replaces the earlier outputs of its
        own command and keeps those of the others.

    Raises
    ------
    InputError
        If ``out`` is a file, a user's file is in the way of an output, or a place cannot
        be written.
    """

    def __init__(self, out: Path | None, db: Path | None, *,
                 outputs: Iterable[str] = ANALYZE_OUTPUTS, job: str = "analyze"):
        self.out, self.db, self.job = out, db, job
        self._lock_fd: int | None = None
        self._umask: int | None = None
        if out is not None:
            out = Path(os.path.abspath(out))
            if out.is_symlink() and out.is_dir():  # publish into the folder it points to
                out = out.resolve()
            self.out = out
            if _exists(out) and not out.is_dir():
                raise InputError(f"out/--out {str(out)!r} exists and is not a folder; "
                                 "choose another")
            _check_writable_folder(out.parent, "out/--out")
            remove_dead_partials(out)
        names = set(outputs)
        # a store inside the output folder is written with the other files and published
        # with them; any other store gets the tables copied in on success
        self.db_in_out = (
            db is not None and out is not None
            and db.resolve().is_relative_to(out.resolve())
        )
        if self.db_in_out:
            rel = db.resolve().relative_to(out.resolve())
            names |= {rel.parts[0], f"{rel.parts[0]}.wal"} if len(rel.parts) == 1 \
                else {rel.parts[0]}
        self.outputs = frozenset(names)
        if out is not None and out.is_dir():
            self._check_in_the_way(self.outputs)
            _check_existing_out(out)
        if db is not None and not self.db_in_out:
            check_db_path(db)
        anchor = out if out is not None else db
        self.tmp: Path | None = None
        if anchor is not None:
            if out is None:
                remove_dead_partials(anchor)
            self.tmp = anchor.parent / f".{anchor.name}.partial-{uuid.uuid4().hex[:8]}"
            try:
                self.tmp.mkdir(parents=True, mode=PRIVATE_DIR)
                os.chmod(self.tmp, PRIVATE_DIR)  # whatever the umask
                self._lock_fd = _lock(self.tmp)
            except OSError as exc:
                raise InputError(f"cannot create {str(self.tmp)!r}: {exc.strerror}") from exc

        if self.db_in_out and self.tmp is not None:
            rel = db.resolve().relative_to(out.resolve())
            self._store = self.tmp / rel
            self._store.parent.mkdir(parents=True, exist_ok=True)
            if db.exists():  # keep its earlier runs: continue from a copy
                check_db_path(db)
                shutil.copy2(db, self._store)
        else:
            self._store = None if self.tmp is None else self.tmp / "valuemax.duckdb"
        if self.tmp is not None:
            # files written into the private folder are 0600 from the start, as the
            # published ones are (make_private): a killed run's .partial folder holds no
            # 0644 file; the umask is restored when the folder is unlocked
            self._umask = os.umask(PRIVATE_UMASK)

    # -- checks -------------------------------------------------------------------------
    def _check_in_the_way(self, names: Iterable[str]) -> None:
        ours = read_manifest(self.out)
        blocked = sorted(n for n in names if _exists(self.out / n) and n not in ours)
        if blocked:
            paths = ", ".join(repr(str(self.out / n)) for n in blocked[:5])
            more = f" and {len(blocked) - 5} more" if len(blocked) > 5 else ""
            raise InputError(
                f"{paths}{more}: {len(blocked)} file(s) or folder(s) that valuemax did not "
                f"write (not listed in {MANIFEST}) carry the name of an output of "
                f"out={str(self.out)!r}; valuemax replaces only files it wrote itself. Move "
                "them away or choose another out folder"
            )

    def planned_outputs(self) -> dict[str, Any]:
        """What this run writes, for the ``runs`` audit trail: ``{"out", "files", "db"}``.

        ``files`` are the names written so far into the private folder plus
        ``summary.json`` (written last); ``out`` and ``db`` are absolute final paths (None
        when not written).
        """
        files: list[str] = []
        if self.out is not None and self.tmp is not None and self.tmp.exists():
            files = sorted({p.name for p in self.tmp.iterdir()
                            if not p.name.endswith(".wal")} | {"summary.json"})
        db = self.db if self.db is not None else (
            self.out / "valuemax.duckdb" if self.out is not None else None)
        return {"out": None if self.out is None else str(self.out), "files": files,
                "db": None if db is None else str(Path(os.path.abspath(db)))}

    @property
    def store(self) -> Path | None:
        """The run's own DuckDB file (inside the private folder), or None for in-memory."""
        return self._store

    # -- the store ----------------------------------------------------------------------
    def copy_store_to_db(self, con: Any, tables: Iterable[str] = ()) -> None:
        """Finish the store: copy the documented tables and ``runs`` into ``db`` at once.

        Only :data:`STORE_TABLES` (and ``runs``) among ``tables`` are copied; a documented
        table the run did not produce is dropped from ``db`` so that every table belongs to
        one run. Everything happens in one DuckDB transaction. The run's own store (published
        with ``out``) is pruned of private tables (``_vm_*``, Ibis caches). A new store table
        must be added to :data:`STORE_TABLES` (a test checks the run's store against it).

        Raises
        ------
        InputError
            If ``db`` cannot be opened.
        ValuemaxError
            If the disk fills while writing (the transaction is rolled back).
        """
        local = set(_persistent_tables(con))
        if tables:
            local &= set(tables)
        if self.db is None or self.db_in_out:
            for name in sorted(local):
                if name.startswith(_LEAKED_PREFIXES):
                    con.raw_sql(f'DROP TABLE IF EXISTS main."{_ident(name)}"')
            return
        with store_transaction(con, self.db,
                               disk_full=lambda e: self.disk_full(e, self.db)) as have:
            for name in STORE_TABLES:
                q = _ident(name)
                if name in local:
                    con.raw_sql(f'CREATE OR REPLACE TABLE vm_dst."{q}" AS '
                                f'SELECT * FROM main."{q}"')
                elif name in have:  # the earlier run's table: not this run's
                    con.raw_sql(f'DROP TABLE vm_dst."{q}"')
            for name in sorted(have):
                if name.startswith(_LEAKED_PREFIXES):
                    con.raw_sql(f'DROP TABLE vm_dst."{_ident(name)}"')
            if "runs" in local:
                append_runs(con, have)

    # -- publishing ---------------------------------------------------------------------
    def publish(self) -> None:
        """Swap the finished folder in as ``out`` (one rename); drop the private store if
        ``db`` was given.

        Raises
        ------
        InputError
            If a user's file took an output's name during the run.
        """
        if self.tmp is None:
            return
        if self.db is not None and not self.db_in_out and self.store is not None:
            for suffix in ("", ".wal"):
                Path(f"{self.store}{suffix}").unlink(missing_ok=True)
        if self.out is None:
            self.discard()
            return
        written = sorted(p.name for p in self.tmp.iterdir())
        make_private(self.tmp / n for n in written)  # before any user's file is linked in
        files = {n: self.job for n in written}
        if _exists(self.out) and _swap_unsafe(self.out):
            self._check_in_the_way(written)
            self._publish_in_place(written, files)
            return
        if _exists(self.out):
            ours = read_manifest(self.out)
            self._check_in_the_way(written)
            for item in sorted(self.out.iterdir()):
                name = item.name
                if name == MANIFEST or name in files:
                    continue
                if name in ours and ours[name] == self.job:
                    continue  # the previous run of this command wrote it: stale now
                try:
                    _link_copy(item, self.tmp / name)
                except OSError as exc:
                    raise InputError(
                        f"out/--out {str(self.out)!r}: cannot keep {str(item)!r} while "
                        f"publishing ({exc.strerror}); move it out of the output folder"
                    ) from exc
                if name in ours:
                    files[name] = ours[name]
        (self.tmp / MANIFEST).write_text(
            json.dumps({"written_by": "valuemax", "files": files}, indent=1) + "\n",
            encoding="utf-8")
        os.chmod(self.tmp / MANIFEST, PRIVATE_FILE)
        with _signals_deferred():
            try:
                old = self._swap_in()
            except OSError as exc:
                if is_disk_full(exc):
                    raise
                raise _publish_failed(self.out, exc, "the output folder is as it was "
                                      "before the run") from exc
            self._unlock()
            self.tmp = None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def _swap_in(self) -> Path | None:
        """Put the finished folder in place of ``out``; return the old folder to remove
        (None when ``out`` did not exist). On an error ``out`` is left as it was."""
        if not _exists(self.out):
            self.tmp.rename(self.out)
            return None
        with contextlib.suppress(OSError):
            shutil.copystat(self.out, self.tmp)
        if _exchange(self.tmp, self.out):
            return self.tmp
        # two renames; a kill in between is repaired by the next run
        old = self.out.parent / f".{self.out.name}.old-{uuid.uuid4().hex[:8]}"
        self.out.rename(old)
        try:
            self.tmp.rename(self.out)
        except OSError:
            old.rename(self.out)
            raise
        return old

    def _publish_in_place(self, written: list[str], files: dict[str, str]) -> None:
        # ``out`` is the working folder or a mount point: it cannot be swapped, so each file
        # is replaced on its own (each atomically; the manifest last)
        ours = read_manifest(self.out)
        keep = {n: j for n, j in ours.items() if j != self.job and n not in files}
        (self.tmp / MANIFEST).write_text(
            json.dumps({"written_by": "valuemax", "files": {**keep, **files}}, indent=1)
            + "\n", encoding="utf-8")
        os.chmod(self.tmp / MANIFEST, PRIVATE_FILE)
        with _signals_deferred():
            try:
                for name in written:
                    target = self.out / name
                    if target.is_dir() and not target.is_symlink():
                        shutil.rmtree(target)
                    (self.tmp / name).replace(target)
            except OSError as exc:
                if is_disk_full(exc):
                    raise
                raise _publish_failed(self.out, exc, "some outputs may be of this run and "
                                      "others of the previous one") from exc
            for name, job in ours.items():
                if job == self.job and name not in files:
                    stale = self.out / name
                    if stale.is_dir() and not stale.is_symlink():
                        shutil.rmtree(stale, ignore_errors=True)
                    else:
                        stale.unlink(missing_ok=True)
            (self.tmp / MANIFEST).replace(self.out / MANIFEST)
            self._unlock()
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def discard(self) -> None:
        """Remove the private folder (after a failure)."""
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        self._unlock()

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        if self._umask is not None:
            os.umask(self._umask)
            self._umask = None

    # -- faults -------------------------------------------------------------------------
    def disk_full(self, exc: BaseException, target: Path | None = None) -> ValuemaxError | None:
        """A one-line ``ValuemaxError`` for a full disk, or None if ``exc`` is not one.

        Names the file that could not be written (from the error, else the newest file of
        the run's folder), the space the run had written and the space left.
        """
        if not is_disk_full(exc):
            return None
        where = target or (Path(exc.filename) if getattr(exc, "filename", None) else None)
        if where is None and '"' in str(exc):
            where = Path(str(exc).split('"')[1])
        if where is None and self.tmp is not None and self.tmp.exists():
            newest = max((p for p in self.tmp.rglob("*") if p.is_file()),
                         key=lambda p: p.stat().st_mtime_ns, default=None)
            where = newest
        folder = self.tmp if self.tmp is not None else (where.parent if where else Path("."))
        used = _folder_size(self.tmp) if self.tmp is not None and self.tmp.exists() else 0
        probe = folder if folder.exists() else folder.parent
        try:
            free = shutil.disk_usage(probe).free
        except OSError:
            free = 0
        name = where.name if where is not None else "an output file"
        final = (self.out / name) if self.out is not None and where is not None \
            and self.tmp is not None and where.is_relative_to(self.tmp) else where
        return ValuemaxError(
            f"disk full: could not write {str(final or name)!r} (no space left on the device "
            f"of {str(probe)!r}: {_mb(free)} free; the run had written {_mb(used)} and needs "
            f"more than that free, plus room for the old outputs until the new ones replace "
            "them). Nothing was changed: free some space or choose another out= or db= "
            "location"
        )


def compact_store(store: Path) -> None:
    """Rewrite the DuckDB file ``store`` afresh, holding only its live tables.

    DuckDB keeps the pages of a dropped or replaced table in the file until they are
    reused; after the raw log was rewritten (personal-data columns dropped, ids
    pseudonymised) those pages still hold the original values. ``COPY FROM DATABASE``
    into a new file and a rename leave none of them (the new file is 0600).

    Raises
    ------
    ValuemaxError
        If the disk fills (the old file is kept, the partial copy removed).
    """
    from valuemax.engines import connect

    fresh = store.with_name(f".{store.name}.compact-{uuid.uuid4().hex[:8]}")
    con = connect(store)
    try:
        name = con.raw_sql("SELECT current_database()").fetchone()[0]
        con.raw_sql(f"ATTACH '{_sql_str(fresh)}' AS vm_fresh")
        con.raw_sql(f'COPY FROM DATABASE "{_ident(name)}" TO vm_fresh')
        con.raw_sql("DETACH vm_fresh")
    except BaseException:
        for suffix in ("", ".wal"):
            Path(f"{fresh}{suffix}").unlink(missing_ok=True)
        raise
    finally:
        con.disconnect()
    make_private([fresh])
    os.replace(fresh, store)
    Path(f"{store}.wal").unlink(missing_ok=True)


@contextlib.contextmanager
def store_transaction(con: Any, db: Path,
                      disk_full: Callable[[BaseException], BaseException | None] | None = None,
                      ) -> Iterator[set[str]]:
    """Attach the DuckDB store ``db`` to ``con`` as ``vm_dst`` and run the body as one
    transaction on it.

    Yields the names of the tables the store holds in its ``main`` schema. The body's
    writes commit together at the end, or none of them (ROLLBACK on any error, an
    interrupt included); the store is detached either way, and a store file created here
    is made private (owner-only, :func:`valuemax.privacy.make_private`). Used by every
    job that writes into a store (``analyze``, ``experiment``/``uplift``/``target``).

    Parameters
    ----------
    con : ibis DuckDB backend
        The working connection whose ``main`` tables are copied.
    db : pathlib.Path
        The store file (created if missing).
    disk_full : callable, optional
        ``exc -> exception or None``: the error to raise instead of ``exc`` when the disk
        filled (default: a one-line ``ValuemaxError`` naming the store).

    Raises
    ------
    InputError
        If ``db`` cannot be opened as a DuckDB store.
    ValuemaxError
        If the disk fills while writing (the transaction is rolled back).
    """
    created = not db.exists()
    try:
        con.raw_sql(f"ATTACH '{_sql_str(db)}' AS vm_dst")
    except Exception as exc:  # duckdb.IOException and friends
        raise InputError(f"cannot open the store db/--db {str(db)!r}: {exc}") from exc
    try:
        have = {r[0] for r in con.raw_sql(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_catalog = 'vm_dst' AND table_schema = 'main'").fetchall()}
        con.raw_sql("BEGIN TRANSACTION")
        try:
            yield have
            con.raw_sql("COMMIT")
        except BaseException:
            with contextlib.suppress(Exception):
                con.raw_sql("ROLLBACK")
            raise
    except Exception as exc:
        if is_disk_full(exc):
            err = disk_full(exc) if disk_full is not None else None
            raise (err or ValuemaxError(
                f"disk full: could not write into the store {str(db)!r}; nothing was "
                "changed. Free some space or choose another db/--db.")) from exc
        raise
    finally:
        with contextlib.suppress(Exception):
            con.raw_sql("DETACH vm_dst")
        if created:  # a store valuemax creates is readable by its owner only
            make_private([db, Path(f"{db}.wal")])


def append_runs(con: Any, have: set[str]) -> None:
    """Append the working connection's ``runs`` rows to the attached store's (inside
    :func:`store_transaction`), adding the columns a store of an earlier version lacks."""
    if "runs" in have:
        added = _add_missing_columns(con, "vm_dst.runs", "main.runs")
        if "kind" in added:  # a store written before runs.kind existed
            from valuemax.pipeline._store import fill_run_kinds

            fill_run_kinds(con, "vm_dst.runs")
        con.raw_sql("INSERT INTO vm_dst.runs BY NAME SELECT * FROM main.runs")
    else:
        con.raw_sql("CREATE TABLE vm_dst.runs AS SELECT * FROM main.runs")


def _add_missing_columns(con: Any, target: str, source: str) -> list[str]:
    """Add to ``target`` the columns of ``source`` it lacks (as VARCHAR, NULL for old rows);
    return their names."""
    def cols(table: str) -> dict[str, str]:
        return {r[0]: r[1] for r in con.raw_sql(f"DESCRIBE {table}").fetchall()}

    have = cols(target)
    added = [name for name in cols(source) if name not in have]
    for name, dtype in cols(source).items():
        if name not in have:
            con.raw_sql(f'ALTER TABLE {target} ADD COLUMN "{_ident(name)}" {dtype}')
    return added


def _swap_unsafe(out: Path) -> bool:
    """True when ``out`` cannot be swapped: a mount point, or this process's working folder."""
    try:
        return os.path.ismount(out) or Path.cwd().resolve() == out.resolve()
    except OSError:
        return True


def _persistent_tables(con: Any) -> list[str]:
    rows = con.raw_sql(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_schema = 'main'"
    ).fetchall()
    return [r[0] for r in rows]


def _ident(name: str) -> str:
    return name.replace('"', '""')


def _sql_str(path: Path) -> str:
    return str(path).replace("'", "''")
