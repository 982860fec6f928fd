"""The profit curve measured on a randomised holdout, with seeded bootstrap intervals.

The expected-profit curve of :func:`choose_targets` trusts the uplift model. This one checks
it: on customers randomised between contact and control (a holdout of the model's training
data, or a past campaign with a control), rank by the model's score and estimate, for the top
share ``q``, the profit actually caused by contacting them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from valuemax._core.exceptions import InputError


@dataclass(frozen=True)
class HoldoutCurve:
    """Incremental profit against the share of customers contacted, measured on a holdout.

    Attributes
    ----------
    curve : pandas.DataFrame
        One row per grid point: ``share`` (top share of customers by score, in (0, 1]),
        ``n_contacted`` (``share * population``), ``n_treated`` and ``n_control`` (holdout
        customers of each arm in the top share), ``incremental_revenue`` (per customer
        contacted, treated mean minus control mean), ``profit`` (total, currency) and
        ``ci_low``/``ci_high`` (bootstrap percentile interval).
    chosen : int or None
        Row of ``curve`` nearest the chosen share (``None`` when none was given).
    best : int
        Row with the largest estimated profit.
    population : int
        Customers the curve is scaled to.
    confidence : float
    n_boot : int
    method : str
    """

    curve: pd.DataFrame
    chosen: int | None
    best: int
    population: int
    confidence: float
    n_boot: int
    method: str


def holdout_profit_curve(
    table: Any,
    *,
    score: str,
    arm: str,
    control: str,
    revenue: str,
    margin: float,
    cost_per_contact: float,
    cost_per_redemption: float = 0.0,
    redeemed: str | None = None,
    customer_id: str = "customer_id",
    population: int | None = None,
    chosen_share: float | None = None,
    n_points: int = 20,
    n_boot: int = 200,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = None,
) -> HoldoutCurve:
    """Profit of contacting the top share ``q`` of customers by score, measured on a holdout.

    Customers are ranked by ``score`` (descending; ties by ``customer_id``). For the top share
    ``q`` (``k`` of the ``n`` holdout customers)::

        incremental_revenue(q) = mean(revenue | treated, top q) - mean(revenue | control, top q)
        profit(q) = population * q * (margin * incremental_revenue(q) - cost_per_contact
                                      - cost_per_redemption * mean(redeemed | treated, top q))

    (the uplift-curve estimator of Radcliffe (2007) / Gutierrez & Gerardy (2017), in
    currency). The interval is a percentile bootstrap: customers resampled with replacement
    within each arm (arm sizes fixed), ``n_boot`` times with the seeded generator, the ranking
    held fixed. Grid points where the top share holds fewer than 2 treated or 2 control
    customers are left out (the difference is undefined there).

    Parameters
    ----------
    table : pandas.DataFrame
        One row per holdout customer.
    score : str
        Column the customers are ranked by (e.g. the expected incremental profit).
    arm : str
        Column of the randomised arm.
    control : str
        Label of the control arm; every other label counts as contacted.
    revenue : str
        Outcome column (currency per customer, over the campaign window).
    margin : float
        Profit share of revenue, in (0, 1].
    cost_per_contact, cost_per_redemption : float
        Currency, >= 0.
    redeemed : str, optional
        0/1 column: the treated customer redeemed the offer (default: nobody).
    customer_id : str, default "customer_id"
    population : int, optional
        Customers the curve is scaled to (default: the holdout's size).
    chosen_share : float, optional
        Share contacted by the chosen target list, marked as ``chosen``.
    n_points : int, default 20
        Grid of shares ``1/n_points, ..., 1``.
    n_boot : int, default 200
    confidence : float, default 0.95
    random_state : int or numpy.random.Generator, optional

    Returns
    -------
    HoldoutCurve

    Raises
    ------
    InputError
        If a column is missing or not finite, there is no control or no treated customer,
        a cost is negative, or no grid point has 2 customers of each arm.

    References
    ----------
    .. [1] Gutierrez & Gerardy (2017). Causal Inference and Uplift Modeling: A review of the
       literature. PMLR 67:1-13.
    """
    frame = table if isinstance(table, pd.DataFrame) else pd.DataFrame(table)
    need = [c for c in (score, arm, revenue, customer_id, *([redeemed] if redeemed else []))
            if c not in frame.columns]
    if need:
        raise InputError(f"column(s) {need} not found; available: "
                         f"{', '.join(map(str, frame.columns))}.")
    for name, value in (("margin", margin), ("cost_per_contact", cost_per_contact),
                        ("cost_per_redemption", cost_per_redemption)):
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0 \
                or (name == "margin" and not 0 < value <= 1):
            raise InputError(f"{name}={value!r} must be a finite number >= 0"
                             + (" in (0, 1]" if name == "margin" else "") + ".")
    if not 0 < confidence < 1 or n_boot < 10 or n_points < 1:
        raise InputError("confidence must lie in (0, 1), n_boot >= 10 and n_points >= 1.")
    cols = [score, revenue] + ([redeemed] if redeemed else [])
    for c in cols:
        col = frame[c]
        if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            raise InputError(f"column {c!r} must be numeric; it is {col.dtype} (valuemax does "
                             "not coerce text to numbers).")
        bad = ~np.isfinite(col.to_numpy(dtype="float64", na_value=np.nan))
        if bad.any():
            ids = ", ".join(map(str, frame[customer_id][bad].head(5)))
            raise InputError(f"column {c!r} is missing or not finite for {int(bad.sum()):,} "
                             f"rows (customer_id {ids}).")
    treated = (frame[arm].astype(str) != control).to_numpy()
    if treated.all() or not treated.any():
        raise InputError(f"the holdout needs contacted and control ({control!r}) customers; "
                         f"it has {int(treated.sum()):,} contacted and "
                         f"{int((~treated).sum()):,} control.")
    order = np.lexsort((frame[customer_id].astype(str).to_numpy(),
                        -frame[score].to_numpy(dtype="float64")))
    t = treated[order]
    y = frame[revenue].to_numpy(dtype="float64")[order]
    red = frame[redeemed].to_numpy(dtype="float64")[order] if redeemed else np.zeros(len(y))
    n = len(y)
    pop = n if population is None else int(population)
    ks = np.unique(np.ceil(np.arange(1, n_points + 1) / n_points * n).astype("int64"))

    def curve_for(w: np.ndarray) -> tuple[np.ndarray, ...]:
        wt, wc = w * t, w * ~t
        nt, nc = np.cumsum(wt)[ks - 1], np.cumsum(wc)[ks - 1]
        st, sc = np.cumsum(wt * y)[ks - 1], np.cumsum(wc * y)[ks - 1]
        rt = np.cumsum(wt * red)[ks - 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            inc = st / nt - sc / nc
            per = margin * inc - cost_per_contact - cost_per_redemption * rt / nt
        return nt, nc, inc, pop * ks / n * per

    nt, nc, inc, profit = curve_for(np.ones(n))
    ok = (nt >= 2) & (nc >= 2)
    if not ok.any():
        raise InputError("no share of the ranking holds 2 contacted and 2 control customers; "
                         "the holdout is too small.")
    rng = np.random.default_rng(random_state)
    idx_t, idx_c = np.flatnonzero(t), np.flatnonzero(~t)
    boots = np.empty((n_boot, len(ks)))
    for b in range(n_boot):  # a loop over replicates; each is vectorised over customers
        w = np.zeros(n)
        w[idx_t] = rng.multinomial(len(idx_t), np.full(len(idx_t), 1 / len(idx_t)))
        w[idx_c] = rng.multinomial(len(idx_c), np.full(len(idx_c), 1 / len(idx_c)))
        boots[b] = curve_for(w)[3]
    a = (1 - confidence) / 2
    with np.errstate(invalid="ignore"):
        lo = np.nanquantile(boots[:, ok], a, axis=0)
        hi = np.nanquantile(boots[:, ok], 1 - a, axis=0)
    out = pd.DataFrame({"share": ks[ok] / n, "n_contacted": np.round(pop * ks[ok] / n)
                        .astype("int64"), "n_treated": nt[ok].astype("int64"),
                        "n_control": nc[ok].astype("int64"), "incremental_revenue": inc[ok],
                        "profit": profit[ok], "ci_low": lo, "ci_high": hi})
    chosen = None
    if chosen_share is not None:
        chosen = int(np.argmin(np.abs(out["share"].to_numpy() - chosen_share)))
    return HoldoutCurve(curve=out, chosen=chosen, best=int(out["profit"].idxmax()),
                        population=pop, confidence=confidence, n_boot=n_boot,
                        method=("top-share difference in mean revenue (treated - control), "
                                "percentile bootstrap within arms, seeded"))
