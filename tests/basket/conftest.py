"""Fixtures for the basket tests: Online Retail read and cleaned once (standard preset)."""

from __future__ import annotations

import types
from fractions import Fraction
from itertools import combinations

import pytest

from valuemax.clean import clean
from valuemax.io import read_transactions


@pytest.fixture(scope="session")
def retail_tx(datasets):
    """Clean Online Retail transactions (ibis Table, in-memory DuckDB), standard preset."""
    ing = read_transactions(str(datasets("online_retail/online_retail.csv.gz")))
    return clean(ing).transactions


def brute_itemsets(baskets: list[set[str]], min_count: int, max_len: int | None = None):
    """Every itemset held by >= min_count baskets, by enumerating each basket's subsets."""
    counts: dict[tuple[str, ...], int] = {}
    for b in baskets:
        items = sorted(b)
        top = len(items) if max_len is None else min(max_len, len(items))
        for k in range(1, top + 1):
            for sub in combinations(items, k):
                counts[sub] = counts.get(sub, 0) + 1
    return {k: v for k, v in counts.items() if v >= min_count}


def levelwise_itemsets(baskets: list[set[str]], min_count: int):
    """Apriori level by level with set containment (for baskets too big to enumerate)."""
    items = sorted({x for b in baskets for x in b})
    bsets = [frozenset(b) for b in baskets]
    cover = {x: {i for i, b in enumerate(bsets) if x in b} for x in items}
    level = {(x,): cover[x] for x in items if len(cover[x]) >= min_count}
    out = {k: len(v) for k, v in level.items()}
    while level:
        keys = sorted(level)
        nxt = {}
        for a, b in combinations(keys, 2):
            if a[:-1] != b[:-1]:
                continue
            cand = (*a, b[-1])
            if any(cand[:i] + cand[i + 1:] not in level for i in range(len(cand))):
                continue
            cov = level[a] & cover[b[-1]]
            if len(cov) >= min_count:
                nxt[cand] = cov
        level = nxt
        out.update({k: len(v) for k, v in level.items()})
    return out


def brute_rules(itemsets: dict[tuple[str, ...], int], n: int, min_conf=Fraction(0)):
    """Every rule A -> C from the itemsets with each metric from its definition."""
    rules = {}
    for iset, n_ac in itemsets.items():
        for r in range(1, len(iset)):
            for a in combinations(iset, r):
                c = tuple(x for x in iset if x not in a)
                n_a, n_c = itemsets[a], itemsets[c]
                if Fraction(n_ac, n_a) < min_conf:
                    continue
                sa, sc, sac = n_a / n, n_c / n, n_ac / n
                conf = n_ac / n_a
                lev = sac - sa * sc
                den = max(sac * (1 - sa), sa * (sc - sac))
                rules[(a, c)] = {
                    "antecedent_count": n_a, "consequent_count": n_c, "count": n_ac,
                    "support": sac, "confidence": conf, "lift": conf / sc, "leverage": lev,
                    "conviction": float("inf") if n_ac == n_a else (1 - sc) / (1 - conf),
                    "zhangs_metric": lev / den if den > 0 else 0.0}
    return rules


@pytest.fixture(scope="session")
def brute():
    """The independent oracle: brute_itemsets, levelwise_itemsets, brute_rules."""
    return types.SimpleNamespace(itemsets=brute_itemsets, levelwise=levelwise_itemsets,
                                 rules=brute_rules)


@pytest.fixture(scope="session")
def small_run():
    """The real ``AnalysisResult`` of the small synthetic shop log of the report tests
    (:func:`tests.report._small_run.small_result`, built once per process): the report
    section tests set this folder's stage result on it with ``dataclasses.replace``."""
    from tests.report._small_run import small_result

    return small_result()
