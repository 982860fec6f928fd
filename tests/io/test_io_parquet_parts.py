"""A log exported as Parquet parts (a folder, Hive folders, a glob): read as one log."""

from __future__ import annotations

import datetime as dt
import itertools

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from valuemax.exceptions import InputError
from valuemax.io import read_transactions

N = 2_500


def _log() -> pa.Table:
    return pa.table({
        "customer_id": pa.array([f"c{i % 97}" for i in range(N)]),
        "order_id": pa.array([f"o{i // 3}" for i in range(N)]),
        "order_ts": pa.array([dt.datetime(2024, 1, 1 + i % 28, i % 24) for i in range(N)],
                             pa.timestamp("us")),
        "amount": pa.array([float(i) / 4 for i in range(N)]),
    })


def _split(table: pa.Table, folder, cuts=(700, 1_900)) -> list:
    """Write ``table`` as parts of ``cuts`` boundaries under ``folder`` (Spark's names and
    markers beside them); returns the parts in order."""
    folder.mkdir(parents=True, exist_ok=True)
    bounds = [0, *cuts, table.num_rows]
    paths = []
    for i, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        path = folder / f"part-{i:05d}-abc.snappy.parquet"
        pq.write_table(table.slice(lo, hi - lo), path, row_group_size=300)
        (folder / f".{path.name}.crc").write_bytes(b"crc")
        paths.append(path)
    (folder / "_SUCCESS").write_text("")
    return paths


def _standard(ing) -> list:
    return ing.standardized().order_by("_row_id").to_pyarrow().to_pylist()


def test_folder_of_parts_reads_as_the_single_file(tmp_path):
    whole = tmp_path / "whole.parquet"
    pq.write_table(_log(), whole)
    _split(_log(), tmp_path / "export")
    one, parts = read_transactions(whole), read_transactions(tmp_path / "export")
    got = _standard(parts)
    assert [r["_row_id"] for r in got] == list(range(1, N + 1))  # numbered in part order
    assert got == _standard(one)
    assert parts.format == "parquet" and parts.mapping == one.mapping
    # the same parts give the same fingerprint; a changed part another
    again = read_transactions(tmp_path / "export")
    assert again.fingerprint == parts.fingerprint != one.fingerprint
    changed = _log().set_column(3, "amount", pa.array([1.0] * N))
    _split(changed, tmp_path / "export")
    assert read_transactions(tmp_path / "export").fingerprint != parts.fingerprint


def test_glob_pattern_reads_the_matching_parts_in_path_order(tmp_path):
    paths = _split(_log(), tmp_path / "export")
    (tmp_path / "export" / "notes.txt").write_text("not matched by the pattern")
    ing = read_transactions(str(tmp_path / "export" / "part-*.parquet"))
    got = _standard(ing)
    assert len(got) == N
    assert [r["amount"] for r in got] == [float(i) / 4 for i in range(N)]
    only_last = read_transactions(str(paths[-1].parent / "part-00002-*.parquet"))
    assert [r["amount"] for r in _standard(only_last)] == [float(i) / 4 for i in
                                                           range(1_900, N)]


def test_hive_folders_and_columns_in_another_order(tmp_path):
    # Spark's partitionBy("region") keeps the column in the folder names only; a later
    # part written with its columns in another order is matched by name
    log = _log()
    first, second = log.slice(0, 1_000), log.slice(1_000)
    (tmp_path / "x" / "region=north").mkdir(parents=True)
    (tmp_path / "x" / "region=south").mkdir(parents=True)
    pq.write_table(first, tmp_path / "x" / "region=north" / "part-0.parquet")
    pq.write_table(second.select(["amount", "order_ts", "customer_id", "order_id"]),
                   tmp_path / "x" / "region=south" / "part-0.parquet")
    ing = read_transactions(tmp_path / "x")
    raw = ing.raw.order_by("_row_id").to_pyarrow()
    assert raw["region"].to_pylist() == ["north"] * 1_000 + ["south"] * (N - 1_000)
    assert raw["amount"].to_pylist() == log["amount"].to_pylist()
    assert raw["customer_id"].to_pylist() == log["customer_id"].to_pylist()


def test_folder_with_other_files_is_refused(tmp_path):
    _split(_log(), tmp_path / "export")
    (tmp_path / "export" / "extra.csv").write_text("customer_id,date,amount\nc1,2024-01-05,1\n")
    with pytest.raises(InputError, match=r"holds 1 file\(s\) that are not Parquet "
                                         r"\('.*extra\.csv'\).*move the other files out"):
        read_transactions(tmp_path / "export")


