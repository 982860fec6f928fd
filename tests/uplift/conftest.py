"""Uplift tests run scikit-learn's OpenMP learners on one thread (the CI machine is shared)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Limit OpenMP/BLAS to one thread for the test (restored afterwards; no global state)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield
