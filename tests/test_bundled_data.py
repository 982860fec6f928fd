"""The real data shipped with the repository: checksums in the notices, the loaders, lookup.

The notices (``src/valuemax/datasets/NOTICE.md``, ``tests/data/README.md``) list every bundled
file with the SHA-256 of the stored bytes and of the decompressed bytes; the decompressed
checksums of the CDNOW, donations, retention, Online Retail and Groceries files are those of the
published files in ``../shared/datasets`` (whose README figures the tests use). The loader
figures below are the counts published there, not values printed by the code.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import valuemax.datasets as vd

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "tests" / "data"
SHARED_DIR = ROOT.parent / "shared" / "datasets"
#: Every file of the shared layout the repository ships (tests/data/README.md).
SHIPPED = ["cdnow/CDNOW_master.txt", "cdnow/CDNOW_sample.txt", "donations/donations.csv",
           "groceries/groceries.csv.gz", "groceries/groceries_baskets.csv.gz",
           "online_retail/online_retail.csv.gz", "retention/sbg_survivors.csv"]
HILLSTROM = "hillstrom/hillstrom.csv.gz"
HILLSTROM_HEADER = ("recency,history_segment,history,mens,womens,zip_code,newbie,channel,"
                    "segment,visit,conversion,spend")
PACKAGE_DIR = Path(vd.__file__).parent
NOTICES = {PACKAGE_DIR / "NOTICE.md": PACKAGE_DIR, DATA_DIR / "README.md": DATA_DIR}
ROW = re.compile(r"^\| `(?P<file>[^`]+)` \| `(?P<stored>[0-9a-f]{64})` \| "
                 r"`(?P<content>[0-9a-f]{64})` \| (?P<bytes>[\d,]+) \|$")
DATA_SUFFIXES = (".gz", ".csv", ".txt")


def _notice_rows(notice: Path) -> dict[str, dict[str, str]]:
    return {m["file"]: m.groupdict() for line in notice.read_text().splitlines()
            if (m := ROW.match(line))}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("notice", sorted(NOTICES), ids=lambda p: p.parent.name)
def test_notice_checksums_match_the_files(notice):
    folder = NOTICES[notice]
    rows = _notice_rows(notice)
    data_files = sorted(p.name for p in folder.iterdir() if p.name.endswith(DATA_SUFFIXES))
    # every data file is listed, and every listed file exists
    assert sorted(rows) == data_files
    for name, row in rows.items():
        stored = (folder / name).read_bytes()
        assert len(stored) == int(row["bytes"].replace(",", "")), name
        assert _sha256(stored) == row["stored"], f"{name}: stored bytes differ from {notice.name}"
        content = gzip.decompress(stored) if name.endswith(".gz") else stored
        assert _sha256(content) == row["content"], f"{name}: content differs from {notice.name}"


def test_the_checksum_parser_reads_every_table_row():
    # a row the regex failed to match would silently drop a file from the check above
    for notice in NOTICES:
        table = [line for line in notice.read_text().splitlines()
                 if line.startswith("| `")]
        assert len(table) == len(_notice_rows(notice)) > 0


def test_the_small_tables_are_the_published_figures():
    """The two tables copied by hand from papers, checked against the papers' totals."""
    donations = vd.load_donations()
    assert donations.shape == (22, 4)
    assert int(donations["weights"].sum()) == 11_104  # Fader, Hardie & Shang (2010)
    assert (donations["recency"] >= donations["frequency"]).all()
    assert (donations.loc[donations["frequency"] == 0, "recency"] == 0).all()
    retention = vd.load_retention()
    assert retention.iloc[0].tolist() == [0, 1_000, 1_000]
    assert (np.diff(retention[["regular", "high_end"]].to_numpy(), axis=0) <= 0).all()
    # Fader & Hardie (2007): 631 regular and 869 high-end customers still active in year 1
    assert retention.iloc[1].tolist() == [1, 631, 869]


def test_load_cdnow_master_matches_the_published_counts():
    tx = vd.load_cdnow(kind="master")
    assert list(tx.columns) == ["customer_id", "date", "number_of_cds", "dollar_value"]
    assert tx.shape == (69_659, 4)
    assert tx["customer_id"].nunique() == 23_570
    assert int((tx["dollar_value"] <= 0).sum()) == 80
    first = tx.groupby("customer_id")["date"].min()
    assert first.max() < pd.Timestamp("1997-04-01")  # the cohort's first purchases: Q1 1997
    assert tx["customer_id"].str.fullmatch(r"\d{5}").all()  # zero-padded as published