def test_empty_part_and_pattern_without_match(tmp_path):
    _split(_log(), tmp_path / "export")
    (tmp_path / "export" / "part-00009.parquet").write_bytes(b"")
    with pytest.raises(InputError, match=r"1 Parquet file\(s\) are empty \(0 bytes\)"):
        read_transactions(tmp_path / "export")
    with pytest.raises(InputError, match=r"the pattern .*nothing-\*\.parquet.* names no file"):
        read_transactions(str(tmp_path / "nothing-*.parquet"))


def _parts(folder, tables: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, folder / name)


def _orders(ids, ts, tz=None) -> pa.Table:
    return pa.table({"customer_id": pa.array(ids),
                     "order_ts": pa.array(ts, pa.timestamp("us", tz=tz)),
                     "amount": pa.array([1.5] * len(ids))})


def test_hive_folder_key_that_is_also_a_column_is_refused(tmp_path):
    # folders customer_id=X0/ over files holding C000..: DuckDB would read every id as X0
    days = [dt.datetime(2023, 4, d) for d in (1, 2, 3)]
    _parts(tmp_path / "ids", {"customer_id=X0/p0.parquet": _orders(["C000", "C001", "C002"],
                                                                    days),
                              "customer_id=X1/p1.parquet": _orders(["C003", "C004", "C005"],
                                                                    days)})
    with pytest.raises(InputError, match=r"the folder key 'customer_id' .* is also a column "
                                         r"of the part 'customer_id=X0/p0\.parquet' \(string\)"
                                         r".*Rename the folder key .*without the column"):
        read_transactions(tmp_path / "ids")
    # monthly folders date=2023-04/ over full timestamps in a column 'date'
    month = _orders(["C0", "C1", "C2"], days).rename_columns(["customer_id", "date", "amount"])
    _parts(tmp_path / "months", {"date=2023-04/p0.parquet": month})
    with pytest.raises(InputError, match=r"folder key 'date' .*timestamp\[us\]"):
        read_transactions(tmp_path / "months")


def test_single_file_under_a_clashing_hive_folder_is_refused(tmp_path):
    # passed by its own path, one file under customer_id=X0/: DuckDB read every id as X0
    days = [dt.datetime(2023, 4, d) for d in (1, 2)]
    _parts(tmp_path, {"customer_id=X0/p0.parquet": _orders(["C000", "C001"], days),
                      "region=north/p1.parquet": _orders(["C002", "C003"], days)})
    with pytest.raises(InputError, match=r"the folder key 'customer_id' .* is also a column "
                                         r"of the part 'customer_id=X0/p0\.parquet' \(string\)"
                                         r".*Rename the folder key"):
        read_transactions(tmp_path / "customer_id=X0" / "p0.parquet")
    # a folder key that is not a column is still read as one
    ing = read_transactions(tmp_path / "region=north" / "p1.parquet")
    raw = ing.raw.order_by("_row_id").to_pyarrow()
    assert raw["customer_id"].to_pylist() == ["C002", "C003"]
    assert raw["region"].to_pylist() == ["north", "north"]


def test_parts_under_different_hive_keys_are_refused(tmp_path):
    days = [dt.datetime(2023, 4, d) for d in (1, 2)]
    _parts(tmp_path / "keys", {"a=1/x.parquet": _orders(["C0", "C1"], days),
                               "b=2/y.parquet": _orders(["C2", "C3"], days),
                               "b=3/z.parquet": _orders(["C4", "C5"], days)})
    with pytest.raises(InputError, match=r"the 3 Parquet parts sit under 2 different sets of "
                                         r"Hive 'key=value' folders: b=\.\.\. in 2 part\(s\) "
                                         r"\(b=2/y\.parquet, b=3/z\.parquet\); a=\.\.\. in 1 "
                                         r"part\(s\) \(a=1/x\.parquet\)\. Expected every part"):
        read_transactions(tmp_path / "keys")
    # a part under no key folder beside keyed ones
    _parts(tmp_path / "mixed", {"a=1/x.parquet": _orders(["C0", "C1"], days),
                                "y.parquet": _orders(["C2", "C3"], days)})
    with pytest.raises(InputError, match=r"no key folder in 1 part\(s\) \(y\.parquet\)"):
        read_transactions(tmp_path / "mixed")


