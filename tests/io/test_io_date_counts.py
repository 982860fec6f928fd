"""The per-format counts of the date inference, against Python's own ``strptime``."""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa

from valuemax.io._date_formats import BY_KEY
from valuemax.io._dates import Values

VALUES = {  # value -> lines
    "2024-01-05 10:00:00": 3, "2024-01-06 10:00": 2, "2024-01-07": 1,
    "2024-01-08T10:00:00": 4, "2024-01-09 10:00:00.250": 2, "2024-13-05": 1,
    "2024-02-30 10:00:00": 1, " 2024-01-10 ": 2, "05/01/2024": 1,
    "2024-01-05T10:00:00Z": 2, "2024-01-05 10:00:00+08:00": 3, "2024-01-06T10:00+0100": 1,
}


def _python(formats, where=lambda v: True):
    """(format, lines, most frequent value) per format that parses some value, by lines."""
    out = []
    for fmt in formats:
        hits = {}
        for raw, n in VALUES.items():
            v = raw.strip()
            try:
                dt.datetime.strptime(v.replace("Z", "+0000") if "%z" in fmt else v, fmt)
            except ValueError:
                continue
            if where(v):
                hits[v] = hits.get(v, 0) + n
        if hits:
            out.append((fmt, sum(hits.values()), max(hits, key=hits.get)))
    return sorted(out, key=lambda o: -o[1])


def _values():
    con = ibis.duckdb.connect()
    rows = [v for v, n in VALUES.items() for _ in range(n)]
    con.create_table("raw", pa.table({"d": pa.array(rows, pa.string())}))
    return Values(con, "raw", "d", True)


def test_format_counts_match_strptime_per_format():
    values = _values()
    try:
        iso = values.format_counts(BY_KEY["iso"])
        assert iso == _python(BY_KEY["iso"].formats)
        assert iso[0] == ("%Y-%m-%dT%H:%M:%S", 4, "2024-01-08T10:00:00")
        assert sum(n for _, n, _ in iso) == 3 + 2 + 1 + 4 + 2 + 2  # 2024-02-30 parses nowhere
        # a family whose values carry offsets ('Z' read as +00:00)
        assert values.format_counts(BY_KEY["iso_offset"]) == _python(
            BY_KEY["iso_offset"].formats) == [
            ("%Y-%m-%d %H:%M:%S%z", 3, "2024-01-05 10:00:00+08:00"),
            ("%Y-%m-%dT%H:%M:%S%z", 2, "2024-01-05T10:00:00Z"),
            ("%Y-%m-%dT%H:%M%z", 1, "2024-01-06T10:00+0100")]
        # with a condition on the values: those without a time
        assert values.format_counts(BY_KEY["iso"], "NOT contains(s, ':')") == [
            ("%Y-%m-%d", 3, "2024-01-10")]
    finally:
        values.drop()