def test_load_cdnow_sample_is_a_subset_of_the_master():
    sample, master = vd.load_cdnow(kind="sample"), vd.load_cdnow(kind="master")
    assert sample.shape == (6_919, 5) and sample["customer_id"].nunique() == 2_357
    assert sample["customer_index"].astype(int).between(1, 2_357).all()
    key = ["customer_id", "date", "number_of_cds", "dollar_value"]
    picked = master[master["customer_id"].isin(set(sample["customer_id"]))]
    # the sample holds every line of its customers, as in the master (in its own order)
    pd.testing.assert_frame_equal(picked[key].sort_values(key).reset_index(drop=True),
                                  sample[key].sort_values(key).reset_index(drop=True))


def test_load_online_retail_matches_the_published_counts():
    lines = vd.load_online_retail()
    assert lines.shape == (541_909, 8)
    assert int(lines["CustomerID"].isna().sum()) == 135_080
    assert int((lines["Quantity"] < 0).sum()) == 10_624
    assert int((lines["UnitPrice"] <= 0).sum()) == 2_517
    assert int(lines.duplicated().sum()) == 5_268
    assert lines["InvoiceNo"].nunique() == 25_900 and lines["Country"].nunique() == 38
    assert lines["InvoiceDate"].min() == pd.Timestamp("2010-12-01 08:26:00")


def test_path_names_and_errors():
    for name, file in [("cdnow_master", "CDNOW_master.txt.gz"), ("retention",
                                                                "sbg_survivors.csv")]:
        assert vd.path(name) == PACKAGE_DIR / file and vd.path(name).is_file()
    assert vd.online_retail_path() == vd.path("online_retail")
    with pytest.raises(ValueError, match=r"unknown data set name 'hillstrom'.*'cdnow_master'"):
        vd.path("hillstrom")
    with pytest.raises(ValueError, match=r"kind must be 'sample' or 'master', got 'full'"):
        vd.load_cdnow(kind="full")


def test_load_hillstrom_reads_a_copy_and_refuses_others(tmp_path):
    with pytest.raises(ValueError, match=r"not bundled.*load_hillstrom\('path/to/"):
        vd.load_hillstrom()
    with pytest.raises(ValueError, match=r"no file at .*nope\.csv"):
        vd.load_hillstrom(tmp_path / "nope.csv")
    rows = ("10,2) $100 - $200,142.44,1,0,Surburban,0,Phone,Womens E-Mail,0,0,0\n"
            "6,3) $200 - $350,329.08,1,1,Rural,1,Web,No E-Mail,1,1,29.99\n")
    good = tmp_path / "hillstrom.csv"
    good.write_text(HILLSTROM_HEADER + "\n" + rows)
    frame = vd.load_hillstrom(good)
    assert frame.shape == (2, 12) and frame["spend"].tolist() == [0.0, 29.99]
    bad = tmp_path / "renamed.csv"
    bad.write_text(HILLSTROM_HEADER.replace("spend", "revenue") + "\n" + rows)
    with pytest.raises(ValueError, match=r"missing \['spend'\], unexpected \['revenue'\]"):
        vd.load_hillstrom(bad)


def test_datasets_fixture_prefers_the_bundled_copies(datasets, monkeypatch):
    monkeypatch.delenv("VALUEMAX_SHARED_DATASETS", raising=False)
    assert datasets("cdnow/CDNOW_sample.txt") == vd.path("cdnow_sample")
    assert datasets("groceries/groceries.csv.gz") == DATA_DIR / "groceries.csv.gz"
    for name in SHIPPED:
        assert datasets(name).is_relative_to(ROOT), name  # nothing read from ../shared


def test_datasets_fixture_override_and_skip(datasets, monkeypatch, tmp_path):
    (tmp_path / "cdnow").mkdir()
    (tmp_path / "cdnow" / "CDNOW_sample.txt").write_text("x")
    monkeypatch.setenv("VALUEMAX_SHARED_DATASETS", str(tmp_path))
    assert datasets("cdnow/CDNOW_sample.txt") == tmp_path / "cdnow" / "CDNOW_sample.txt"
    # a file missing from the override folder falls back to the bundled copy
    assert datasets("donations/donations.csv") == vd.path("donations")
    if (SHARED_DIR / HILLSTROM).is_file():
        assert datasets(HILLSTROM) == SHARED_DIR / HILLSTROM
    else:
        with pytest.raises(pytest.skip.Exception, match="no licence allowing redistribution"):
            datasets(HILLSTROM)
    with pytest.raises(pytest.fail.Exception, match=r"unknown data file 'cdnow/CDNOW\.txt'"):
        datasets("cdnow/CDNOW.txt")