def test_timestamp_parts_in_ms_and_us_are_read_in_us_with_a_note(tmp_path):
    ts = [dt.datetime(2024, 1, 1, 8, 0, 0, 123_000), dt.datetime(2024, 1, 2, 9, 0, 0, 5)]
    us = _orders(["c1", "c2"], ts)
    ms = us.set_column(1, "order_ts", pa.array(ts[:1] * 2, pa.timestamp("ms")))
    _parts(tmp_path / "x", {"p0.parquet": ms, "p1.parquet": us})
    ing = read_transactions(tmp_path / "x")
    raw = ing.raw.order_by("_row_id").to_pyarrow()
    assert raw["order_ts"].to_pylist() == [ts[0], ts[0], *ts]  # the microsecond kept
    assert any("'order_ts' is timestamp[ms] in p0.parquet but timestamp[us] in p1.parquet; "
               "read as timestamp[us] in every part" in n for n in ing.notes)
    # zones that differ are still refused whatever the unit
    utc = us.set_column(1, "order_ts", pa.array(ts, pa.timestamp("us", tz="UTC")))
    _parts(tmp_path / "z", {"p0.parquet": ms, "p1.parquet": utc})
    with pytest.raises(InputError, match=r"'order_ts' is timestamp\[ms\] in p0\.parquet but "
                                         r"timestamp\[us, tz=UTC\] in p1\.parquet"):
        read_transactions(tmp_path / "z")


def test_parts_in_different_time_zones_or_columns_are_refused(tmp_path):
    ts = [dt.datetime(2024, 1, 1, 20), dt.datetime(2024, 1, 2, 20)]
    ids = ["c1", "c2"]
    _parts(tmp_path / "zones", {"p0.parquet": _orders(ids, ts, "UTC"),
                                "p1.parquet": _orders(ids, ts, "Asia/Shanghai"),
                                "p2.parquet": _orders(ids, ts)})
    with pytest.raises(InputError, match=r"the 3 Parquet parts do not share one schema.*"
                       r"'order_ts' is timestamp\[us, tz=UTC\] in p0\.parquet but "
                       r"timestamp\[us, tz=Asia/Shanghai\] in p1\.parquet and timestamp\[us\] "
                       r"in p2\.parquet\. Re-export the parts with one schema"):
        read_transactions(tmp_path / "zones")
    base = _orders(ids, ts)
    _parts(tmp_path / "cols", {"p0.parquet": base, "p1.parquet": base,
                               "p2.parquet": base.rename_columns(["customer_id", "order_ts",
                                                                  "amt"])})
    with pytest.raises(InputError, match=r"p2\.parquet has no column 'amount' that the other "
                       r"2 part\(s\) have; the column 'amt' is only in p2\.parquet"):
        read_transactions(tmp_path / "cols")
    text = base.set_column(1, "order_ts", pa.array(["2024-01-01", "2024-01-02"]))
    _parts(tmp_path / "text", {"p0.parquet": base, "p1.parquet": text})
    with pytest.raises(InputError, match=r"'order_ts' is timestamp\[us\] in p0\.parquet but "
                                         r"string in p1\.parquet"):
        read_transactions(tmp_path / "text")


def test_widened_numeric_parts_are_read_with_a_note(tmp_path):
    ts = [dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2)]
    p0 = _orders(["c1", "c2"], ts).append_column("qty", pa.array([1, 2], pa.int32()))
    p1 = _orders(["c3", "c4"], ts).append_column("qty", pa.array([3, 2**40], pa.int64()))
    p1 = p1.set_column(2, "amount", pa.array([2.5, 3.5], pa.float32()))
    _parts(tmp_path / "x", {"p0.parquet": p0, "p1.parquet": p1})
    ing = read_transactions(tmp_path / "x")
    raw = ing.raw.order_by("_row_id").to_pyarrow()
    assert raw["qty"].to_pylist() == [1, 2, 3, 2**40]
    assert raw["amount"].to_pylist() == [1.5, 1.5, 2.5, 3.5]
    notes = " | ".join(ing.notes)
    assert "'qty' is int32 in p0.parquet but int64 in p1.parquet; read as int64" in notes
    assert "'amount' is double in p0.parquet but float in p1.parquet; read as double" in notes


def test_corrupt_or_columnless_part_names_the_part(tmp_path):
    _split(_log(), tmp_path / "export")
    (tmp_path / "export" / "part-00003.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match=r"the part 'part-00003\.parquet' could not be read "
                                         r"as Parquet \(.*magic bytes.*\).*export again"):
        read_transactions(tmp_path / "export")
    _parts(tmp_path / "none", {"p0.parquet": _orders(["c1"], [dt.datetime(2024, 1, 1)]),
                               "p1.parquet": pa.table({})})
    with pytest.raises(InputError, match=r"the part 'p1\.parquet' has no columns"):
        read_transactions(tmp_path / "none")


def test_note_counts_parts_and_skipped_markers(tmp_path):
    _split(_log(), tmp_path / "export")  # 3 parts, 3 .crc files and _SUCCESS
    ing = read_transactions(tmp_path / "export")
    assert any("read 3 Parquet part(s) as one log; skipped 4 marker or hidden file(s)" in n
               for n in ing.notes)
