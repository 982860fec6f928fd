"""Product names beside codes: the dashboard's rules and next-best products, the API's.

The CDNOW store has no products, so a copy gains them as a shop's store would hold them:
``product_id``/``product_name`` in the clean log (one code with two spellings, the first in
sort order wins, as in the report), a rules table and recommendations by code.
"""

from __future__ import annotations

import re
import shutil

import duckdb
import httpx

from .conftest import live_server


def _with_products(cdnow_store, tmp_path):
    store = tmp_path / "store.duckdb"
    shutil.copyfile(cdnow_store, store)
    with duckdb.connect(str(store)) as con:
        con.execute("ALTER TABLE transactions_clean ADD COLUMN IF NOT EXISTS product_id VARCHAR")
        con.execute("ALTER TABLE transactions_clean ADD COLUMN IF NOT EXISTS product_name VARCHAR")
        rowids = [r[0] for r in con.execute(
            "SELECT rowid FROM transactions_clean ORDER BY rowid LIMIT 3").fetchall()]
        for rowid, (code, name) in zip(rowids, [("85123A", "WHITE HEART HOLDER"),
                                                ("85123A", "white heart holder (old)"),
                                                ("22423", "REGENCY CAKESTAND")], strict=True):
            con.execute("UPDATE transactions_clean SET product_id = ?, product_name = ? "
                        "WHERE rowid = ?", [code, name, rowid])
        con.execute("DROP TABLE IF EXISTS rules")
        con.execute("CREATE TABLE rules (antecedents VARCHAR[], consequents VARCHAR[], "
                    "support DOUBLE, confidence DOUBLE, lift DOUBLE)")
        con.execute("INSERT INTO rules VALUES (['85123A'], ['22423'], 0.02, 0.5, 4.0), "
                    "(['22423', 'NONAME'], ['85123A'], 0.01, 0.4, 3.0)")
        con.execute("DROP TABLE IF EXISTS recommendations")
        con.execute("CREATE TABLE recommendations (customer_id VARCHAR, rank BIGINT, "
                    "item VARCHAR, score DOUBLE, source VARCHAR)")
        con.execute("INSERT INTO recommendations VALUES ('00004', 1, '22423', 0.9, 'rule'), "
                    "('00004', 2, 'NONAME', 0.2, 'co-occurrence')")
    return store


def _cells(page: str, table_id: str, col: int) -> list[str]:
    body = page[page.index(f'id="{table_id}"'):]
    body = body[:body.index("</table>")]
    rows = re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)[1:]
    return [re.sub(r"<[^>]+>", "", re.findall(r"<td[^>]*>(.*?)</td>", r, flags=re.S)[col])
            for r in rows]


def test_rules_and_next_best_products_name_the_products(cdnow_store, tmp_path):
    store = _with_products(cdnow_store, tmp_path)
    with live_server(store) as url:
        rules = httpx.get(url + "/rules", timeout=30).text
        customer = httpx.get(url + "/customer", params={"id": "00004"}, timeout=30).text
    # 'WHITE HEART HOLDER' < 'white heart holder (old)': the first name in sort order
    assert _cells(rules, "rules", 0) == ["WHITE HEART HOLDER", "REGENCY CAKESTAND, NONAME"]
    assert _cells(rules, "rules", 1) == ["REGENCY CAKESTAND", "WHITE HEART HOLDER"]
    assert _cells(customer, "recommendations", 1) == ["22423", "NONAME"]
    assert _cells(customer, "recommendations", 2) == ["REGENCY CAKESTAND", "—"]  # no name


def test_the_api_names_next_best_products(cdnow_store, tmp_path):
    from valuemax.serve import load_snapshot
    from valuemax.serve._app import customer_scores

    got = customer_scores(load_snapshot(_with_products(cdnow_store, tmp_path)), "00004")
    assert [(p.item, p.name) for p in got.next_best_products] == [
        ("22423", "REGENCY CAKESTAND"), ("NONAME", None)]
