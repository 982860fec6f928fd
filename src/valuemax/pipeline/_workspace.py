"""Where a run writes: a private temporary folder and store, published only on success.

A run never leaves a half-written output folder or store: everything is written into
``.<out>.partial-<id>/`` next to ``out`` (or next to ``db``), and only a successful run moves
the files into ``out`` and copies the tables into a user-given ``db`` (one engine-level copy,
``runs`` appended). On failure, or on SIGTERM/SIGINT in the CLI, the partial folder is removed.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from valuemax._core.exceptions import InputError

_DUCKDB_MAGIC = b"DUCK"


def _check_writable_folder(folder: Path, what: str) -> None:
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(
            f"{what}: cannot write in {str(existing)!r} (not a writable folder); choose a "
            "location you can write to"
        )


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


class Workspace:
    """The private folder of one run and the final places its results go.

    Parameters
    ----------
    out : Path or None
        Output folder (created or updated on success).
    db : Path or None
        User-given DuckDB store; tables are copied there on success.
    """

    def __init__(self, out: Path | None, db: Path | None):
        self.out, self.db = out, db
        if out is not None:
            if out.exists() and not out.is_dir():
                raise InputError(f"out/--out {str(out)!r} exists and is not a folder; "
                                 "choose another")
            _check_writable_folder(out.parent, "out/--out")
        # a store inside the output folder is written with the other files and published
        # with them; any other store gets the tables copied in on success
        self.db_in_out = (
            db is not None and out is not None
            and db.resolve().is_relative_to(out.resolve())
        )
        if db is not None and not self.db_in_out:
            check_db_path(db)
        anchor = out if out is not None else db
        self.tmp: Path | None = None
        if anchor is not None:
            self.tmp = anchor.parent / f".{anchor.name}.partial-{uuid.uuid4().hex[:8]}"
            try:
                self.tmp.mkdir(parents=True)
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

    @property
    def store(self) -> Path | None:
        """The run's own DuckDB file (inside the private folder), or None for in-memory."""
        return self._store

    def copy_store_to_db(self, con, tables: list[str]) -> None:
        """Copy ``tables`` into the user's ``db`` (replacing them) and append to its ``runs``."""
        if self.db is None or self.db_in_out:
            return
        try:
            con.raw_sql(f"ATTACH '{_sql_str(self.db)}' AS vm_dst")
        except Exception as exc:  # duckdb.IOException and friends
            raise InputError(f"cannot open the store db/--db {str(self.db)!r}: {exc}") from exc
        try:
            have = {r[0] for r in con.raw_sql(
                "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'vm_dst'"
            ).fetchall()}
            for name in tables:
                if name == "runs" and "runs" in have:
                    con.raw_sql("INSERT INTO vm_dst.runs BY NAME SELECT * FROM runs")
                else:
                    con.raw_sql(f'CREATE OR REPLACE TABLE vm_dst."{name}" AS SELECT * FROM "{name}"')
        finally:
            con.raw_sql("DETACH vm_dst")

    def publish(self) -> None:
        """Move the finished files into ``out``; drop the private store if ``db`` was given."""
        if self.tmp is None:
            return
        if self.db is not None and not self.db_in_out and self.store is not None:
            for suffix in ("", ".wal"):
                Path(f"{self.store}{suffix}").unlink(missing_ok=True)
        if self.out is None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        elif not self.out.exists():
            self.tmp.rename(self.out)
        else:
            for item in self.tmp.iterdir():
                target = self.out / item.name
                if target.is_dir():
                    shutil.rmtree(target)
                item.replace(target)
            self.tmp.rmdir()
        self.tmp = None

    def discard(self) -> None:
        """Remove the private folder (after a failure)."""
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None


def _sql_str(path: Path) -> str:
    return str(path).replace("'", "''")
