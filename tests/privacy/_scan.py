"""Every text an output holds: raw bytes, decoded Parquet cells, the report's CSV downloads
(base64) and every cell of every table of a DuckDB store."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import duckdb
import pandas as pd


def _store_text(path: Path) -> str:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [r[0] for r in con.sql("SELECT table_name FROM information_schema.tables")
                  .fetchall()]
        parts = []
        for t in tables:
            frame = con.sql(f'SELECT * FROM "{t}"').df()
            parts.append(" ".join(map(str, frame.columns)))
            parts.append(frame.astype(str).to_csv(index=False))
    return "\n".join(parts)


def output_texts(*paths: Path) -> dict[str, str]:
    """``{file: everything readable in it}`` for every file under ``paths`` (files or folders)."""
    files: list[Path] = []
    for p in paths:
        files += sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
    out: dict[str, str] = {}
    for f in files:
        data = f.read_bytes()
        text = data.decode("utf-8", errors="replace")
        if f.suffix == ".parquet":
            text += pd.read_parquet(f).astype(str).to_csv(index=False)
        elif f.suffix == ".html":
            for b in re.findall(r'"data:text/csv[^",]*;base64,([A-Za-z0-9+/=]+)"', text):
                text += base64.b64decode(b).decode("utf-8-sig", errors="replace")
        elif data[8:12] == b"DUCK":
            text += _store_text(f)
        out[str(f)] = text
    return out


def holding(texts: dict[str, str], needles) -> dict[str, list[str]]:
    """``{needle: [files holding it]}`` for the needles found anywhere."""
    found = {}
    for n in needles:
        where = [f for f, t in texts.items() if n in t]
        if where:
            found[n] = where
    return found
