"""The order in which ``make test``'s two workers receive work (tests/conftest.py): the
costliest units first, by the measured hints, every unit sent once."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def root(pytestconfig: pytest.Config) -> Any:
    """tests/conftest.py as loaded by pytest (importlib mode: not importable by name)."""
    for plugin in pytestconfig.pluginmanager.get_plugins():
        if hasattr(plugin, "COST_HINTS") and hasattr(plugin, "costliest_first"):
            return plugin
    raise RuntimeError("tests/conftest.py (COST_HINTS, costliest_first) is not loaded")


def test_every_cost_hint_names_a_test_that_exists(root):
    # a renamed or removed test would leave a hint that weighs nothing: name it here
    for nodeid, seconds in root.COST_HINTS.items():
        path, _, name = nodeid.partition("::")
        assert (ROOT / path).is_file(), nodeid
        function = re.sub(r"\[.*\]$", "", name.split("::")[-1])
        assert re.search(rf"^def {re.escape(function)}\(", (ROOT / path).read_text(
            encoding="utf-8"), re.M), nodeid
        assert seconds > root.DEFAULT_COST, nodeid


def test_units_go_out_costliest_first_and_each_once(root):
    slow = next(iter(root.COST_HINTS))
    units = {
        "module:tests/a.py": {f"tests/a.py::t{i}@module:tests/a.py": False for i in range(20)},
        slow: {slow: False},
        "tests/b.py::quick": {"tests/b.py::quick": False},
        "module:tests/c.py": {"tests/c.py::t0@module:tests/c.py": False,
                              "tests/c.py::t1@module:tests/c.py": False},
        "tests/b.py::other": {"tests/b.py::other": False},
    }
    order = root.costliest_first(units)
    assert sorted(order) == sorted(units)
    # the hinted slow test alone (tens of seconds) outweighs 20 unhinted tests (10 s)
    assert order[:3] == [slow, "module:tests/a.py", "module:tests/c.py"]
    # equal costs keep collection order
    assert order[3:] == ["tests/b.py::quick", "tests/b.py::other"]
    assert root.unit_cost(units["module:tests/a.py"]) == pytest.approx(20 * root.DEFAULT_COST)
    # the @group suffix is not part of the name a hint is found by
    assert root.unit_cost({f"{slow}@module:tests/x.py": False}) == root.COST_HINTS[slow]


def test_each_worker_gets_its_share_of_the_cores(root):
    assert root.worker_threads(2, 2) == 1  # `make test` on the 2-core machine
    assert root.worker_threads(16, 2) == 8
    assert root.worker_threads(3, 2) == 1
    assert root.worker_threads(1, 4) == 1  # never fewer than one thread
    assert root.worker_threads(None, 2) == 1  # os.cpu_count() may not know


def test_an_xdist_worker_s_native_pools_are_limited(root):
    # in a worker (pytest -n N), the OpenMP and BLAS pools loaded so far -- scikit-learn's
    # included -- hold no more threads than the worker's share, unless the caller set them
    import os

    import sklearn.ensemble  # noqa: F401  (loads scikit-learn's OpenMP runtime)
    from threadpoolctl import threadpool_info

    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if not workers:
        pytest.skip("not an xdist worker: the libraries keep their default pools")
    share = int(os.environ["OMP_NUM_THREADS"])
    assert share >= 1
    if all(os.environ[name] == os.environ["OMP_NUM_THREADS"] for name in root.THREAD_VARIABLES):
        pools = threadpool_info()
        assert {p["user_api"] for p in pools} >= {"openmp", "blas"}
        assert all(p["num_threads"] <= share for p in pools), pools
