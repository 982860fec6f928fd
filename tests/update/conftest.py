"""Fixtures of the update tests: the CDNOW 1/10 sample split by date, stores built from it,
and a comparison of two stores' tables."""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import valuemax

#: CDNOW_sample.txt has no header line.
CDNOW_COLUMNS = ["customer_id", "customer_index", "date", "number_of_cds", "dollar_value"]
#: The options of every CDNOW store here: weeks and BG/NBD as in Fader, Hardie & Lee (2005);
#: the propensity step is off to keep the tests quick (its refit is the same call).
CDNOW_OPTIONS = {"columns": CDNOW_COLUMNS, "time_unit": "W", "clv_model": "bgnbd",
                 "propensity": False, "random_state": 0}
#: The split: the papers' calibration end (the first 39 weeks) in the file's date format.
SPLIT = "19970930"


@pytest.fixture(scope="session")
def cdnow_split(datasets, tmp_path_factory) -> dict[str, Path]:
    """The CDNOW sample as three text files: lines up to 1997-09-30, the later lines, and
    the whole log as those two files one after the other (the order an update numbers
    lines in)."""
    folder = tmp_path_factory.mktemp("cdnow")
    src = Path(datasets("cdnow/CDNOW_sample.txt"))
    opener = gzip.open if src.suffix == ".gz" else open
    with opener(src, "rt", encoding="utf-8") as fh:
        lines = fh.read().splitlines(keepends=True)
    first = [ln for ln in lines if ln.split()[2] <= SPLIT]
    second = [ln for ln in lines if ln.split()[2] > SPLIT]
    assert len(first) + len(second) == 6919  # the published size of the 1/10 sample
    out = {"first": folder / "first.txt", "second": folder / "second.txt",
           "whole": folder / "whole.txt"}
    out["first"].write_text("".join(first), encoding="utf-8")
    out["second"].write_text("".join(second), encoding="utf-8")
    out["whole"].write_text("".join(first + second), encoding="utf-8")
    # the second part in two updates: the rest of 1997, then 1998
    out["second_a"], out["second_b"] = folder / "second_a.txt", folder / "second_b.txt"
    out["second_a"].write_text("".join(ln for ln in second if ln.split()[2] <= "19971231"),
                               encoding="utf-8")
    out["second_b"].write_text("".join(ln for ln in second if ln.split()[2] > "19971231"),
                               encoding="utf-8")
    return out


@pytest.fixture(scope="session")
def cdnow_stores(cdnow_split, tmp_path_factory) -> dict[str, Path]:
    """``analyze`` of the first part and of the whole log (the stores are never modified:
    copy ``first`` before updating it)."""
    folder = tmp_path_factory.mktemp("stores")
    out = {"first": folder / "first.duckdb", "whole": folder / "whole.duckdb"}
    for name, path in out.items():
        valuemax.analyze(cdnow_split[name], db=path, **CDNOW_OPTIONS)
    return out


@pytest.fixture
def copy_store(tmp_path) -> Callable[[Path], Path]:
    """A private copy of a store, to update."""
    def copy(store: Path) -> Path:
        dst = tmp_path / f"copy-{store.name}"
        shutil.copy2(store, dst)
        return dst
    return copy
