"""The drift sentence of an update says its figures plainly (a new user's report).

Two weekly updates of the CDNOW 1/10 sample's store fitted up to 1997-09-30 (the
papers' calibration end): the sentence gives the totals since the fit with its date and
this update's own figures beside them, and says which of the ±20 % threshold and the
noise allowance held, with both. The figures are counted here from the store.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from valuemax.pipeline import update

WEEKS = (("19971001", "19971007"), ("19971008", "19971014"))


def _repeat_days(store, lo: str, hi: str) -> int:
    """Purchase days of known customers in [lo, hi] (the drift check's "made")."""
    with duckdb.connect(str(store), read_only=True) as con:
        return con.execute(
            "SELECT count(*) FROM (SELECT DISTINCT customer_id, CAST(order_ts AS DATE) d "
            "FROM transactions_clean) WHERE d BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)",
            [lo, hi]).fetchone()[0]


@pytest.fixture(scope="module")
def weekly(cdnow_stores, cdnow_split, tmp_path_factory):
    import shutil

    folder = tmp_path_factory.mktemp("weekly")
    store = folder / "s.duckdb"
    shutil.copy2(cdnow_stores["first"], store)
    lines = cdnow_split["second"].read_text(encoding="utf-8").splitlines(keepends=True)
    checks = []
    for i, (lo, hi) in enumerate(WEEKS):
        path = folder / f"week{i}.txt"
        path.write_text("".join(ln for ln in lines if lo <= ln.split()[2] <= hi),
                        encoding="utf-8")
        checks.append(update(store, path).drift)
    return store, checks


def test_totals_since_the_fit_and_this_update_beside_them(weekly):
    store, (one, two) = weekly
    made = [_repeat_days(store, "1997-10-01", "1997-10-07"),
            _repeat_days(store, "1997-10-08", "1997-10-14")]
    assert (one.actual, two.actual) == tuple(made)
    assert two.predicted_since_fit == pytest.approx(one.predicted + two.predicted)
    assert two.actual_since_fit == sum(made)
    assert one.message.startswith(
        f"the stored BG/NBD predicted {one.predicted:,.1f} repeat purchases since the fit on "
        f"1997-09-30 (7 days); they made {made[0]:,} (this update alone: "
        f"{one.predicted:,.1f} predicted, {made[0]:,} made, by 2,357 customers over 7 days)")
    assert two.message.startswith(
        f"the stored BG/NBD predicted {one.predicted + two.predicted:,.1f} repeat purchases "
        f"since the fit on 1997-09-30 (14 days); they made {sum(made):,} (this update alone: "
        f"{two.predicted:,.1f} predicted, {made[1]:,} made, by 2,357 customers over 7 days)")


def test_which_bound_held_with_both(weekly):
    """Each week's gap is within both bounds (measured: 2.1 purchases against ±10.4 and
    ±14.2, then 2.1 against ±20.8 and ±20.0); the sentence gives both numbers."""
    _, checks = weekly
    for c in checks:
        gap = abs(c.actual_since_fit - c.predicted_since_fit)
        thr = 0.2 * c.predicted_since_fit
        allowance = 1.96 * np.sqrt(c.dispersion * c.predicted_since_fit)
        assert c.allowance == pytest.approx(allowance)
        assert gap <= min(thr, allowance) and not c.refit_advised
        assert c.message.endswith(
            f"the gap of {gap:,.1f} is within both the threshold (±{thr:,.1f}) and the noise "
            f"allowance (±{allowance:,.1f}): no refit needed")
        assert "within the threshold or the noise allowance" not in c.message
