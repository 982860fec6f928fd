"""Training rows above max_train_rows: a seeded stratified sample drawn in the engine.

Checked against the frame of every row built the direct way (all rows to pandas): the
sampled rows are rows of it with the same values and dtypes, the label shares are those of
all rows (largest remainders), and the column statistics (non-missing, constant) are those
pandas computes on all rows.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from valuemax.propensity._fit import _training_rows
from valuemax.propensity._sample import allocate as _allocate

ORIGINS = [dt.date(2023, 3, 1), dt.date(2023, 1, 1), dt.date(2022, 11, 1)]


@pytest.fixture(scope="module")
def frames(con, synth):
    import pyarrow as pa

    t = con.create_table("sampled_rows_log", pa.Table.from_pandas(synth, preserve_index=False))
    notes: list[str] = []
    full = _training_rows(t, ORIGINS, ("Country",), 60, True, 100_000, 0, [])
    sample = _training_rows(t, ORIGINS, ("Country",), 60, True, 200, 0, notes)
    other = _training_rows(t, ORIGINS, ("Country",), 60, True, 200, 1, [])
    return full, sample, other, notes


def test_sample_rows_are_rows_of_the_full_frame(frames):
    (full, counts, stats), (sample, s_counts, s_stats), _, notes = frames
    assert stats is None and s_stats is not None
    assert len(full) == int(counts.sum()) > 200 and len(sample) == 200
    assert list(sample.columns) == list(full.columns)
    assert sample.dtypes.equals(full.dtypes)
    both = sample.merge(full, on=["customer_id", "origin"], suffixes=("", "_all"))
    assert len(both) == 200  # every sampled row is a row of the full frame
    for c in ("n_orders", "total_spend", "ipt_mean", "ipt_cv", "product_diversity", "label"):
        np.testing.assert_array_equal(both[c].to_numpy(float), both[f"{c}_all"].to_numpy(float))
    # ordered as the full frame: origin as given, then customer
    pos = {o: k for k, o in enumerate(ORIGINS)}
    keys = list(zip(sample["origin"].map(pos), sample["customer_id"], strict=True))
    assert keys == sorted(keys)
    np.testing.assert_array_equal(s_counts, counts)
    assert any(f"200 of {len(full):,} rows" in n for n in notes)


def test_sample_keeps_the_label_shares_and_the_statistics_of_all_rows(frames):
    (full, _, _), (sample, _, s_stats), (other, _, _), _ = frames
    n1 = int(sample["label"].sum())
    assert abs(n1 - 200 * full["label"].mean()) < 1  # largest remainder
    for c, (has_value, constant) in s_stats.items():
        assert has_value == bool(full[c].notna().any())
        assert constant == (full[c].nunique(dropna=True) <= 1)
    # another seed draws other rows
    assert set(zip(other["customer_id"], other["origin"], strict=True)) != set(
        zip(sample["customer_id"], sample["origin"], strict=True))


def test_allocate_is_proportional_with_largest_remainders():
    counts = np.array([927, 273])
    got = _allocate(counts, 200)
    exact = counts * 200 / counts.sum()
    assert got.sum() == 200 and np.all(np.abs(got - exact) < 1)
    assert _allocate(np.array([5, 0]), 3).tolist() == [3, 0]


def test_sample_is_the_smallest_hashes_per_label_of_all_rows(frames, con):
    """The drawn rows are, per label, the rows of the full frame with the smallest DuckDB
    hash of "customer|origin index|seed" read as a signed 64-bit integer (ties by origin index, then customer), as many as
    allocate() gives: ranked here in pandas over every row of the full frame, the rows the
    engine draws from the row keys alone (no feature computed before the draw)."""
    import pyarrow as pa

    (full, counts, _), (sample, _, _), _, _ = frames
    pos = {o: k for k, o in enumerate(ORIGINS)}
    keys = pd.DataFrame({"customer_id": full["customer_id"].to_numpy(dtype=object),
                         "pos": full["origin"].map(pos).to_numpy(dtype=np.int64),
                         "label": full["label"].to_numpy()})
    keys["s"] = keys["customer_id"] + "|" + keys["pos"].astype(str) + "|0"
    con.con.register("sample_keys_ref", pa.table({"s": keys["s"].to_numpy(dtype=object)}))
    # Ibis reads DuckDB's unsigned 64-bit hash as a signed BIGINT (the same bits)
    keys["h"] = con.con.execute("select hash(s) as h from sample_keys_ref").fetchnumpy()["h"
                                                                                     ].view(np.int64)
    con.con.unregister("sample_keys_ref")
    take = _allocate(counts, 200)
    want = set()
    for label in (0, 1):
        part = keys[keys["label"] == label].sort_values(["h", "pos", "customer_id"])
        want |= set(zip(part["customer_id"].iloc[:take[label]], part["pos"].iloc[:take[label]],
                        strict=True))
    got = set(zip(sample["customer_id"], sample["origin"].map(pos), strict=True))
    assert len(want) == 200 and got == want


@pytest.mark.parametrize("label_days", [7, 60, 200])
def test_label_counts_are_the_full_frames_rows_and_buyers(con, synth, label_days):
    """One scan of the days counts, per origin, the rows and buyers that the frames of
    every row hold (counted here in pandas from the frames themselves)."""
    import pyarrow as pa

    from valuemax.propensity._days import frame_at, materialised_days
    from valuemax.propensity._sample import label_counts

    t = con.create_table(f"label_counts_log_{label_days}",
                         pa.Table.from_pandas(synth, preserve_index=False))
    with materialised_days(t) as d:
        got = label_counts(d, ORIGINS, label_days)
        want = [[len(f), int(f["label"].sum())]
                for f in (frame_at(d, t, o, label_days=label_days) for o in ORIGINS)]
    assert got.tolist() == want
    assert 0 < got[:, 1].sum() < got[:, 0].sum()


def test_statistics_the_sample_cannot_settle_come_from_every_row(con, synth):
    """A column the sample shows missing (or constant) is checked on every row: Country
    set for two customers outside the sample only (which rows are drawn depends on the
    customers, origins and labels, not on Country) is kept as varying, as the whole frame
    says, though the sample holds no value of it."""
    import pyarrow as pa

    from valuemax.propensity._fit import _usable

    def run(df: pd.DataFrame, name: str, max_rows: int = 200):
        tab = pa.Table.from_pandas(df.drop(columns="Country"), preserve_index=False)
        tab = tab.append_column("Country", pa.array(df["Country"].tolist(), pa.string()))
        t = con.create_table(name, tab)
        return _training_rows(t, ORIGINS, ("Country",), 60, True, max_rows, 0, [])

    blank = synth.assign(Country=pd.Series([None] * len(synth), dtype=object))
    sample, _, _ = run(blank, "stats_blank")
    outside = sorted(set(synth["customer_id"]) - set(sample["customer_id"]))
    assert len(outside) >= 2
    odd = blank.copy()
    odd.loc[odd["customer_id"] == outside[0], "Country"] = "FR"
    odd.loc[odd["customer_id"] == outside[1], "Country"] = "DE"
    sample2, _, stats = run(odd, "stats_odd")
    full, _, _ = run(odd, "stats_odd_full", 100_000)  # every row
    assert set(full["Country"].dropna()) == {"FR", "DE"}
    assert list(sample2["customer_id"]) == list(sample["customer_id"])
    assert sample2["Country"].isna().all()  # the sample alone would drop Country
    assert stats["Country"] == (True, False)
    assert _usable(sample2, ["Country"], [], stats) == ["Country"]
    # a numeric column with two values in the sample is settled by it
    assert stats["n_orders"] == (True, False)
