"""Frequent itemsets (level by level, as sparse products of the incidence) and association
rules."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import combinations
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from valuemax._core.exceptions import InputError
from valuemax.basket._baskets import Baskets
from valuemax.basket._guard import estimate_itemsets

#: Columns of ``RuleSet.rules`` in order.
#: The itemset bound this many times over ``max_itemsets``: refused before mining starts.
_REFUSE_FACTOR = 1_000

RULE_COLUMNS = ("rule", "antecedents", "consequents", "antecedent_count", "consequent_count",
                "count", "antecedent_support", "consequent_support", "support", "confidence",
                "lift", "leverage", "conviction", "zhangs_metric")


@dataclass(frozen=True)
class RuleSet:
    """Frequent itemsets and association rules mined from :class:`Baskets`.

    Attributes
    ----------
    itemsets : pandas.DataFrame
        One row per frequent itemset: ``itemset`` (tuple of item labels, sorted), ``length``,
        ``count`` (baskets holding all of them) and ``support`` (count / n_baskets).
    rules : pandas.DataFrame
        One row per rule ``A → C`` (columns :data:`RULE_COLUMNS`): ``antecedents`` and
        ``consequents`` as sorted tuples of labels, ``rule`` the text ``"A | B → C"`` (:func:`rule_text`), the
        counts of A, C and A ∪ C, and the metrics. ``conviction`` is ``+inf`` when
        confidence is 1. Sorted by lift, then confidence, support (all descending), rule.
    thresholds : dict
        The thresholds applied, plus ``min_count`` (the integer count that support ≥
        ``min_support`` means).
    n_baskets, n_items : int
        Size of the incidence mined.
    notes : tuple of str
        Decisions taken (e.g. how infinite conviction is stored).
    """

    itemsets: pd.DataFrame
    rules: pd.DataFrame
    thresholds: dict[str, Any]
    n_baskets: int
    n_items: int
    notes: tuple[str, ...] = field(default=())

    def to_dict(self, *, top: int = 20) -> dict[str, Any]:
        """JSON-able summary: counts, thresholds and the ``top`` rules (by lift).

        Infinite conviction is written as ``null`` (JSON has no infinity); ``notes`` says so
        when a rule has one.
        """
        rows = []
        for rec in self.rules.head(top).to_dict("records"):
            rec = {k: (list(v) if isinstance(v, tuple) else v) for k, v in rec.items()}
            for k, v in rec.items():
                if isinstance(v, float) and not math.isfinite(v):
                    rec[k] = None
                elif isinstance(v, np.integer | np.floating):
                    rec[k] = v.item()
            rows.append(rec)
        return {"n_baskets": self.n_baskets, "n_items": self.n_items,
                "n_itemsets": len(self.itemsets), "n_rules": len(self.rules),
                "thresholds": dict(self.thresholds), "top_rules": rows,
                "notes": list(self.notes)}


def _exact(value: Any, name: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise InputError(f"mine_rules: {name} must be a finite real number; got {value!r}.")
    return Fraction(str(value))  # the decimal as written: 0.3 is 3/10, not the nearest double


def _ratio_ge(num: np.ndarray, den: np.ndarray, t: Fraction) -> np.ndarray:
    """``num / den >= t`` exactly on integer arrays (Python ints where int64 could overflow)."""
    p, q = t.numerator, t.denominator
    big = max(int(num.max(initial=0)), int(den.max(initial=0)), 1) * max(abs(p), q)
    if big < 2**62:
        return num.astype(np.int64) * q >= p * den.astype(np.int64)
    return np.array([int(a) * q >= p * int(b) for a, b in zip(num, den, strict=True)],
                    dtype=bool)


def _check(min_support: Any, min_confidence: Any, min_lift: Any, max_len: Any) -> tuple:
    s = _exact(min_support, "min_support")
    if s <= 0 or s > 1:
        raise InputError(f"mine_rules: min_support must be in (0, 1] (a share of baskets); got "
                         f"{min_support!r}. For 'at least 20 baskets' pass 20 / n_baskets.")
    c = _exact(min_confidence, "min_confidence")
    if c < 0 or c > 1:
        raise InputError(f"mine_rules: min_confidence must be in [0, 1]; got {min_confidence!r}.")
    lift = _exact(min_lift, "min_lift")
    if lift < 0:
        raise InputError(f"mine_rules: min_lift must be >= 0; got {min_lift!r}.")
    if max_len is not None and (isinstance(max_len, bool)
                                or not isinstance(max_len, int | np.integer) or max_len < 1):
        raise InputError(f"mine_rules: max_len must be an integer >= 1 or None; got {max_len!r}.")
    return s, c, lift


def _shorter(max_len: int | None) -> str:
    """The guard's advice on the itemset length, after "Raise min_support (...)"."""
    if max_len is None:
        return " or set max_len (--max-len, e.g. 3)"
    if max_len > 3:
        return f" or lower max_len (--max-len, now {max_len}; e.g. 3)"
    return ""  # already short: only a higher support lowers the count


