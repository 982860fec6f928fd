"""A failure or a kill in the middle of an update leaves the store as it was."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pandas.testing as pdt
import pytest

import valuemax
from valuemax.exceptions import InputError
from valuemax.pipeline import _update, update

from ._logs import FIRST, HEADER, SECOND, write_parts
from ._stores import snapshot

OPTIONS = {"clv": False, "propensity": False, "clusters": "none"}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    folder = tmp_path_factory.mktemp("atomic")
    parts = write_parts(folder, HEADER, FIRST, SECOND)
    store = folder / "base.duckdb"
    valuemax.analyze(parts["first"], db=store, **OPTIONS)
    return store, parts


@pytest.fixture
def store(base, tmp_path):
    dst = tmp_path / "s.duckdb"
    shutil.copy2(base[0], dst)
    return dst


def _same(a, b):
    assert a.keys() == b.keys()
    for name in a:
        pdt.assert_frame_equal(a[name], b[name], obj=name)


def test_invalid_file_found_after_reading_starts(store, tmp_path):
    """A far-off typo date is only found once the lines are read and matched with the
    store's (the observation-end guard): refused, the store untouched."""
    before = snapshot(store)
    new = tmp_path / "typo.csv"
    body = "".join(f"20{i:02d},P1,Mug,1,2024-02-{i:02d} 10:00,2.50,c{i % 4 + 1},UK\n"
                   for i in range(1, 25))
    new.write_text(HEADER + body + "2099,P1,Mug,1,2031-02-10 10:00,2.50,c1,UK\n",
                   encoding="utf-8")
    with pytest.raises(InputError, match="2031-02-10"):
        update(store, new)
    _same(snapshot(store), before)


def test_error_inside_the_transaction_rolls_back(store, base, monkeypatch):
    """The data are written, then the scores fail: nothing of it stays."""
    before = snapshot(store)

    def fail(con):
        raise RuntimeError("injected after the data were written")

    monkeypatch.setattr(_update, "_record", fail)
    with pytest.raises(RuntimeError, match="injected"):
        update(store, base[1]["second"])
    _same(snapshot(store), before)
    monkeypatch.undo()
    assert update(store, base[1]["second"]).applied  # and the store still works


def test_kill_inside_the_transaction_leaves_the_store_whole(store, base):
    """SIGKILL of the updating process after its writes, before its commit."""
    before = snapshot(store)
    script = textwrap.dedent(f"""
        import os, signal
        from valuemax.pipeline import _update

        real = _update._record
        def kill(con):
            real(con)  # the runs row too: everything but the commit
            os.kill(os.getpid(), signal.SIGKILL)
        _update._record = kill
        _update.update({str(store)!r}, {str(base[1]["second"])!r})
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [os.path.dirname(os.path.dirname(valuemax.__file__)),
         os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    _same(snapshot(store), before)
    assert update(store, base[1]["second"]).applied
