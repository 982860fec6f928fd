"""DuckDB's spill folder: one per connection, so two jobs at once never share spill files
(a 10M-line run failed with "Could not read enough bytes from file
.../valuemax-duckdb-spill/duckdb_temp_storage_S128K-0.tmp" while other runs spilled to the
same folder), and gone once the connection closes."""

from __future__ import annotations

import tempfile
from pathlib import Path

from valuemax.engines import connect


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
