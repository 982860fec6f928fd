"""A small hand-made log with personal-data columns (English and Chinese), for the tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def iso7064_mod11_2(first17: str) -> str:
    """Check character of a Chinese id by ISO 7064's recursive MOD 11-2 (not weighted sums)."""
    p = 0
    for ch in first17:
        p = ((p + int(ch)) * 2) % 11
    return "0123456789X"[(12 - p) % 11]


def luhn_complete(prefix: str) -> str:
    """``prefix`` plus the Luhn check digit, by trying the ten digits (digit-sum formulation)."""
    for d in "0123456789":
        s = prefix + d
        doubled = "".join(str(int(c) * (2 if i % 2 else 1)) for i, c in enumerate(reversed(s)))
        if sum(map(int, doubled)) % 10 == 0:
            return s
    raise AssertionError("unreachable")


N_CUSTOMERS = 12
#: Customer ids with letters outside hex, so they cannot occur inside a pseudonym by chance.
IDS = [f"kunde-Quinn-{i:02d}" for i in range(N_CUSTOMERS)]


def pii_frame() -> pd.DataFrame:
    """Three orders per customer over 2024; seven personal-data columns, one per kind."""
    rows = []
    for i, cid in enumerate(IDS):
        email = f"quinn.person{i:02d}@mailhost-example.org"
        phone = f"+44 20 7946 {1000 + i:04d}"
        mobile = f"139{(88001234 + i * 7919) % 10**8:08d}"
        first17 = f"1101051990{(i % 12) + 1:02d}{(i % 28) + 1:02d}{300 + i:03d}"
        nid = first17 + iso7064_mod11_2(first17)
        name = f"张{'伟芳娜敏静丽强磊军洋勇艳'[i]}"
        addr = f"北京市海淀区中关村大街{27 + i}号"
        card = luhn_complete(f"4000123456{7000 + i:04d}0")
        for k, day in enumerate(("2024-01-1", "2024-05-2", "2024-09-1")):
            rows.append({
                "customer_id": cid, "order_id": f"o{i:02d}{k}",
                "date": f"{day}{(i % 9) + 1}", "amount": 10.0 + 3 * i + 5 * k,
                "product_id": f"P{(i + k) % 5}", "Country": "CN" if i % 2 else "UK",
                "email": email, "phone": phone, "手机号": mobile, "身份证号": nid,
                "姓名": name, "地址": addr, "card_number": card,
            })
    return pd.DataFrame(rows)


PII_COLUMNS = ("email", "phone", "手机号", "身份证号", "姓名", "地址", "card_number")


def write_pii_log(path: Path) -> Path:
    """Write :func:`pii_frame` as UTF-8 CSV at ``path``."""
    pii_frame().to_csv(path, index=False)
    return path