def mine_rules(baskets: Baskets, *, min_support: float, min_confidence: float = 0.0,
               min_lift: float = 0.0, max_len: int | None = None,
               min_leverage: float | None = None, min_conviction: float | None = None,
               min_zhang: float | None = None, max_itemsets: int = 2_000_000) -> RuleSet:
    """Frequent itemsets and association rules with support, confidence, lift and more.

    Itemsets are mined level by level over the frequent items only, each level's counts
    being one sparse product of the baskets holding the shorter itemsets with the incidence
    (:func:`_levelwise`): exact integer counts, the itemsets Apriori (Agrawal & Srikant 1994)
    or FP-growth (Han, Pei & Yin 2000) find — tested against
    ``mlxtend.frequent_patterns.fpgrowth`` on the Groceries baskets. Every threshold is
    applied on the integer counts exactly: support ≥ s means ``count >= s · N`` for the
    decimal ``s`` as written (``min_count = ceil(s · N)``), confidence ≥ c means
    ``n_AC >= c · n_A`` and lift ≥ l means ``N · n_AC >= l · n_A · n_C``. Every rule
    ``A → C`` splits a frequent itemset of length ≥ 2 into two non-empty parts, with
    (Agrawal et al. 1993; Brin et al. 1997; Piatetsky-Shapiro 1991; Zhang 2000):

    - support = n_AC / N, confidence = n_AC / n_A, lift = confidence / supp(C),
    - leverage = supp(AC) − supp(A) supp(C),
    - conviction = (1 − supp(C)) / (1 − confidence): ``+inf`` when confidence is 1 (stored as
      ``+inf`` in the frame and in parquet, an empty cell in ``rules.csv``, shown as "∞" in
      the report, ``null`` in JSON),
    - Zhang's metric = leverage / max(supp(AC)(1 − supp(A)), supp(A)(supp(C) − supp(AC))),
      in [−1, 1]; 0 when both terms are 0 (A in every basket).

    ``min_leverage``, ``min_conviction`` and ``min_zhang`` are compared on the floats.

    Parameters
    ----------
    baskets : Baskets
        The incidence (n_baskets × n_items); single-item baskets count in N.
    min_support : float
        Share of baskets in (0, 1].
    min_confidence : float, default 0.0
        In [0, 1].
    min_lift : float, default 0.0
        >= 0.
    max_len : int or None
        Longest itemset; None for no limit.
    min_leverage, min_conviction, min_zhang : float or None
        Extra filters on the rules.
    max_itemsets : int, default 2,000,000
        The guard. Before mining, an upper bound of the number of frequent itemsets is
        computed (``valuemax.basket._guard.estimate_itemsets``: exact counts of frequent
        items and pairs, a Kruskal-Katona clique bound per basket above); a bound over
        1,000 times the limit is refused at once. Otherwise the itemsets are counted level
        by level, and when the bound is over the limit the mining is refused (InputError
        naming the bound, the limit and the fix) as soon as a level brings the itemsets
        found past ``max_itemsets``, so memory stays bounded by about one level.

    Returns
    -------
    RuleSet

    Raises
    ------
    InputError
        If a threshold is out of range or the itemset bound exceeds ``max_itemsets``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from valuemax.basket import Baskets
    >>> m = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 1], [1, 0, 0], [0, 1, 1]], dtype=bool))
    >>> b = Baskets(matrix=m, items=["bread", "milk", "tea"], basket_ids=np.arange(4))
    >>> rs = mine_rules(b, min_support=0.5, min_confidence=0.6)
    >>> for r in rs.rules.itertuples():
    ...     print(r.rule, r.count, round(r.confidence, 3), round(r.lift, 3), round(r.conviction, 3))
    tea → milk 2 1.0 1.333 inf
    milk → tea 2 0.667 1.333 1.5
    bread → milk 2 0.667 0.889 0.75
    milk → bread 2 0.667 0.889 0.75
    """
    s, c, lift_t = _check(min_support, min_confidence, min_lift, max_len)
    for name, t in (("min_leverage", min_leverage), ("min_conviction", min_conviction),
                    ("min_zhang", min_zhang)):
        if t is not None and (isinstance(t, bool) or not isinstance(t, Real)
                              or not math.isfinite(t)):
            raise InputError(f"mine_rules: {name} must be a finite number or None; got {t!r}.")
    if isinstance(max_itemsets, bool) or not isinstance(max_itemsets, int | np.integer) \
            or max_itemsets < 1:
        raise InputError(f"mine_rules: max_itemsets must be an integer >= 1; got "
                         f"{max_itemsets!r}.")
    n = baskets.n_baskets
    min_count = max(1, math.ceil(s * n))
    thresholds = {"min_support": float(min_support), "min_count": int(min_count),
                  "min_confidence": float(min_confidence), "min_lift": float(min_lift),
                  "max_len": max_len, "min_leverage": min_leverage,
                  "min_conviction": min_conviction, "min_zhang": min_zhang}
    est = estimate_itemsets(baskets.matrix, min_count, max_len)
    if est > _REFUSE_FACTOR * max_itemsets:  # astronomically above: refuse before any work
        raise InputError(
            f"mine_rules: up to {est:,.3g} frequent itemsets at min_support={min_support} (>= "
            f"{min_count:,} of {n:,} baskets) and max_len={max_len}, over {_REFUSE_FACTOR:,} "
            f"times the limit of {max_itemsets:,} itemsets: mining would exhaust memory. "
            f"Raise min_support (--min-support){_shorter(max_len)}. In Python, the limit "
            "is max_itemsets.")
    itemsets = _frequent_itemsets(baskets, min_count, max_len,
                                  limit=None if est <= max_itemsets else max_itemsets)
    if itemsets is None:
        raise InputError(
            f"mine_rules: more than the limit of {max_itemsets:,} frequent itemsets at "
            f"min_support={min_support} (>= {min_count:,} of {n:,} baskets) and max_len="
            f"{max_len} (the upper bound before mining was {est:,.0f}); mining stopped before "
            f"exhausting memory. Raise min_support (--min-support){_shorter(max_len)}. "
            "In Python, raise max_itemsets if you have the memory.")
    rules = _rules(itemsets, n)
    if len(rules):
        keep = _ratio_ge(rules["count"].to_numpy(), rules["antecedent_count"].to_numpy(), c)
        keep &= _ratio_ge(rules["count"].to_numpy() * n, rules["antecedent_count"].to_numpy()
                          * rules["consequent_count"].to_numpy(), lift_t)
        for col, t in (("leverage", min_leverage), ("conviction", min_conviction),
                       ("zhangs_metric", min_zhang)):
            if t is not None:
                keep &= rules[col].to_numpy() >= float(t)
        rules = rules[keep].sort_values(["lift", "confidence", "support", "rule"],
                                        ascending=[False, False, False, True],
                                        ignore_index=True)
    infinite = int(np.isinf(rules["conviction"].to_numpy(dtype=float)).sum()) if len(rules) else 0
    notes = (f"conviction is +inf where confidence is 1 ({infinite:,} "
             f"{'rule' if infinite == 1 else 'rules'}; parquet keeps inf; rules.csv leaves the "
             "cell empty; JSON writes null; the report shows ∞).",) if infinite else ()
    return RuleSet(itemsets=itemsets, rules=rules, thresholds=thresholds, n_baskets=n,
                   n_items=baskets.n_items, notes=notes)


#: Itemsets extended per sparse product in :func:`_levelwise` (bounds its working memory:
#: one product holds at most this many rows times the frequent items).
_CHUNK = 4_096


def _levelwise(x: sp.csr_matrix, min_count: int, max_len: int | None,
               limit: int | None) -> tuple[list[frozenset[int]], np.ndarray] | None:
    """Frequent itemsets of two or more columns of the 0/1 incidence ``x`` with their exact
    counts, level by level; None past ``limit`` of them.

    Level ``k`` extends each frequent ``(k-1)``-itemset ``S`` (columns sorted) by every
    column ``j`` after its last: ``count(S ∪ {j})`` is entry ``j`` of ``b_S^T x``, where
    ``b_S`` marks the baskets holding all of ``S``, for all ``S`` at once as one sparse
    product. Every frequent ``k``-itemset is reached once, from its first ``k - 1`` columns
    (frequent, as a subset of it), so the counts are exact and complete: the itemsets and
    counts of Apriori (Agrawal & Srikant 1994) or FP-growth, with the baskets scanned inside
    scipy's sparse products rather than by a Python loop over baskets or tree nodes.
    """
    xc = x.tocsc().astype(np.int32)
    prefixes = np.arange(xc.shape[1], dtype=np.int64)[:, None]  # frequent (k-1)-itemsets
    holds = xc  # baskets × itemsets: the baskets holding each of them
    sets: list[frozenset[int]] = []
    counts: list[np.ndarray] = []
    k = 2
    while len(prefixes) and (max_len is None or k <= max_len):
        found = []
        for start in range(0, len(prefixes), _CHUNK):
            part = (holds[:, start:start + _CHUNK].T @ xc).tocoo()
            keep = (part.data >= min_count) & (part.col > prefixes[start + part.row, -1])
            found.append((start + part.row[keep].astype(np.int64),
                          part.col[keep].astype(np.int64), part.data[keep].astype(np.int64)))
        rows, cols, cnt = (np.concatenate(v) for v in zip(*found, strict=True))
        if not len(rows):
            break
        if limit is not None and len(sets) + len(rows) > limit:
            return None
        order = np.lexsort((cols, rows))  # by prefix, then the added column
        rows, cols, cnt = rows[order], cols[order], cnt[order]
        prefixes = np.column_stack([prefixes[rows], cols])
        sets += [frozenset(r) for r in prefixes.tolist()]
        counts.append(cnt)
        holds = holds[:, rows].multiply(xc[:, cols]).tocsc()
        k += 1
    return sets, (np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64))


