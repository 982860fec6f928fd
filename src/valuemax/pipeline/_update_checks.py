"""Checks around an update's store and output folder: another command's folder as ``out``,
the ``analyze`` exports left older than the store, a store another process is writing."""

from __future__ import annotations

import re
from pathlib import Path

from valuemax._core.exceptions import InputError
from valuemax.pipeline._workspace import read_manifest

#: Exports of ``analyze`` that describe the store's customers at the time of its run.
ANALYZE_EXPORTS = ("customers.csv", "customers.parquet", "summary.json", "report.html")


def check_out_folder(out: Path | str | None) -> None:
    """Refuse an ``out`` folder holding another command's outputs (e.g. ``analyze``'s).

    ``update`` writes ``customers.parquet``/``.csv`` and ``update.json`` only: in
    ``analyze``'s folder its customers would sit beside a ``report.html``, ``summary.json``
    and ``quarantine.parquet`` describing the store before the update.

    Raises
    ------
    InputError
        Naming the files and the command that wrote them, with the fix.
    """
    if out is None or not Path(out).is_dir():
        return
    others = {n: j for n, j in read_manifest(Path(out)).items() if j != "update"}
    if others:
        shown = ", ".join(f"{n} ({j})" for n, j in sorted(others.items())[:6])
        more = f" and {len(others) - 6:,} more" if len(others) > 6 else ""
        raise InputError(
            f"--out {str(out)!r} holds the outputs of another valuemax command: {shown}{more}. "
            "update writes only customers.parquet/.csv and update.json, which would leave "
            "the report and summary there describing the store before the update: give "
            f"update its own folder (e.g. --out {str(Path(out) / 'update')!r}), or rerun "
            "valuemax analyze to refresh that folder")


def stale_exports_note(store: Path) -> str | None:
    """One line when ``store`` sits in an ``analyze`` output folder whose exports now
    describe the store before the update; None otherwise."""
    folder = store.resolve().parent
    owners = read_manifest(folder)
    stale = [n for n in ANALYZE_EXPORTS if owners.get(n) == "analyze"]
    if owners.get(store.name) != "analyze" or not stale:
        return None
    return (f"{', '.join(stale)} in {str(folder)!r} are analyze's and now older than the "
            "store (they describe it before this update); the store is current: read it, "
            "or pass --out DIR (out=) for the updated customers")


_LOCK = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")


def open_refused(store: Path, exc: Exception) -> InputError:
    """The error for a store that cannot be attached for writing: another process's lock
    said as such (with its PID), anything else with DuckDB's message."""
    m = _LOCK.search(str(exc))
    if m:
        return InputError(
            f"another process is writing the store {str(store)!r} (PID {m.group(2)}, "
            f"{m.group(1)}): likely another valuemax command (analyze, update, serve). Wait "
            "for it to finish and run update again, or stop it; one process at a time writes "
            "a store")
    return InputError(f"cannot open the store db/--db {str(store)!r} for writing: {exc}")


__all__ = ["ANALYZE_EXPORTS", "check_out_folder", "open_refused", "stale_exports_note"]
