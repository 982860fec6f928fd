"""Benchmark: the scoring service (``valuemax serve``) on a 1M-customer store, on loopback.

1. Build the store (default 1,000,000 customers) directly as the tables ``analyze`` writes
   (``customers``, ``segments``, ``segment_summary``, ``clv``, ``clv_params``,
   ``propensity_scores``, ``recommendations``, ``runs``) with the same columns and types: a
   full ``analyze`` of a 10M-line log takes minutes and the service only reads these
   tables. The customers are seeded draws (numpy ``default_rng(seed)``): first purchase
   uniform over 540 days before the observation end, repeat purchase days Poisson-gamma,
   last purchase uniform between first purchase and the end; ``clv`` is computed from them
   with :func:`valuemax.clv.clv_table` and the published CDNOW BG/NBD (r=0.243,
   alpha=4.414, a=0.793, b=2.426, weeks) and Gamma-Gamma (p=6.25, q=3.74, gamma=15.44)
   estimates, which also go into ``clv_params``; 3 recommendations per customer.
2. Start ``valuemax serve --db STORE`` with a token in its own process (uvicorn, one
   worker) and time until it answers (loading the snapshot), with its RSS after loading.
3. For each endpoint (``GET /customers/{id}`` with random known ids; ``POST /score`` with a
   customer's 2-6 lines) and each concurrency (1, 50, 200 clients): ``httpx.AsyncClient``
   with that many connections, each client sending requests back to back for
   ``--seconds``; latency of every request (send to full body), p50/p99, throughput
   (completed requests / wall time), errors (any non-200; connections the server closed are
   counted apart, by exception), and the server process's CPU time (user + system) per
   request.

The load generator is one Python process on the same machine: on 2 cores the client and the
server share the CPU, so the figures are a lower bound for the service. The 1-, 5- and
15-minute load averages before and after are printed: on a shared machine they say how much
of the latency is other work.

Usage::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_serve.py [--customers 1000000]
        [--seconds 10] [--store PATH (kept and reused)] [--concurrency 1,50,200]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TOKEN = "bench-token-0123456789abcdef"
BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}
OBS_END = dt.date(2024, 6, 30)
SEGMENTS = ["Champions", "Loyal", "Potential Loyalist", "New", "Promising", "Need Attention",
            "About To Sleep", "At Risk", "Can't Lose Them", "Hibernating", "Lost"]


def build_store(path: Path, n: int, seed: int) -> dict:
    """Write the synthetic store; returns the seconds taken and the file size."""
    import duckdb
    import pandas as pd
    import pyarrow as pa

    from valuemax.clv import BetaGeoModel, GammaGammaModel, clv_table

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    ids = np.char.add("C", np.char.zfill(np.arange(1, n + 1).astype(str), 7))
    tenure = rng.integers(0, 540, n)
    lam = rng.gamma(0.6, 1 / 20, n)  # purchase days per day while active
    freq = np.minimum(rng.poisson(lam * tenure), tenure)
    gap = np.where(freq > 0, np.ceil(rng.uniform(0, 1, n) * tenure).astype(int), 0)
    gap = np.maximum(gap, np.where(freq > 0, freq, 0))
    gap = np.minimum(gap, tenure)
    first = np.datetime64(OBS_END) - tenure.astype("timedelta64[D]")
    last = first + gap.astype("timedelta64[D]")
    n_orders = freq + 1 + rng.poisson(0.2, n)
    mon = np.where(freq > 0, rng.gamma(6.25, 1 / 0.3, n), 0.0)
    total = mon * freq + rng.gamma(6.25, 1 / 0.3, n)
    customers = pa.table({
        "customer_id": ids, "first_purchase": first, "last_purchase": last,
        "n_orders": n_orders.astype("int64"), "n_lines": (n_orders * 2).astype("int64"),
        "total_spend": total, "avg_order_value": total / n_orders,
        "recency_days": (tenure - gap).astype("int64"), "tenure_days": tenure.astype("int64"),
        "frequency": freq.astype("int64"), "recency": gap / 7.0, "T": tenure / 7.0,
        "monetary_value": mon})
    bg = BetaGeoModel.from_params(**BG, time_unit="W")
    gg = GammaGammaModel.from_params(**GG)
    value = clv_table(bg, gg, freq, gap / 7.0, tenure / 7.0, mon, horizon_months=12,
                      discount_rate=0.01, margin=1.0)
    clv = pa.table({"customer_id": ids, **{c: value[c].to_numpy() for c in value.columns}})
    seg = rng.integers(0, len(SEGMENTS), n)
    segments = pa.table({
        "customer_id": ids, "r_score": rng.integers(1, 6, n).astype("int8"),
        "f_score": rng.integers(1, 6, n).astype("int8"),
        "m_score": rng.integers(1, 6, n).astype("int8"),
        "rfm_cell": rng.integers(111, 556, n).astype(str),
        "segment": np.array(SEGMENTS)[seg]})
    p_buy = rng.beta(1, 4, n)
    risk = np.where(p_buy >= 0.5, "Low", np.where(p_buy >= 0.2, "Medium", "High"))
    props = pa.table({
        "customer_id": ids, "p_buy_90d": p_buy, "churn_risk": risk,
        "expected_next_purchase": last + rng.integers(1, 200, n).astype("timedelta64[D]"),
        "next_purchase_basis": np.where(freq > 0, "own", "population")})
    recs = pa.table({
        "customer_id": np.repeat(ids, 3), "rank": np.tile(np.arange(1, 4), n).astype("int64"),
        "item": np.char.add("SKU-", rng.integers(1, 5000, 3 * n).astype(str)),
        "score": np.tile([0.5, 0.3, 0.1], n), "source": np.tile(["rule", "rule",
                                                                  "co-occurrence"], n)})
    frame = pd.DataFrame({"segment": np.array(SEGMENTS)[seg], "total": total})
    summary = frame.groupby("segment").agg(n_customers=("total", "size"),
                                           revenue=("total", "sum")).reset_index()
    summary["share_customers"] = summary.n_customers / n
    summary["revenue_share"] = summary.revenue / total.sum()
    summary["action"] = "action for " + summary.segment
    summary["rationale"] = "synthetic"
    params = pd.DataFrame({"model": ["BG/NBD"] * 4 + ["Gamma-Gamma"] * 3,
                           "parameter": [*BG, *GG], "estimate": [*BG.values(), *GG.values()]})
    run = pd.DataFrame({
        "run_id": ["bench"], "started_at": [pd.Timestamp.now()],
        "finished_at": [pd.Timestamp.now()], "user": ["bench"], "host": ["bench"],
        "valuemax_version": ["bench"], "source": ["synthetic"], "input_sha256": [""],
        "parameters": [json.dumps({"time_unit": "W", "observation_end": OBS_END.isoformat(),
                                   "horizon_months": 12, "discount_rate": 0.01, "margin": 1.0})],
        "ingest": ["{}"], "versions": ["{}"], "rows_in": [0], "rows_clean": [0],
        "rows_quarantined": [0], "n_customers": [n], "timings_s": ["{}"]})
    if path.exists():
        path.unlink()
    con = duckdb.connect(str(path))
    for name, table in {"customers": customers, "clv": clv, "segments": segments,
                        "propensity_scores": props, "recommendations": recs,
                        "segment_summary": pa.Table.from_pandas(summary, preserve_index=False),
                        "clv_params": pa.Table.from_pandas(params, preserve_index=False),
                        "runs": pa.Table.from_pandas(run, preserve_index=False)}.items():
        con.register("_src", table)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM _src")
        con.unregister("_src")
    con.close()
    return {"build_s": round(time.perf_counter() - t0, 1),
            "store_mb": round(path.stat().st_size / 2**20, 1)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(store: Path) -> tuple[subprocess.Popen, str, dict]:
    import httpx
    import psutil

    port = _free_port()
    env = dict(os.environ, VALUEMAX_API_TOKEN=TOKEN)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "valuemax.cli", "serve", "--db", str(store),
                             "--port", str(port)], env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"valuemax serve exited with {proc.returncode}")
        try:
            if httpx.get(base + "/openapi.json", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    ready = time.perf_counter() - t0
    rss = psutil.Process(proc.pid).memory_info().rss / 2**20
    return proc, base, {"ready_s": round(ready, 1), "server_rss_mb": round(rss)}


async def _load(base: str, concurrency: int, seconds: float, make, seed: int) -> dict:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    lat: list[float] = []
    errors = 0
    failures: dict[str, int] = {}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=base, limits=limits, headers=headers,
                                 timeout=60) as client:
        stop = time.perf_counter() + seconds

        async def worker(k: int) -> None:
            nonlocal errors
            rng = np.random.default_rng([seed, k])
            while time.perf_counter() < stop:
                method, url, body = make(rng)
                t = time.perf_counter()
                try:
                    r = await client.request(method, url, json=body)
                    await r.aread()
                except httpx.TransportError as exc:
                    # e.g. a keep-alive connection the server closed after 5 s idle while
                    # this client was starved of CPU: counted, not retried
                    failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
                    continue
                lat.append(time.perf_counter() - t)
                errors += r.status_code != 200

        t0 = time.perf_counter()
        await asyncio.gather(*(worker(k) for k in range(concurrency)))
        wall = time.perf_counter() - t0
    ms = np.array(lat) * 1000
    return {"requests": len(lat), "errors": errors, "transport_errors": failures, "p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p99_ms": round(float(np.percentile(ms, 99)), 2),
            "throughput_rps": round(len(lat) / wall, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--concurrency", default="1,50,200")
    ap.add_argument("--store", type=Path, default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    tmp = None
    store = args.store
    if store is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench-serve-")
        store = Path(tmp.name) / "store.duckdb"
    out: dict = {"customers": args.customers}
    if not store.exists():
        out |= build_store(store, args.customers, args.seed)
    n = args.customers

    def customer(rng):
        return "GET", f"/customers/C{int(rng.integers(1, n + 1)):07d}", None

    def score(rng):
        k = int(rng.integers(2, 7))
        days = sorted(int(d) for d in rng.integers(0, 540, k))
        lines = [{"date": (OBS_END - dt.timedelta(days=d)).isoformat(),
                  "amount": round(float(rng.gamma(6.25, 3.0)), 2)} for d in days]
        return "POST", "/score", {"transactions": lines}

    import psutil

    proc, base, info = start_server(store)
    server = psutil.Process(proc.pid)
    out |= info
    out["load_average_before"] = [round(x, 1) for x in os.getloadavg()]
    try:
        for name, make in (("GET /customers/{id}", customer), ("POST /score", score)):
            for c in levels:
                cpu0 = sum(server.cpu_times()[:2])
                res = asyncio.run(_load(base, c, args.seconds, make, args.seed))
                # the server's own CPU per request: robust to other work on the machine
                res["server_cpu_ms_per_request"] = round(
                    (sum(server.cpu_times()[:2]) - cpu0) * 1000 / max(res["requests"], 1), 2)
                out[f"{name} x{c}"] = res
                print(f"{name:22s} clients {c:4d}: p50 {res['p50_ms']:8.2f} ms  p99 "
                      f"{res['p99_ms']:8.2f} ms  {res['throughput_rps']:8.1f} req/s  "
                      f"server CPU {res['server_cpu_ms_per_request']:.2f} ms/request  "
                      f"({res['requests']:,} requests, {res['errors']} errors, transport "
                      f"errors {res['transport_errors'] or 0})", flush=True)
    finally:
        out["load_average_after"] = [round(x, 1) for x in os.getloadavg()]
        proc.terminate()
        proc.wait(timeout=30)
        if tmp is not None:
            tmp.cleanup()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
