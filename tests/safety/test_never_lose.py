"""Never lose a user's file, never mix two runs in ``--out`` (issue 10, "Losing", "Mixing")."""

from __future__ import annotations

import fcntl
import json
import os
import shutil

import pytest

import valuemax
from valuemax.exceptions import InputError
from valuemax.pipeline._workspace import MANIFEST, Workspace, remove_dead_partials


def _stat(path):
    st = path.stat()
    return (path.read_bytes(), st.st_ino, st.st_mtime_ns)


def test_out_equal_to_the_input_folder_never_overwrites_the_input(tmp_path, small_log, support):
    # the reproduction: cp orders.csv data/customers.csv; analyze data/customers.csv --out data
    src = small_log.parent / "customers.csv"
    shutil.copy(small_log, src)
    before = _stat(src)
    with pytest.raises(InputError, match=r"customers\.csv.*valuemax did not write"):
        valuemax.analyze(str(src), out=src.parent, **support.FAST)
    assert _stat(src) == before
    assert sorted(p.name for p in src.parent.iterdir()) == ["customers.csv", "orders.csv"]


@pytest.mark.parametrize("taken", ["customers.parquet/part-0.parquet", "report.html/draft.txt"])
def test_a_user_folder_named_like_an_output_is_refused_not_deleted(tmp_path, small_log,
                                                                   support, taken):
    out = tmp_path / "out"
    user = out / taken
    user.parent.mkdir(parents=True)
    user.write_bytes(b"user data")
    with pytest.raises(InputError, match=str(user.parent.name)):
        valuemax.analyze(str(small_log), out=out, **support.FAST)
    assert user.read_bytes() == b"user data"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "out"]  # no partial left


def test_user_files_beside_the_outputs_are_kept_untouched(tmp_path, small_log, support):
    out = tmp_path / "data"  # the input's own folder as --out: orders.csv is not in the way
    notes = out / "notes.txt"
    notes.write_text("mine\n", encoding="utf-8")
    (out / "sub").mkdir()
    (out / "sub" / "x.csv").write_text("=1+2\n", encoding="utf-8")
    kept = {p: _stat(p) for p in (small_log, notes, out / "sub" / "x.csv")}
    for _ in range(2):
        valuemax.analyze(str(small_log), out=out, **support.FAST)
        assert {p: _stat(p) for p in kept} == kept  # same bytes, same inode, same mtime
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))["files"]
    assert set(manifest) == {"customers.csv", "customers.parquet", "quarantine.parquet",
                             "report.html", "summary.json", "valuemax.duckdb",
                             "rules.parquet", "rules.csv", "recommendations.parquet",
                             "recommendations.csv"}
    assert {p.name for p in out.iterdir()} == {*manifest, MANIFEST, "orders.csv",
                                               "notes.txt", "sub"}


def test_outputs_of_the_previous_run_that_this_run_does_not_write_are_gone(tmp_path, support):
    src1, src2 = tmp_path / "with_sku.csv", tmp_path / "no_sku.csv"
    support.make_log(src1, "A", n=60, seed=1)
    n2 = support.make_log(src2, "B", n=40, seed=2, products=False)
    out = tmp_path / "out"
    valuemax.analyze(str(src1), out=out, calibration_end="2011-09-30", **support.FAST)
    first = {p.name for p in out.iterdir()}
    assert {"rules.csv", "recommendations.csv", "calibration_holdout.parquet"} <= first
    valuemax.analyze(str(src2), out=out, **support.FAST)
    now = {p.name for p in out.iterdir()}
    assert now == {"customers.csv", "customers.parquet", "quarantine.parquet", "report.html",
                   "summary.json", "valuemax.duckdb", MANIFEST}
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["rows_in"] == n2


def test_part_commands_keep_each_others_outputs_and_analyze_keeps_theirs(tmp_path, support,
                                                                         cli_runner):
    from valuemax.cli import app

    src = tmp_path / "log.csv"
    support.make_log(src, "A", n=60, seed=1)
    out = tmp_path / "out"
    valuemax.analyze(str(src), out=out, **support.FAST)
    res = cli_runner.invoke(app, ["rules", str(src), "--out", str(out)])
    assert res.exit_code == 0, res.output
    names = {p.name for p in out.iterdir()}
    assert {"rules_summary.json", "summary.json", "report.html"} <= names
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))["files"]
    assert manifest["rules_summary.json"] == "rules" and manifest["report.html"] == "analyze"


def test_dead_runs_partial_folders_are_removed_live_ones_kept(tmp_path):
    out = tmp_path / "res"
    dead = tmp_path / ".res.partial-deadbeef"
    live = tmp_path / ".res.partial-11111111"
    for d in (dead, live):
        (d / "sub").mkdir(parents=True)
        (d / "sub" / "f").write_bytes(b"x")
    fd = os.open(live, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as a running valuemax holds its folder
    try:
        removed = remove_dead_partials(out)
    finally:
        os.close(fd)
    assert removed == [dead]
    assert not dead.exists() and (live / "sub" / "f").exists()


def test_a_kill_between_the_fallback_renames_is_repaired_on_the_next_start(tmp_path):
    out = tmp_path / "res"
    old = tmp_path / ".res.old-0000abcd"
    old.mkdir()
    (old / "summary.json").write_text("{}", encoding="utf-8")
    (old / MANIFEST).write_text(json.dumps({"files": {"summary.json": "analyze"}}),
                                encoding="utf-8")
    Workspace(out, None).discard()
    assert (out / "summary.json").read_text(encoding="utf-8") == "{}"
    assert not old.exists()


def test_fallback_publish_without_renameat2_gives_the_same_folder(tmp_path, small_log,
                                                                  support, monkeypatch):
    import valuemax.pipeline._workspace as wsmod

    out = tmp_path / "out"
    (out / "mine.txt").parent.mkdir()
    (out / "mine.txt").write_text("k", encoding="utf-8")
    monkeypatch.setattr(wsmod, "_exchange", lambda a, b: False)
    valuemax.analyze(str(small_log), out=out, **support.FAST)
    valuemax.analyze(str(small_log), out=out, **support.FAST)
    assert (out / "mine.txt").read_text(encoding="utf-8") == "k"
    assert (out / "summary.json").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
