"""Fixtures for the segment tests: well-separated synthetic customer groups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

#: Three well-separated groups (median recency days, orders, spend), given in shuffled order.
GROUPS = {"lapsed": (300, 1, 40.0), "best": (4, 30, 8000.0), "middle": (40, 5, 600.0)}


def _blobs(rng, n_per=60, country=True) -> tuple[pd.DataFrame, np.ndarray]:
    """Customers drawn around GROUPS on the log scale (sd 0.15); returns frame and group."""
    parts, truth = [], []
    for name, (r, f, m) in GROUPS.items():
        z = rng.normal(0, 0.15, size=(n_per, 3))
        parts.append(pd.DataFrame({
            "recency_days": np.round(r * np.exp(z[:, 0])).astype(np.int64),
            "n_orders": np.maximum(1, np.round(f * np.exp(z[:, 1]))).astype(np.int64),
            "total_spend": m * np.exp(z[:, 2]),
        }))
        truth += [name] * n_per
    c = pd.concat(parts, ignore_index=True)
    order = rng.permutation(len(c))
    c = c.iloc[order].reset_index(drop=True)
    c.insert(0, "customer_id", [f"c{i:04d}" for i in range(len(c))])
    if country:
        c["Country"] = np.where(np.arange(len(c)) % 4 == 0, "Germany", "United Kingdom")
    return c, np.asarray(truth)[order]



@pytest.fixture
def make_blobs():
    """``make_blobs(rng, n_per=60, country=True) -> (customers, true group per customer)``."""
    return _blobs
