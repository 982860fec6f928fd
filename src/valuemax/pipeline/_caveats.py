"""The run's caveats: one typed list, built once, that every surface shows.

The terminal summary, ``summary.json`` (``caveats``), the report (each section shows its
step's caveats), the store (``runs.caveats``, ``{step: [text, ...]}``) and, from there, the
dashboard and the API's value blocks all read the list :func:`run_caveats` builds at the end
of ``analyze``, so that what a reader must know before acting on a figure is said the same
way everywhere. A caveat is a doubt about a figure of this run (a reading it does not
support), not a description of a choice the run made (those stay in each step's notes).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

#: The steps a caveat may belong to, in the order the surfaces show them.
CaveatStep = Literal["segments", "clusters", "value", "propensity"]
STEPS: tuple[str, ...] = ("segments", "clusters", "value", "propensity")

#: Customers inactive longer than this (days) are not "recent" whatever their R score.
INACTIVE_DAYS = 180
#: The share of customers with the highest past spend called "high spenders".
HIGH_SPEND_SHARE = 0.2
#: Words of the value caveats that count customers of the customer table (the prior-only
#: customers, the same expected spend, the one-day high spenders): an update recomputes
#: these from the re-scored table and carries over the others, which describe the models.
CUSTOMER_CAVEAT_WORDS = ("the population's average as CLV",  # 'have just/only ...'
                         "expected spend per purchase is about the same",
                         "bought on one day only: with no repeat purchase")


@dataclass(frozen=True)
class Caveat:
    """One caveat of a run.

    Attributes
    ----------
    step : {"segments", "clusters", "value", "propensity"}
        The step whose figures it is about.
    code : str
        A stable name (e.g. ``"p_alive"``, ``"holdout_no_better"``, ``"same_spend"``):
        the same caveat has the same code in every run.
    text : str
        One or two plain sentences: what was found, with its figures, and how to read the
        step's figures because of it. Every surface shows this text (the terminal writes
        options as CLI flags, the report names columns in words).
    """

    step: CaveatStep
    code: str
    text: str

    def to_dict(self) -> dict[str, str]:
        """``{"step", "code", "text"}`` (``summary.json``'s ``caveats`` items)."""
        return {"step": self.step, "code": self.code, "text": self.text}


def caveats_by_step(caveats: Iterable[Caveat]) -> dict[str, list[str]]:
    """The texts per step, steps with none left out: the store's ``runs.caveats``."""
    out: dict[str, list[str]] = {}
    for c in caveats:
        out.setdefault(c.step, []).append(c.text)
    return out


def run_caveats(result: Any) -> tuple[Caveat, ...]:
    """Every caveat of an :class:`~valuemax.pipeline.AnalysisResult`, in :data:`STEPS`
    order: RFM recency (:func:`segment_caveats`), K-means's k and names
    (:func:`cluster_caveats`), the value step (:func:`value_caveats`) and the buy-again
    scores (:func:`propensity_caveats`)."""
    cust = result.customers
    out: list[Caveat] = []
    if result.rfm is not None and result.segments is not None:
        out += segment_caveats(cust, result.rfm)
    if result.clusters is not None and result.clusters.skipped is None:
        out += cluster_caveats(result.clusters)
    if result.value is not None:
        out += value_caveats(result.value, cust, result.quality.observation_end)
    if result.propensity is not None:
        out += propensity_caveats(result.propensity)
    return tuple(out)


def segment_caveats(customers: pd.DataFrame, rfm: Any) -> list[Caveat]:
    """How far back "recent" reaches in the segments named for recent buyers.

    The R score is a quintile of this log's days since the last purchase, so its upper
    scores may reach back far: on CDNOW (18 months, most customers lapsed) R 4 reaches 432
    days. Each segment whose description says its customers bought recently (Champions,
    New, Promising, Potential Loyalist) reaches back to the cut point of its lowest R score;
    when some of their customers have not bought for over :data:`INACTIVE_DAYS` days, a
    caveat gives the reach and those customers per segment (the segments are unchanged:
    they are the field's standard quintile names).
    """
    from valuemax.segment import RFM_SEGMENT_RULES

    cuts = tuple(rfm.cut_points.get("recency", ()))
    need = {"segment", "recency_days"}
    if len(cuts) != 4 or not need <= set(customers.columns):
        return []
    recent = [r for r in RFM_SEGMENT_RULES if "recent" in r.description.lower()]
    reach = {r.name: cuts[5 - r.r[0]] for r in recent}  # R score s: days <= cuts[5 - s]
    seg = customers["segment"]  # categorical: compared by code, no string per customer
    gone = customers["recency_days"].to_numpy(dtype=float) > INACTIVE_DAYS
    counts = []
    for name in reach:
        members = (seg == name).to_numpy()
        n_gone = int((members & gone).sum())
        if n_gone:
            counts.append((name, n_gone, int(members.sum())))
    if not counts:
        return []
    top = max(reach[name] for name, _, _ in counts)
    per = "; ".join(f"{name}, reaching back {reach[name]:,.0f} days: {n:,} of {m:,}"
                    for name, n, m in counts)
    total = sum(n for _, n, _ in counts)
    return [Caveat("segments", "recent_reach", (
        f"'Recent' in the RFM segment names is relative to this log: the R score's top "
        f"quintile reaches back {cuts[0]:,.0f} days and its R score of 4 "
        f"{cuts[1]:,.0f} days, so the "
        f"segments named for recent buyers reach back up to {top:,.0f} days and "
        f"{total:,} of their customers {'has' if total == 1 else 'have'} not bought for over "
        f"{INACTIVE_DAYS} days ({per}). "
        "Read 'recent' there as 'more recent than most customers of this log', and check the "
        "days since the last purchase before treating them as active."))]


def cluster_caveats(km: Any) -> list[Caveat]:
    """K-means's k at the top of the range it tried (a larger k might score better still:
    the number of clusters is then the range's, not one found in the data), and clusters
    that share a name (their R/F/M levels read alike; the profile numbers them "#1",
    "#2", ...). Said, not changed: the clusters and their names stay as computed."""
    out = []
    tried = sorted(int(k) for k in km.selection["k"])
    if len(tried) > 1 and km.k == tried[-1]:
        out.append(Caveat("clusters", "k_at_top", (
            f"K-means chose k = {km.k}, the largest number of clusters tried ({tried[0]} to "
            f"{tried[-1]}): the choice scored best at the top of the range, so the number "
            "of clusters is set by that range, not found in the data, and the clusters may "
            "split customers more finely than their differences warrant. Read them with "
            "the RFM segments.")))
    names = pd.Series([_SUFFIX.sub("", str(n)) for n in km.profile["name"]],
                      index=[int(c) for c in km.profile["cluster"]])
    for name, members in names.groupby(names, sort=False):
        if len(members) > 1:
            ids = [str(c) for c in members.index]
            which = ", ".join(ids[:-1]) + f" and {ids[-1]}"
            out.append(Caveat("clusters", "same_name", (
                f"Clusters {which} share the name '{name}' (numbered in the profile): their "
                "recency, frequency and spend levels read alike, and they differ only by "
                "degree within those levels; treat them as one group when acting.")))
    return out


#: The number the cluster profile appends to a name several clusters share.
_SUFFIX = re.compile(r" #\d+$")


def value_caveats(value: Any, customers: pd.DataFrame | None,
                  observation_end: dt.date | None = None) -> list[Caveat]:
    """The value step's caveats.

    First, a calibration end given but not used (``value.calibration_unused``: too few
    repeat buyers by then); P(alive) that cannot rank customers (``value.p_alive_warning``) or whose level rests on
    one drop-out ratio; the CLV horizon longer than the history (only with CLV); the
    chosen model no better than each customer's past purchase rate on the holdout; a short
    holdout that chose the model (with ``observation_end``); the limit the chosen model
    reached when every purchase model reached one (only the limit of no purchase-rate
    heterogeneity makes every customer buy at one rate); models the data cannot tell apart;
    with CLV and ``customers``, the same expected spend for everyone and the high spenders
    whose every order was on one day (valued at the population's mean spend).
    """
    from valuemax.clv import ONE_RATE, limit_effect
    from valuemax.pipeline._options import both_names
    from valuemax.pipeline._value import (
        dropout_ratio_note,
        horizon_ratio,
        horizon_words,
        none_reached,
        short_holdout_note,
    )

    out: list[Caveat] = []
    h = value.horizon_months
    clv = value.spend_model is not None
    what = "CLV" if clv else "the expected purchases"

    def add(code: str, text: str) -> None:  # one sentence or more, capitalised, closed
        text = text.rstrip()
        out.append(Caveat("value", code, text[:1].upper() + text[1:]
                          + ("" if text.endswith(".") else ".")))

    unused = getattr(value, "calibration_unused", None)
    if unused:  # the user's calibration end quietly not used: said first
        add("calibration_unused", unused)
    if value.p_alive_warning is not None:
        add("p_alive", value.p_alive_warning)
    else:
        level = dropout_ratio_note(value.model, value.model_name)
        if level:
            add("p_alive_level", level)
    days = value.history_days
    ratio = None if days is None else horizon_ratio(h, days)
    if clv and ratio is not None:
        add("horizon", f"the {h}-month CLV horizon {horizon_words(h, ratio)} "
                       f"the observed span ({h} months ahead from only {days:,} "
                       f"{'day' if days == 1 else 'days'}): read CLV as a rough order of "
                       f"magnitude, or shorten it with {both_names('horizon_months=')}")
    v = value.validation
    if v is not None and not v.mae < v.naive_mae:
        add("holdout_no_better",
            f"{value.model_name} does not predict the holdout better than each customer's "
            f"past purchase rate (average error {v.mae:.3f} against {v.naive_mae:.3f} "
            f"purchases per customer): read {what} as a rough ranking, not as an amount to "
            "budget on")
    if v is not None and observation_end is not None and value.calibration_end is not None:
        short = short_holdout_note(v, value.calibration_end, observation_end,
                                   value.model_name)
        if short:
            add("short_holdout", short)
    boundary = tuple(getattr(value.model, "boundary_", ()))
    if ONE_RATE in boundary:
        add("one_rate", f"{value.model_name} is at its limit of one purchase rate for "
                        f"everyone: {what} "
                        f"{'rests' if clv else 'rest'} on the population's average purchase "
                        "rate, not on each customer's buying pattern")
    elif value.degenerate:
        effect = limit_effect(boundary)
        which = "; ".join(f"{n}: {', '.join(b)}" for n, b in value.boundary.items())
        add("every_model_at_a_limit",
            f"every purchase model reached a limit ({which})"
            + (f"; {value.model_name} at its limit: {effect}" if effect else
               f" on the calibration period; {value.model_name} refitted on the whole "
               f"period {none_reached(value.model)}"))
    for group in value.indistinguishable:
        names = ", ".join(group[:-1]) + " and " + group[-1]
        add("indistinguishable", f"{names} fit equally well: the data cannot tell them "
                                 "apart, so the model choice carries no information")
    if clv and customers is not None:
        out += customer_value_caveats(customers, value.time_unit, f"clv_{h}")
    return out


def customer_value_caveats(customers: pd.DataFrame, time_unit: str,
                           col: str) -> list[Caveat]:
    """The value caveats that count customers of a scored customer table: the same
    expected spend for everyone, the one-day high spenders, and the customers whose CLV
    (column ``col``) is only the population's prior (their count, CLV range and median).

    :func:`value_caveats` adds them after a fit; ``valuemax update`` recomputes them from
    the re-scored table (the texts hold :data:`CUSTOMER_CAVEAT_WORDS`)."""
    return _spend_caveats(customers) + _new_customer_caveats(customers, time_unit, col)


def counts_customers(text: str) -> bool:
    """Whether a recorded value caveat's text is one of :func:`customer_value_caveats`
    (it then describes the customer table of its run, not the stored models)."""
    return any(w in text for w in CUSTOMER_CAVEAT_WORDS)


def _new_customer_caveats(cust: pd.DataFrame, time_unit: str, col: str) -> list[Caveat]:
    """The customers whose CLV is only the population's prior
    (:func:`valuemax.report._sections_value.new_customers`: one order, first seen in the
    last days of the log), with their CLV range against the median: the report's "What to
    trust" said it, the terminal, summary.json, the store and the API did not (review)."""
    from valuemax.report._sections_value import NEW_CUSTOMER_DAYS, new_customers

    if col not in cust or not len(cust):
        return []
    new = new_customers(cust, time_unit).to_numpy()
    n = int(new.sum())
    if not n:
        return []
    clv = cust[col].astype(float)
    lo, hi = f"{clv[new].min():,.2f}", f"{clv[new].max():,.2f}"
    span, mid = (lo if lo == hi else f"{lo} to {hi}"), float(clv.median())
    return [Caveat("value", "new_prior_only", (
        f"{n:,} {'customer' if n == 1 else 'customers'} first seen in the last "
        f"{NEW_CUSTOMER_DAYS} days, with purchases on one day only, "
        f"{'has' if n == 1 else 'have'} just the population's average as CLV ({span}, "
        f"against a median CLV of {mid:,.2f} for "
        "all customers): nothing is known of them yet, so do not rank them by CLV "
        "(clv_from_prior_only is True for them in the customer table, the store and the "
        "API)."))]


def _spend_caveats(cust: pd.DataFrame) -> list[Caveat]:
    """The same expected spend for everyone (CLV then ranks by expected purchases), and
    the high spenders with every order on one day (valued at the population's mean)."""
    from valuemax.clv import same_expected_spend

    out = []
    col = "expected_avg_value"
    same = same_expected_spend(cust[col]) if col in cust else None
    if same is not None:
        out.append(Caveat("value", "same_spend", (
            f"Every customer's expected spend per purchase is about the same ({same[0]:,.2f} "
            f"to {same[1]:,.2f}: the Gamma-Gamma spend model sees no spread in spend between "
            "customers), so CLV ranks customers by expected purchases alone; use the past "
            "spend to rank them by what they spend.")))
    need = {"frequency", "total_spend", col}
    if not need <= set(cust.columns) or not len(cust):
        return out
    threshold = float(cust["total_spend"].quantile(1 - HIGH_SPEND_SHARE))
    one_day = ((cust["frequency"] <= 0) & (cust["total_spend"] >= threshold)).to_numpy()
    n = int(one_day.sum())
    if n:
        prior = float(np.median(cust.loc[one_day, col]))
        own = float(np.median(cust.loc[one_day, "total_spend"]))
        out.append(Caveat("value", "one_day_high_spenders", (
            f"{n:,} high {'spender' if n == 1 else 'spenders'} (top "
            f"{HIGH_SPEND_SHARE:.0%} by total spend) bought on one day only: with no repeat "
            "purchase the spend model cannot learn their spend, so their CLV uses the "
            f"population's mean spend per purchase ({prior:,.2f}), not their own (their "
            f"median total spend is {own:,.2f}). Read them by their past spend, not by CLV.")))
    return out


def propensity_caveats(found: Any) -> list[Caveat]:
    """The buy-again scores ranking the holdout no better than a baseline or a coin flip
    (:func:`valuemax.pipeline._outputs.propensity_informative`), with the AUCs."""
    from valuemax.pipeline._outputs import propensity_informative, propensity_shortfall

    ok, why = propensity_informative(found)
    if ok:
        return []
    short = propensity_shortfall(found)
    # the checks the shortfall does not already say (new user: the best baseline's AUCs
    # were said twice, once under its internal name)
    aucs = re.search(r"\(AUC [0-9.]+ vs [0-9.]+\)", short)
    same = aucs.group(0).replace("(AUC ", "").rstrip(")").split(" vs ") if aucs else []
    rest = [w for w in (why or "").split("; ")
            if not (same and sorted(re.findall(r"\d\.\d{3}", w)) == sorted(same))]
    return [Caveat("propensity", "scores_rank_no_better", (
        f"The buy-again scores ({found.score_column} and its churn-risk levels) {short}"
        + (f"; {'; '.join(rest)}" if rest else "")
        + ". Do not target on them; read churn with the RFM segments."))]


__all__ = ["CUSTOMER_CAVEAT_WORDS", "STEPS", "Caveat", "caveats_by_step", "counts_customers",
           "customer_value_caveats", "run_caveats"]