def _frequent_itemsets(baskets: Baskets, min_count: int, max_len: int | None,
                       limit: int | None) -> pd.DataFrame | None:
    """Frequent itemsets with their exact counts, or None past ``limit`` itemsets.

    Single items are counted on the incidence directly. Longer itemsets are mined by
    :func:`_levelwise` on the baskets holding at least two frequent items, over the frequent
    items only: a basket with fewer cannot hold a frequent pair, so every count of two or more
    items is the same as on all baskets (exact), while a log of mostly one-item orders
    mines a small fraction of its baskets.
    """
    n = baskets.n_baskets
    counts_all = baskets.item_counts()
    freq = np.flatnonzero(counts_all >= min_count)
    empty = pd.DataFrame({"itemset": pd.Series([], dtype=object),
                          "length": pd.Series([], dtype="int64"),
                          "count": pd.Series([], dtype="int64"),
                          "support": pd.Series([], dtype="float64")})
    if len(freq) == 0:
        return empty
    if limit is not None and len(freq) > limit:
        return None
    found_sets: list = [frozenset([j]) for j in range(len(freq))]
    counts = [counts_all[freq].astype(np.int64)]
    sub = baskets.matrix[:, freq].tocsr()
    rich = np.flatnonzero(np.diff(sub.indptr) >= 2)
    m = len(rich)
    if max_len != 1 and m >= min_count:
        got = _levelwise(sub[rich], min_count, max_len,
                         None if limit is None else limit - len(freq))
        if got is None:
            return None
        multi, multi_counts = got
        found_sets += multi
        counts.append(multi_counts)
    counts = np.concatenate(counts)
    names = np.asarray(baskets.items, dtype=object)[freq]
    sets = [tuple(sorted(names[list(fs)])) for fs in found_sets]
    out = pd.DataFrame({"itemset": pd.Series(sets, dtype=object),
                        "length": np.array([len(x) for x in sets], dtype=np.int64),
                        "count": counts, "support": counts / n})
    out = out[out["count"] >= min_count]
    return out.sort_values(["length", "count", "itemset"], ascending=[True, False, True],
                           ignore_index=True)


