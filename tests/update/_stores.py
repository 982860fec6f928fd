"""Helpers of the update tests: read and compare store tables."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd


def table(store: Path, name: str, order: str | list[str]) -> pd.DataFrame:
    """A store table as pandas, ordered, with a fresh index (opened read-only)."""
    con = duckdb.connect(str(store), read_only=True)
    try:
        frame = con.execute(f'SELECT * FROM "{name}"').df()
    finally:
        con.close()
    return frame.sort_values(order).reset_index(drop=True)


def tables(store: Path) -> set[str]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    finally:
        con.close()


def snapshot(store: Path) -> dict[str, pd.DataFrame]:
    """Every table of the store in a fixed row order (``ORDER BY ALL``), to compare states."""
    con = duckdb.connect(str(store), read_only=True)
    try:
        names = [r[0] for r in con.execute("SHOW TABLES").fetchall()]
        return {n: con.execute(f'SELECT * FROM "{n}" ORDER BY ALL').df() for n in sorted(names)}
    finally:
        con.close()


def assert_same(a: pd.DataFrame, b: pd.DataFrame, what: str, rtol: float = 1e-9) -> None:
    """Equal columns and values; floats within ``rtol`` (and 1e-9 absolute)."""
    assert list(a.columns) == list(b.columns), what
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=rtol, atol=1e-9,
                                  obj=what)
