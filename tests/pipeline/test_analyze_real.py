"""The main job end to end on the shared real data (DESIGN.md §1, issue 2 acceptance)."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest

import valuemax

SAMPLE_COLUMNS = ["customer_id", "customer_index", "date", "number_of_cds", "dollar_value"]


@pytest.fixture
def retail_classic(retail_classic_analysis):
    """The session's ``analyze`` of Online Retail, ``preset="classic"``, seed 0."""
    return retail_classic_analysis


def test_classic_preset_reproduces_the_published_counts(retail_classic):
    # Published rule set: CustomerID present, not cancelled, Quantity > 0, UnitPrice > 0
    # (datasets/README.md): 397,884 lines, 18,532 invoices, 4,338 customers, 8,911,407.90.
    q = retail_classic.quality
    assert q.rows_in == 541_909
    assert q.rows_clean == 397_884
    assert q.rows_in == q.rows_clean + q.rows_quarantined
    assert int(q.to_frame()["rows"].sum()) == q.rows_quarantined
    cust = retail_classic.customers
    assert len(cust) == 4_338
    assert cust["total_spend"].sum() == pytest.approx(8_911_407.90, abs=0.01)
    with duckdb.connect(str(retail_classic.out / "valuemax.duckdb"), read_only=True) as con:
        n_inv = con.sql("select count(distinct order_id) from transactions_clean").fetchone()[0]
        assert n_inv == 18_532
        raw, clean, quar = (con.sql(f"select count(*) from {t}").fetchone()[0]
                            for t in ("transactions_raw", "transactions_clean", "quarantine"))
        assert (raw, clean, quar) == (541_909, 397_884, 541_909 - 397_884)


def test_outputs_agree_with_each_other(retail_classic):
    out = retail_classic.out
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    for key in ("rows_in", "rows_clean", "rows_quarantined", "quarantine_by_reason",
                "n_customers", "observation_end", "segments", "kmeans", "timings_s"):
        assert key in summary, key
    assert summary["rows_in"] == summary["rows_clean"] + summary["rows_quarantined"]
    assert sum(summary["quarantine_by_reason"].values()) == summary["rows_quarantined"]
    assert summary["observation_end"] == "2011-12-09"
    assert sum(s["n_customers"] for s in summary["segments"]) == summary["n_customers"]
    assert sum(s["revenue_share"] for s in summary["segments"]) == pytest.approx(1.0, abs=1e-5)
    parquet = pd.read_parquet(out / "customers.parquet")
    csv = pd.read_csv(out / "customers.csv", dtype={"customer_id": str})
    assert len(parquet) == len(csv) == summary["n_customers"] == 4_338
    assert parquet["customer_id"].is_unique
    assert parquet["segment"].notna().all()
    assert set(parquet["cluster"].dropna().astype(int)) == set(range(1, summary["kmeans"]["k"] + 1))
    with duckdb.connect(str(out / "valuemax.duckdb"), read_only=True) as con:
        tables = {r[0] for r in con.sql("show tables").fetchall()}
        assert {"transactions_raw", "transactions_clean", "quarantine", "customers",
                "segments", "runs"} <= tables
        runs = con.sql("select rows_in, rows_clean, n_customers, input_sha256 from runs").fetchall()
        assert runs == [(541_909, 397_884, 4_338, retail_classic.ingest["fingerprint"])]
    assert (out / "report.html").stat().st_size > 100_000


def test_customer_spend_is_never_negative_and_reconciles(retail_classic):
    cust = retail_classic.customers
    assert (cust["total_spend"] > 0).all()
    assert (cust["frequency"] >= 0).all() and (cust["recency"] <= cust["T"]).all()
    assert (cust["n_orders"] >= cust["frequency"] + 1).all()


def test_default_preset_accounts_for_every_row(retail_analysis):
    # the default preset's cleaning does not depend on clustering, CLV or out=: the
    # session's default run of Online Retail (tests/conftest.py)
    q = retail_analysis.quality
    frame = q.to_frame().set_index("rule")
    assert q.rows_in == 541_909 == q.rows_clean + q.rows_quarantined
    assert int(frame["rows"].sum()) == q.rows_quarantined
    assert frame.loc["missing_customer_id", "rows"] == 135_080


def test_no_out_writes_nothing_and_clusters_none_skips_kmeans(datasets):
    # the options the Online Retail run above was made with before it was shared, on the
    # CDNOW sample: no output folder, and k-means skipped for the option
    res = valuemax.analyze(str(datasets("cdnow/CDNOW_sample.txt")), columns=SAMPLE_COLUMNS,
                           random_state=0, clusters="none", clv=False)
    assert res.out is None and "kmeans" in res.skipped
    assert res.skipped["kmeans"] == ("clustering turned off with --clusters none "
                                     "(clusters='none')")


