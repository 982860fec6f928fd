"""A small Chinese tea shop log for the dashboard tests: GBK, Chinese headers and values.

Columns 订单号, 下单时间 (``YYYY-MM-DD HH:MM``), 会员号, 商品名称, 数量, 单价, 国家 over
2024-01-01 .. 2024-12-31 (seeded). Two products nearly always come with a companion (西湖龙井
with 玻璃茶杯, 紫砂壶 with 云南普洱), so the basket step finds rules with Chinese items; each
member lives in one of three countries written in Chinese, the dashboard's country filter.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

TEAS = {"西湖龙井": 128.0, "安溪铁观音": 96.0, "云南普洱": 158.0, "武夷大红袍": 188.0,
        "茉莉花茶": 45.0, "白毫银针": 220.0, "玻璃茶杯": 29.9, "紫砂壶": 268.0}
COMPANIONS = {"西湖龙井": "玻璃茶杯", "紫砂壶": "云南普洱"}
COUNTRIES = ("中国", "新加坡", "马来西亚")
START = pd.Timestamp("2024-01-01")


def tea_shop(path: Path, *, n_members: int = 80, seed: int = 3,
             prices: bool = True) -> pd.DataFrame:
    """Write the shop's log to ``path`` (GBK) and return its rows as written; without
    ``prices`` the 单价 column is left out (a log valuemax analyses without spend)."""
    rng = np.random.default_rng(seed)
    names = list(TEAS)
    rows, k = [], 0
    for m in range(n_members):
        country = COUNTRIES[int(rng.choice(3, p=[0.6, 0.25, 0.15]))]
        day = float(rng.integers(0, 200))
        rate, churn = rng.gamma(2.0, 1 / 40), rng.beta(1.0, 5.0)  # orders per day; drop-out
        while day < 366:
            items = {names[int(i)] for i in rng.choice(len(names), size=int(rng.integers(1, 3)),
                                                        replace=False)}
            for lead, companion in COMPANIONS.items():
                if lead in items and rng.random() < 0.85:
                    items.add(companion)
            ts = START + pd.Timedelta(days=int(day), hours=int(rng.integers(8, 22)),
                                      minutes=int(rng.integers(0, 60)))
            for item in sorted(items):
                rows.append({"订单号": f"DD{k:06d}", "下单时间": ts.strftime("%Y-%m-%d %H:%M"),
                             "会员号": f"会员{m:03d}", "商品名称": item,
                             "数量": int(rng.integers(1, 4)), "单价": f"{TEAS[item]:.2f}",
                             "国家": country})
            k += 1
            if rng.random() < churn:
                break
            day += rng.exponential(1 / rate)
    frame = pd.DataFrame(rows)
    if not prices:
        frame = frame.drop(columns="单价")
    frame.to_csv(path, index=False, encoding="gbk")
    return frame