def rule_text(antecedents: Iterable[Any], consequents: Iterable[Any]) -> str:
    """The text of the rule ``A → C``: items joined with ``" | "`` as in rules.csv's
    ``antecedents``/``consequents`` columns (product names may hold commas, e.g. Online
    Retail's "SET 3 RETROSPOT TEA,COFFEE,SUGAR").

    >>> rule_text(("a", "b"), ("c",))
    'a | b → c'
    """
    return f"{' | '.join(map(str, antecedents))} → {' | '.join(map(str, consequents))}"


def _rules(itemsets: pd.DataFrame, n: int) -> pd.DataFrame:
    count_of = dict(zip(itemsets["itemset"], itemsets["count"].tolist(), strict=True))
    ants: list[tuple[str, ...]] = []
    cons: list[tuple[str, ...]] = []
    n_a: list[int] = []
    n_c: list[int] = []
    n_ac: list[int] = []
    for iset, cnt in zip(itemsets["itemset"], itemsets["count"].tolist(), strict=True):
        k = len(iset)
        for r in range(1, k):
            for a in combinations(iset, r):
                cset = tuple(x for x in iset if x not in a)
                ants.append(a)
                cons.append(cset)
                n_a.append(count_of[a])  # subsets of a frequent itemset are frequent
                n_c.append(count_of[cset])
                n_ac.append(cnt)
    a_cnt = np.array(n_a, dtype=np.int64)
    c_cnt = np.array(n_c, dtype=np.int64)
    ac_cnt = np.array(n_ac, dtype=np.int64)
    sa, sc, sac = a_cnt / n, c_cnt / n, ac_cnt / n
    with np.errstate(divide="ignore", invalid="ignore"):
        conf = np.divide(ac_cnt, a_cnt, out=np.zeros(len(a_cnt)), where=a_cnt > 0)
        # lift = N·n_AC / (n_A·n_C) from the exact integer counts (each product < 2**53 up
        # to 94M baskets), so A → C and C → A get the same float and ties are real ties
        # broken by confidence (the sort below), not by the rounding of conf / support.
        lift = np.divide((ac_cnt * n).astype(float), (a_cnt * c_cnt).astype(float),
                         out=np.zeros(len(a_cnt)), where=(a_cnt > 0) & (c_cnt > 0))
        lev = sac - sa * sc
        conv = np.full(len(a_cnt), np.inf)
        np.divide(1.0 - sc, 1.0 - conf, out=conv, where=ac_cnt < a_cnt)
        den = np.maximum(sac * (1.0 - sa), sa * (sc - sac))
        zhang = np.divide(lev, den, out=np.zeros(len(a_cnt)), where=den > 0)
    out = pd.DataFrame({
        "rule": pd.Series([rule_text(a, b) for a, b in zip(ants, cons, strict=True)],
                          dtype=object),
        "antecedents": pd.Series(ants, dtype=object), "consequents": pd.Series(cons,
                                                                               dtype=object),
        "antecedent_count": a_cnt, "consequent_count": c_cnt, "count": ac_cnt,
        "antecedent_support": sa, "consequent_support": sc, "support": sac,
        "confidence": conf, "lift": lift, "leverage": lev, "conviction": conv,
        "zhangs_metric": zhang})
    return out.loc[:, list(RULE_COLUMNS)]
