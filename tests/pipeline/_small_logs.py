"""Small generated transaction logs for the robustness matrix (issue 9, point 2).

Customers follow a BG/NBD-like process (Fader, Hardie & Lee 2005): heterogeneous Poisson
purchase rates (gamma) and drop-out after each purchase (beta), seeded. Every log is a plain
CSV; ``small_shop_gbk`` is the realistic shop of the issue: 292 lines, 40 members, 8 months,
GBK-encoded with Chinese headers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

START = pd.Timestamp("2024-03-01")


def _order_days(rng: np.random.Generator, n_customers: int, days: int, *, once: bool,
                one_day: bool) -> list[tuple[int, int]]:
    """``(customer, day)`` of every order within ``days`` days."""
    out = []
    for c in range(n_customers):
        if one_day:
            out.append((c, 0))
            continue
        first = int(rng.integers(0, max(1, int(days * 0.6))))
        out.append((c, first))
        if once:
            continue
        lam, p = rng.gamma(1.5, 1 / 30), rng.beta(1.0, 4.0)  # per day; drop-out
        t = float(first)
        while True:
            t += rng.exponential(1 / lam)
            if t >= days:
                break
            out.append((c, int(t)))
            if rng.random() < p:
                break
    return out


def make_log(n_customers: int, days: int, *, once: bool = False, one_day: bool = False,
             n_products: int = 6, prices: bool = True, seed: int = 0) -> pd.DataFrame:
    """One line per order line: customer_id, order_id, order_ts, product_id, product_name,
    quantity and (``prices``) unit_price; 1-3 lines per order."""
    rng = np.random.default_rng(seed)
    rows = []
    orders = _order_days(rng, n_customers, days, once=once, one_day=one_day)
    for k, (c, d) in enumerate(orders):
        for line in range(1 + int(rng.integers(0, 3))):
            p = int(rng.integers(0, n_products))
            ts = START + pd.Timedelta(days=d, hours=9, minutes=line)
            row = {"customer_id": f"C{c:04d}", "order_id": f"O{k:05d}",
                   "order_ts": ts.strftime("%Y-%m-%d %H:%M:%S"), "product_id": f"P{p}",
                   "product_name": f"item {p}", "quantity": int(rng.integers(1, 4))}
            if prices:
                row["unit_price"] = round(float(5 + 3 * p + rng.random()), 2)
            rows.append(row)
    return pd.DataFrame(rows)


_TEAS = [("西湖龙井", 128.0), ("安溪铁观音", 96.0), ("云南普洱", 158.0), ("武夷大红袍", 188.0),
         ("茉莉花茶", 45.0), ("白毫银针", 220.0), ("玻璃茶杯", 29.9), ("紫砂壶", 268.0)]
_CITIES = ["杭州", "上海", "北京", "广州", "成都"]


def small_shop_gbk(path: Path, *, n_lines: int = 292, n_members: int = 40,
                   seed: int = 7) -> pd.DataFrame:
    """Write the realistic small shop (GBK, Chinese headers) to ``path``; return its rows.

    Columns 订单号, 下单时间 (``YYYY/MM/DD HH:MM``), 会员号, 商品名称, 数量, 单价, 城市 over
    2024-03-01 .. 2024-10-31. Lines are added to (or taken from) multi-line orders until the
    file has exactly ``n_lines`` lines.
    """
    rng = np.random.default_rng(seed)
    days = (pd.Timestamp("2024-10-31") - START).days + 1
    orders = _order_days(rng, n_members, days, once=False, one_day=False)
    sizes = 1 + rng.integers(0, 3, len(orders))
    i = 0
    while sizes.sum() != n_lines:  # deterministic adjustment to the exact line count
        k = i % len(orders)
        if sizes.sum() < n_lines:
            sizes[k] += 1
        elif sizes[k] > 1:
            sizes[k] -= 1
        i += 1
    city = {c: _CITIES[int(rng.integers(0, len(_CITIES)))] for c in range(n_members)}
    rows = []
    for k, ((c, d), size) in enumerate(zip(orders, sizes, strict=True)):
        ts = START + pd.Timedelta(days=d, hours=int(rng.integers(8, 22)),
                                  minutes=int(rng.integers(0, 60)))
        for item in rng.choice(len(_TEAS), size=int(size), replace=size > len(_TEAS)):
            name, price = _TEAS[int(item)]
            rows.append({"订单号": f"DD{20240000 + k}", "下单时间": ts.strftime("%Y/%m/%d %H:%M"),
                         "会员号": f"VIP{1000 + c}", "商品名称": name,
                         "数量": int(rng.integers(1, 4)), "单价": f"{price:.2f}", "城市": city[c]})
    frame = pd.DataFrame(rows)
    frame.to_csv(path, index=False, encoding="gbk")
    return frame


def n_repeat_buyers(frame: pd.DataFrame, customer: str, ts: str, fmt: str) -> int:
    """Customers with 2+ distinct purchase days, counted in pandas."""
    day = pd.to_datetime(frame[ts], format=fmt).dt.normalize()
    return int((day.groupby(frame[customer]).nunique() >= 2).sum())


def span_days(frame: pd.DataFrame, ts: str, fmt: str) -> int:
    """Days from the first to the last purchase day, inclusive."""
    day = pd.to_datetime(frame[ts], format=fmt).dt.normalize()
    return int((day.max() - day.min()).days) + 1
