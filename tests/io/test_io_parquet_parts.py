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
