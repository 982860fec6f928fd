"""An existing --out that cannot be written: refused before any work (exit 2, one line), and
a folder that turns unwritable during the run gives one clear line, the folder left as it
was."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess

import pandas as pd
import pytest

import valuemax
from valuemax.exceptions import InputError
from valuemax.pipeline import _workspace
from valuemax.pipeline._workspace import Workspace


@contextlib.contextmanager
def _unwritable(folder):
    """``folder`` made unwritable: immutable as root (root writes through mode bits),
    mode 0500 otherwise."""
    if os.geteuid() == 0:
        chattr = shutil.which("chattr")
        if chattr is None or subprocess.run([chattr, "+i", str(folder)],
                                            capture_output=True).returncode != 0:
            pytest.skip("running as root where chattr +i is not available: no way to make "
                        "a folder unwritable")
        try:
            yield
        finally:
            subprocess.run([chattr, "-i", str(folder)], check=True)
    else:
        folder.chmod(0o500)
        try:
            yield
        finally:
            folder.chmod(0o700)


def test_an_existing_unwritable_out_is_refused_before_any_work(tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    (out / "notes.txt").write_text("the user's own file\n", encoding="utf-8")
    log = pd.DataFrame({"customer_id": ["a", "b"], "date": ["2024-01-01", "2024-01-02"],
                        "amount": [1.0, 2.0]})
    with _unwritable(out):
        with pytest.raises(InputError, match=r"exists but cannot be written .*nothing was "
                                             r"run: make the folder writable"):
            Workspace(out, None)
        with pytest.raises(InputError, match="exists but cannot be written"):
            valuemax.analyze(log, out=out)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["results"]  # no partial folder left


def test_a_failure_at_publish_time_is_one_clear_line_and_out_stays_as_it_was(tmp_path,
                                                                            monkeypatch):
    out = tmp_path / "results"
    first = Workspace(out, None)
    (first.tmp / "a.csv").write_text("first\n", encoding="utf-8")
    first.publish()
    ws = Workspace(out, None)
    (ws.tmp / "a.csv").write_text("second\n", encoding="utf-8")

    def refuse(a, b):
        raise OSError(errno.EPERM, os.strerror(errno.EPERM), str(b))

    monkeypatch.setattr(_workspace, "_exchange", refuse)
    with pytest.raises(InputError) as caught:
        ws.publish()
    message = str(caught.value)
    assert "\n" not in message
    assert "the finished results could not be published (Operation not permitted" in message
    assert "the output folder is as it was before the run" in message
    ws.discard()
    assert (out / "a.csv").read_text(encoding="utf-8") == "first\n"
    # the two-rename fallback (no renameat2) puts the old folder back when the second fails
    ws = Workspace(out, None)
    (ws.tmp / "a.csv").write_text("third\n", encoding="utf-8")
    monkeypatch.setattr(_workspace, "_exchange", lambda a, b: False)
    real_rename = type(out).rename

    def rename(self, target):
        if self == ws.tmp:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(target))
        return real_rename(self, target)

    monkeypatch.setattr(type(out), "rename", rename)
    with pytest.raises(InputError, match="as it was before the run"):
        ws.publish()
    monkeypatch.undo()
    ws.discard()
    assert (out / "a.csv").read_text(encoding="utf-8") == "first\n"
