"""Fixtures for the CLV tests: the CDNOW 1/10 sample's 39-week calibration summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

#: Calibration end of Fader, Hardie & Lee (2005): weeks 1-39 of 1997.
CALIBRATION_END = pd.Timestamp("1997-09-30")


def btyd_summary(tx: pd.DataFrame, end: pd.Timestamp, days_per_unit: float) -> pd.DataFrame:
    """BTYD summary (frequency, recency, T, monetary_value) of a log, one row per customer.

    Purchase occasions are distinct days; ``frequency`` = occasions - 1; ``recency`` = last -
    first occasion and ``T`` = ``end`` - first occasion, in units of ``days_per_unit`` days;
    ``monetary_value`` = mean spend of the repeat occasions (0 without repeats).
    """
    cal = tx[tx["date"] <= end]
    days = cal.groupby(["customer_id", "date"], as_index=False)["amount"].sum()
    days = days.sort_values(["customer_id", "date"])
    g = days.groupby("customer_id")
    first, last, n = g["date"].min(), g["date"].max(), g.size()
    frequency = n - 1
    repeat_spend = g["amount"].sum() - g["amount"].first()
    return pd.DataFrame({
        "frequency": frequency.astype(np.int64),
        "recency": (last - first).dt.days / days_per_unit,
        "T": (end - first).dt.days / days_per_unit,
        "monetary_value": (repeat_spend / frequency.where(frequency > 0)).fillna(0.0),
    })


@pytest.fixture(scope="session")
def cdnow_tx(datasets) -> pd.DataFrame:
    """CDNOW_sample.txt: 6,919 lines (customer_id, customer_index, date, n_cds, amount)."""
    tx = pd.read_csv(datasets("cdnow/CDNOW_sample.txt"), sep=r"\s+", header=None,
                     names=["customer_id", "customer_index", "date", "n_cds", "amount"],
                     dtype={"customer_id": str, "date": str})
    tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
    return tx


@pytest.fixture(scope="session")
def cdnow_rfm(cdnow_tx) -> pd.DataFrame:
    """39-week calibration summary in weeks (2,357 customers, 1,411 with frequency 0)."""
    return btyd_summary(cdnow_tx, CALIBRATION_END, 7.0)


@pytest.fixture(scope="session")
def cdnow_rfm_days(cdnow_tx) -> pd.DataFrame:
    """The same summary in days."""
    return btyd_summary(cdnow_tx, CALIBRATION_END, 1.0)
