"""Fixtures of the experiment tests: the Hillstrom file (not bundled; skips with the reason)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest


@pytest.fixture(scope="session")
def hillstrom_path(datasets) -> Path:
    return datasets("hillstrom/hillstrom.csv.gz")


@pytest.fixture(scope="session")
def hillstrom(hillstrom_path) -> pd.DataFrame:
    """The published table, read by pandas (the independent path the tests compare with)."""
    return pd.read_csv(hillstrom_path)
