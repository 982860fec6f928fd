"""An update's output folder and store file: analyze's folder refused as --out, a note that
its exports are older than the store, a store locked by another process said as such."""

from __future__ import annotations

import subprocess
import sys

import pytest

import valuemax
from valuemax._core.exceptions import InputError
from valuemax.pipeline import update

from ._logs import FIRST, HEADER, SECOND, write_parts
from ._stores import snapshot

OPTIONS = {"clv": False, "propensity": False, "clusters": "none"}


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("folders")
    parts = write_parts(folder, HEADER, FIRST, SECOND)
    out = folder / "res"
    valuemax.analyze(parts["first"], out=out, **OPTIONS)
    return out, parts


def test_analyze_folder_refused_as_out(analyzed, tmp_path):
    out, parts = analyzed
    store = out / "valuemax.duckdb"
    before = snapshot(store)
    files = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(InputError, match=r"holds the outputs of another valuemax command: "
                                         r".*report\.html \(analyze\).*give update its own"):
        update(store, parts["second"], out=out)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == files
    after = snapshot(store)
    assert all(before[n].equals(after[n]) for n in before)


def test_update_without_out_says_analyze_exports_are_older(analyzed, tmp_path):
    out, parts = analyzed
    import shutil

    copy = tmp_path / "res"
    shutil.copytree(out, copy)
    result = update(copy / "valuemax.duckdb", parts["second"])
    assert result.applied
    stale = [n for n in result.notes if "now older than the store" in n]
    assert len(stale) == 1 and "customers.csv" in stale[0] and "report.html" in stale[0]
    # a store of its own (not in analyze's folder) gets no such note
    alone = tmp_path / "alone.duckdb"
    shutil.copy2(out / "valuemax.duckdb", alone)
    assert not [n for n in update(alone, parts["second"]).notes if "older than" in n]


def test_store_locked_by_another_process(analyzed, tmp_path):
    out, parts = analyzed
    import shutil

    store = tmp_path / "s.duckdb"
    shutil.copy2(out / "valuemax.duckdb", store)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('held', flush=True); time.sleep(120)", str(store)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(InputError, match=rf"another process is writing the store .*"
                                             rf"\(PID {holder.pid}, .*Wait for it"):
            update(store, parts["second"])
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
