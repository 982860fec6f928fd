"""Shared fixtures (STYLE.md e): paths to the shared real data, a seeded rng, a small log."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _datasets_dir() -> Path:
    env = os.environ.get("VALUEMAX_SHARED_DATASETS")
    return Path(env) if env else ROOT.parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def datasets() -> Path:
    """``../shared/datasets`` (read-only real data; README there has the reference figures)."""
    path = _datasets_dir()
    if not path.is_dir():
        pytest.fail(f"shared data sets not found at {path}; set VALUEMAX_SHARED_DATASETS")
    return path


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def tx_small() -> pd.DataFrame:
    """A hand-built log of 3 customers whose summaries are worked out in the tests.

    c1: orders on 2024-01-01 (two lines, one order), 2024-01-03, 2024-01-03 (second order
    on the same day), 2024-01-10. c2: one order on 2024-01-05. c3: 2024-01-02 and 2024-01-09.
    """
    return pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c1", "c1", "c1", "c2", "c3", "c3"],
            "order_id": ["o1", "o1", "o2", "o3", "o4", "o5", "o6", "o7"],
            "order_ts": pd.to_datetime(
                [
                    "2024-01-01 09:00", "2024-01-01 09:00", "2024-01-03 10:00",
                    "2024-01-03 18:00", "2024-01-10 12:00", "2024-01-05 08:00",
                    "2024-01-02 11:00", "2024-01-09 15:00",
                ]
            ),
            "quantity": [1.0, 2.0, 1.0, 3.0, 1.0, 5.0, 1.0, 2.0],
            "unit_price": [10.0, 5.0, 20.0, 10.0, 40.0, 2.0, 7.0, 4.0],
            "product_id": ["A", "B", "A", "C", "B", "A", "C", "A"],
        }
    )