def test_cdnow_master_with_no_flags(cdnow_master_analysis):
    # analyze(CDNOW_master.txt, out=...) with no other option, shared by the session
    res = cdnow_master_analysis
    q = res.quality
    assert q.rows_in == 69_659 == q.rows_clean + q.rows_quarantined
    assert q.observation_end.isoformat() == "1998-06-30"
    # every customer made a first purchase in Q1 1997 (datasets/README.md): a later first
    # purchase only where that customer's earlier lines were quarantined (e.g. value <= 0)
    cust = res.customers
    late = set(cust.loc[cust["first_purchase"] > pd.Timestamp("1997-03-31").date(), "customer_id"])
    with duckdb.connect(str(res.out / "valuemax.duckdb"), read_only=True) as con:
        quarantined = {r[0] for r in con.sql("select customer_id from quarantine").fetchall()}
        n_raw = con.sql("select count(distinct customer_id) from transactions_raw").fetchone()[0]
    assert n_raw == 23_570
    assert late <= quarantined
    assert len(cust) + len(quarantined - set(cust["customer_id"])) == 23_570
    assert (res.out / "report.html").exists()


def test_same_seed_same_numbers(datasets):
    path = str(datasets("cdnow/CDNOW_sample.txt"))
    a = valuemax.analyze(path, columns=SAMPLE_COLUMNS, random_state=3)
    b = valuemax.analyze(path, columns=SAMPLE_COLUMNS, random_state=3)
    pd.testing.assert_frame_equal(a.customers, b.customers)
    assert a.clusters.k == b.clusters.k


def test_mixed_cluster_verdict_reaches_customers_store_and_dashboard(cdnow_master_analysis):
    """``cluster_mixed`` in customers.csv, the store's ``segments``, the dashboard's
    customer page and the scoring API's answer (``segment.cluster_mixed``) says whether the customer's cluster is "mixed": recomputed here from each
    customer's RFM segment and the action of the cluster's centre (``cluster_actions`` of
    the profile alone), fewer than MIXED_BELOW of its customers sharing that action."""
    from valuemax.dashboard._pages import customer
    from valuemax.dashboard._store import StoreView
    from valuemax.decide import SEGMENT_ACTIONS, cluster_actions
    from valuemax.decide._actions import MIXED_BELOW

    res = cdnow_master_analysis
    csv = pd.read_csv(res.out / "customers.csv", encoding="utf-8-sig",
                      dtype={"customer_id": str})
    centre = cluster_actions(res.clusters.profile).set_index("cluster")["action"]
    seg_action = csv["segment"].map({k: v[0] for k, v in SEGMENT_ACTIONS.items()})
    share = (seg_action == csv["cluster"].map(centre)).groupby(csv["cluster"]).mean()
    expected = csv["cluster"].map(share < MIXED_BELOW)
    assert csv["cluster_mixed"].tolist() == expected.tolist()
    # CDNOW's second cluster is everyone but the top customers: mixed; the first is not
    assert 0 < csv["cluster_mixed"].sum() < len(csv)
    with duckdb.connect(str(res.out / "valuemax.duckdb"), read_only=True) as con:
        stored = con.sql("SELECT customer_id, cluster_mixed FROM segments").df()
    merged = csv.merge(stored, on="customer_id", suffixes=("", "_store"), validate="1:1")
    assert (merged["cluster_mixed"] == merged["cluster_mixed_store"]).all()
    mixed_id = csv.loc[csv["cluster_mixed"], "customer_id"].iloc[0]
    plain_id = csv.loc[~csv["cluster_mixed"], "customer_id"].iloc[0]
    with StoreView(res.out / "valuemax.duckdb").session() as s:
        for cid, word in ((mixed_id, "yes"), (plain_id, "no")):
            _, body, status = customer(s, cid)
            assert status == 200
            assert (f'<tr data-field="cluster_mixed"><th>mixed cluster (no one action fits '
                    f'it: act on the RFM segment)</th><td class="">{word}</td></tr>'
                    in "".join(body))
    from valuemax.serve._app import customer_scores
    from valuemax.serve._store import StoreReader

    snap = StoreReader(res.out / "valuemax.duckdb").current()
    for cid, mixed in ((mixed_id, True), (plain_id, False)):
        answer = customer_scores(snap, cid)
        assert answer.segment.cluster_mixed is mixed
        assert answer.segment.cluster == csv.set_index("customer_id").loc[cid, "cluster"]
