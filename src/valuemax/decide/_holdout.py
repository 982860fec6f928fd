"""A seeded, randomised hold-out control drawn from a target list: the assignment file.

The file is exactly what :func:`valuemax.experiment.readout_from_log` reads back
(``customer_id, arm, assigned_at``), so the campaign is measured against customers chosen the
same way and not contacted: the loop closes.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from typing import Any

import numpy as np
import pandas as pd

from valuemax._core.exceptions import InputError
from valuemax.clean._rules import PLAUSIBLE_DATES

#: Arm label of the hold-out control in the assignment file.
HOLDOUT_ARM = "holdout"


#: ``YYYY-MM-DD``, optionally with `` HH:MM[:SS[.ffffff]]`` or ``T``: the only text form of
#: ``assigned_at`` (``02/03/2024`` is 2 March or 3 February; never guessed).
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?")


def _iso_time(assigned_at: Any) -> pd.Timestamp:
    """``assigned_at`` as a Timestamp; text only in ISO form (no day/month guess)."""
    if isinstance(assigned_at, str) and not _ISO.fullmatch(assigned_at.strip()):
        raise InputError(f"assigned_at={assigned_at!r} is not an ISO date or time: give "
                         "YYYY-MM-DD[ HH:MM:SS] (CLI --start), so that day and month cannot "
                         "be swapped.")
    try:
        when = pd.Timestamp(assigned_at.strip() if isinstance(assigned_at, str)
                            else assigned_at)
    except (TypeError, ValueError) as exc:
        raise InputError(f"assigned_at={assigned_at!r} is not a date or time "
                         "(YYYY-MM-DD[ HH:MM:SS]).") from exc
    if pd.isna(when):
        raise InputError(f"assigned_at={assigned_at!r} is not a date or time "
                         "(YYYY-MM-DD[ HH:MM:SS]).")
    low, high = PLAUSIBLE_DATES
    if not low <= when.date() <= high:
        raise InputError(
            f"assigned_at={assigned_at!r} is {'before' if when.date() < low else 'after'} "
            f"{(low if when.date() < low else high).isoformat()}: not a campaign start (a "
            "placeholder or a mistyped year; the cleaning quarantines such order dates as "
            "implausible_date). Give the day the campaign starts, e.g. "
            f"today, {_dt.date.today().isoformat()}.")
    return when


def holdout_assignments(
    targets: pd.DataFrame,
    *,
    assigned_at: _dt.date | _dt.datetime | str,
    share: float = 0.1,
    random_state: int | np.random.Generator | None = None,
    control: str = HOLDOUT_ARM,
    n_strata: int = 10,
) -> pd.DataFrame:
    """Hold out a random share of the targets as control, stratified by rank decile.

    The target list (``rank`` 1 = best) is cut into ``n_strata`` groups of consecutive ranks
    as equal as possible (deciles by default). ``round(share * n)`` customers are held out in
    all, ``share * size`` per group rounded by largest remainders (ties in a seeded random
    order); in each group they are drawn without replacement with the seeded generator and
    get the arm ``control`` (not contacted); the others keep their arm. Stratifying keeps the control's mix of
    expected profit equal to the contacted group's, so the lift is measured on like customers.

    Parameters
    ----------
    targets : pandas.DataFrame
        The target list of :func:`choose_targets`: ``customer_id``, ``arm``, ``rank``.
    assigned_at : date, datetime or str
        When the campaign starts (naive local time, as the log's ``order_ts``); the outcome
        window is read from it. A string is read as ISO ``YYYY-MM-DD[ HH:MM:SS]``.
    share : float, default 0.1
        Share of each stratum held out, in (0, 1).
    random_state : int or numpy.random.Generator, optional
        Seed of the draw; the same seed gives the same control.
    control : str, default "holdout"
        Arm label of the held-out customers; must differ from every target arm.
    n_strata : int, default 10
        Number of rank groups.

    Returns
    -------
    pandas.DataFrame
        One row per target, in rank order: ``customer_id`` (str), ``arm`` (str),
        ``assigned_at`` (datetime64), ``share`` (float: the designed share of that row's arm
        among the assigned customers).

    Raises
    ------
    InputError
        If a column is missing, ``share`` is outside (0, 1), the date does not parse, a target
        arm equals ``control``, or no customer (or every customer) would be held out.

    Examples
    --------
    >>> t = pd.DataFrame({"customer_id": list("abcdefghij"), "arm": "email",
    ...                   "expected_incremental_profit": 1.0, "rank": range(1, 11)})
    >>> a = holdout_assignments(t, assigned_at="2026-01-05", share=0.2, random_state=0,
    ...                         n_strata=2)
    >>> a["arm"].value_counts().to_dict()
    {'email': 8, 'holdout': 2}
    """
    missing = [c for c in ("customer_id", "arm", "rank") if c not in targets.columns]
    if missing:
        raise InputError(f"targets lacks {missing}; pass the target list of choose_targets "
                         f"(it has {', '.join(map(str, targets.columns))}).")
    if isinstance(share, bool) or not isinstance(share, (int, float)) \
            or not 0 < float(share) < 1:
        raise InputError(f"share={share!r} must lie strictly between 0 and 1 (e.g. 0.1; on the "
                         "CLI --holdout).")
    if isinstance(n_strata, bool) or not isinstance(n_strata, int) or n_strata < 1:
        raise InputError(f"n_strata={n_strata!r} must be a whole number >= 1.")
    if isinstance(random_state, bool) or (isinstance(random_state, int | np.integer)
                                          and not 0 <= random_state < 2**32):
        raise InputError(f"random_state={random_state!r} must be a whole number >= 0 and "
                         "below 2**32 (CLI --random-state).")
    when = _iso_time(assigned_at)
    if when.tzinfo is not None:
        raise InputError(f"assigned_at={assigned_at!r} has a time zone; give a naive local "
                         "time like the log's order_ts.")
    clash = targets["arm"].astype(str) == control
    if clash.any():
        raise InputError(f"{int(clash.sum()):,} targets already have the arm {control!r}; "
                         "choose another control label (control=).")
    t = targets.sort_values("rank", kind="stable").reset_index(drop=True)
    n = len(t)
    if n == 0:
        raise InputError("the target list is empty: nobody to hold out.")
    rng = np.random.default_rng(random_state)
    stratum = (np.arange(n) * min(n_strata, n)) // n
    sizes = np.bincount(stratum)
    quota = share * sizes
    counts = np.floor(quota).astype("int64")
    extra = math.floor(share * n + 0.5) - int(counts.sum())
    if extra > 0:  # largest remainders first, ties in a seeded random order
        tie = rng.permutation(len(sizes))
        counts[np.lexsort((tie, -(quota - counts)))[:extra]] += 1
    held = np.zeros(n, bool)
    for s, k in enumerate(counts):  # a loop over <= n_strata groups, not customers
        if k:
            held[rng.choice(np.flatnonzero(stratum == s), size=int(k), replace=False)] = True
    if not held.any() or held.all():
        raise InputError(f"share={share:g} of {n:,} targets in {min(n_strata, n)} strata holds "
                         f"out {int(held.sum()):,} customers; the readout needs both contacted "
                         "and held-out customers. Change the share (--holdout) or target more.")
    arm = np.where(held, control, t["arm"].astype(str).to_numpy())
    out = pd.DataFrame({"customer_id": t["customer_id"].astype(str).to_numpy(), "arm": arm,
                        "assigned_at": when})
    out["share"] = out["arm"].map(out["arm"].value_counts(normalize=True)).astype("float64")
    return out
