"""Shared fixtures (STYLE.md e): the real data files (bundled), the session's real runs of
``analyze`` and its Spark session, a seeded rng, a small log, the browser check."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]

# --- pytest-xdist: one core's worth of native threads per worker ---------------------------
# `make test` runs two workers on a 2-core machine. OpenMP (scikit-learn's gradient boosting,
# k-means) and OpenBLAS size their pools to every core of the machine, so each worker's pool
# shares the cores with the other worker and OpenMP's waiting threads spin: a gradient
# boosting test ran 63 s (31 CPU s) with the default pool on a loaded 2-core machine and
# 3.7 s with one thread. In a worker the pools therefore get cores // workers threads
# (valuemax's own fits already default to one thread: propensity ``n_threads=1``). A thread
# count changes no value a test checks beyond float rounding inside its stated tolerances;
# variables set by the caller win (``OMP_NUM_THREADS=2 make test``), and a plain ``pytest``
# (no -n) keeps the libraries' defaults.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def worker_threads(cores: int | None, workers: int) -> int:
    """Native threads per xdist worker: the machine's cores shared out, at least 1."""
    return max(1, (cores or 1) // max(1, workers))


def _share_cores_between_workers() -> None:
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if not workers:
        return
    threads = worker_threads(os.cpu_count(), int(workers))
    for name in THREAD_VARIABLES:  # libraries loaded from here on (sklearn's OpenMP, scipy)
        os.environ.setdefault(name, str(threads))
    from threadpoolctl import threadpool_limits

    # libraries already loaded by pytest's plugins (numpy's OpenBLAS); kept for the session
    threadpool_limits(limits=int(os.environ["OMP_NUM_THREADS"]))


_share_cores_between_workers()

# --- the Spark tests' JVMs: HotSpot's client compiler only ----------------------------------
# Each Spark test runs a few seconds of small queries, where HotSpot's optimising (C2)
# compiler spends more CPU compiling than its code saves: the CDNOW-sample job of
# tests/engines/test_parity.py on Spark, two processes side by side on the loaded 2-core
# machine, took 60.8 CPU s (JVM included) by default and 35.8 CPU s with
# -XX:TieredStopAtLevel=1, the same customers and CLV (issue 12). The JIT tier changes how
# fast the JVM runs, never what it computes (Java's floating point is strict since 17). Set
# for every JVM started from the tests (the session's and the subprocesses'); a caller's
# own JDK_JAVA_OPTIONS wins. The JVM's "Picked up" note goes to valuemax's Spark log.
os.environ.setdefault("JDK_JAVA_OPTIONS", "-XX:TieredStopAtLevel=1")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


DATA_DIR = ROOT / "tests" / "data"
SHARED_DIR = ROOT.parent / "shared" / "datasets"

#: Files in the shared layout (``../shared/datasets/``) -> their copy in the repository.
#: Package data is resolved through ``valuemax.datasets.path``; see tests/data/README.md.
BUNDLED: dict[str, str | Path] = {
    "cdnow/CDNOW_master.txt": "cdnow_master",
    "cdnow/CDNOW_sample.txt": "cdnow_sample",
    "donations/donations.csv": "donations",
    "online_retail/online_retail.csv.gz": "online_retail",
    "retention/sbg_survivors.csv": "retention",
    "groceries/groceries_baskets.csv.gz": DATA_DIR / "groceries_baskets.csv.gz",
    "groceries/groceries.csv.gz": DATA_DIR / "groceries.csv.gz",
}
#: Files the repository does not ship, with the reason a test needing them skips.
NOT_BUNDLED: dict[str, str] = {
    "hillstrom/hillstrom.csv.gz": "the Hillstrom (MineThatData 2008) data is not bundled: its "
    "publisher states no licence allowing redistribution (tests/data/README.md)",
}


def _datasets_dir() -> Path | None:
    """The ``VALUEMAX_SHARED_DATASETS`` override folder, or None when the variable is unset."""
    env = os.environ.get("VALUEMAX_SHARED_DATASETS")
    return Path(env) if env else None


def _bundled(name: str) -> Path | None:
    where = BUNDLED.get(name)
    if where is None:
        return None
    if isinstance(where, Path):
        return where if where.is_file() else None
    from valuemax.datasets import path

    return path(where)


def _dataset_file(name: str) -> Path:
    """Resolve ``name`` (its path in the shared layout) as tests/data/README.md describes."""
    override = _datasets_dir()
    if override is not None:
        if not override.is_dir():
            pytest.fail(f"VALUEMAX_SHARED_DATASETS={override} is not a folder; unset it to use "
                        "the copies bundled with the repository")
        if (override / name).is_file():
            return override / name
    bundled = _bundled(name)
    if bundled is not None:
        return bundled
    if (SHARED_DIR / name).is_file():
        return SHARED_DIR / name
    if name in NOT_BUNDLED or name in BUNDLED:
        pytest.skip(f"{name} not found: {NOT_BUNDLED.get(name, 'its bundled copy was removed')}"
                    f"; put a copy under VALUEMAX_SHARED_DATASETS or {SHARED_DIR}")
    pytest.fail(f"unknown data file {name!r}; known: {sorted(BUNDLED | NOT_BUNDLED)}")


@pytest.fixture(scope="session")
def datasets() -> Callable[[str], Path]:
    """``datasets("cdnow/CDNOW_sample.txt")`` -> path of that real data file.

    Names are paths in the shared layout (``../shared/datasets/README.md`` has the reference
    figures). The file is taken from ``VALUEMAX_SHARED_DATASETS`` when set, else from the copy
    bundled in the repository (byte-identical to the shared one once decompressed), else from
    ``../shared/datasets``; a file the repository cannot ship skips the test with the reason.
    """
    return _dataset_file


# --- real runs shared by the whole session --------------------------------------------------
# Each is one ``analyze`` of a shared real data set with fixed options, run on first use and
# reused by every test file that asks for it (tests/pipeline; tests/report's ``retail_run`` and
# ``cdnow_run`` have the same options). The results are read only: a test that changes a
# frame copies it first (``result.customers.copy()``), and writes under its own tmp_path.

# --- pytest-xdist: tests sharing an expensive fixture run on one worker ---------------------
# `make test` runs ``pytest -n 2 --dist loadgroup``. Each worker is its own process, so a
# session fixture used on both workers is built twice (the Online Retail runs take minutes)
# and a module fixture whose tests are split is built twice, or lost between tests that rely
# on it in order (the README blocks). The hook below therefore puts every test into the group
# of the shared fixtures it uses: session fixtures of this test suite (by definition, so two
# folders' ``small_run`` stay apart) and module/class fixtures (by module). Tests linked
# through any such fixture form one group (an ``xdist_group`` mark), run on one worker in
# collection order; tests using none of them are spread freely. A fixture is also "used" when
# a test names it as a parameter value (``request.getfixturevalue(name)``), and the servers'
# marks stand for their fixtures (MARK_FIXTURES). Without xdist (plain ``pytest``, or
# ``pytest -p no:xdist``) the hook does nothing.

#: Session fixtures cheap to build on each worker, which therefore never join tests into one
#: group (``datasets`` is used by most tests: grouping by it would serialise the suite;
#: tests/engines' read-only Arrow tables of the CDNOW sample and the 20,000-line Online Retail
#: slice, under a second each, would join the Spark tests to the servers' tests).
UNGROUPED = frozenset({"datasets", "brute", "support", "make_synthetic", "cdnow_typed",
                       "retail_slice", "retail_typed"})
#: Marks standing for the session fixture the marked test reaches at run time: the tests
#: writing result tables into the servers' test database run on one worker. (A test marked
#: ``spark`` that starts its own Spark in a subprocess shares nothing: the ``spark`` fixture
#: alone groups its users.)
MARK_FIXTURES = {"postgres": "postgres_url", "mariadb": "mariadb_url"}
#: Module fixtures (``path::name``) that are pure, cheap next to the tests they would join
#: and read only, so a worker may build its own copy: they join no tests into one group.
#: test_parity's would otherwise link the Spark tests (one JVM: their own group) with the
#: PostgreSQL/MariaDB tests into one unit of ~350 CPU s, a whole worker's share of the
#: suite, while the other worker ran out of work (issue 12); rebuilt, they cost one more
#: DuckDB run of the CDNOW sample and of the 20,000-line Online Retail slice (~10 CPU s).
#: ``retail_on`` builds an engine's run only when a test of that engine asks for it, so it
#: costs nothing on the worker that does not hold the engine.
REBUILT_PER_WORKER = frozenset({
    "tests/engines/test_parity.py::engine_of",
    "tests/engines/test_parity.py::cdnow_duckdb",
    "tests/engines/test_parity.py::retail_duckdb",
    "tests/engines/test_parity.py::retail_on",
})


def _shared_keys(item: pytest.Item) -> set[str]:
    """The shared fixtures ``item`` uses, as ``scope:where:name`` keys."""
    manager = item.session._fixturemanager
    names = set(getattr(item, "fixturenames", ()))
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        names |= {v for v in callspec.params.values() if isinstance(v, str)}
    names |= {MARK_FIXTURES[m.name] for m in item.iter_markers() if m.name in MARK_FIXTURES}
    keys: set[str] = set()
    done: set[str] = set()
    todo = sorted(names)
    while todo:
        name = todo.pop()
        if name in done:
            continue
        done.add(name)
        defs = manager.getfixturedefs(name, item)
        if not defs:
            continue
        fixture = defs[-1]
        todo.extend(fixture.argnames)
        if not fixture.baseid.startswith("tests"):  # pytest's own (tmp_path_factory, ...)
            continue
        if fixture.scope in ("session", "package") and name not in UNGROUPED:
            keys.add(f"session:{fixture.baseid}:{name}")
        elif fixture.scope in ("module", "class") and \
                f"{fixture.baseid}::{name}" not in REBUILT_PER_WORKER:
            keys.add(f"module:{item.nodeid.split('::')[0]}")
    return keys


def _groups(items: list[pytest.Item]) -> dict[str, str]:
    """nodeid -> group name (the smallest key of its linked set) for tests using a shared
    fixture; tests linked through a key share its group (union-find)."""
    parent: dict[str, str] = {}

    def find(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    used = {item.nodeid: sorted(_shared_keys(item)) for item in items}
    for keys in used.values():
        for k in keys:
            parent.setdefault(k, k)
        for k in keys[1:]:
            a, b = find(keys[0]), find(k)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return {nodeid: find(keys[0]) for nodeid, keys in used.items() if keys}


def pytest_configure(config: pytest.Config) -> None:
    dist = getattr(config.option, "dist", "no")
    if dist not in ("no", "loadgroup"):
        raise pytest.UsageError(
            f"--dist {dist}: run this suite's workers with --dist loadgroup (`make test` does: "
            "pytest -n 2 --dist loadgroup), so that tests sharing a real run or a module "
            "fixture stay on one worker; or run without -n")


_GROUP = pytest.StashKey[str]()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if getattr(config, "workerinput", None) is None:  # not an xdist worker
        return
    groups = _groups(items)
    for item in items:
        if item.nodeid in groups:
            item.stash[_GROUP] = groups[item.nodeid]
            item.add_marker(pytest.mark.xdist_group(groups[item.nodeid]))


@pytest.hookimpl(trylast=True, specname="pytest_collection_modifyitems")
def pytest_collection_modifyitems_group_ids(config: pytest.Config, items: list[pytest.Item]) -> None:
    """xdist 3.8 tells the controller an item's group by appending ``@group`` to its node
    id through ``item._nodeid``; from pytest 9.2 the id is ``item._id`` and that write is
    lost, so every test would be scheduled alone (pytest-dev/pytest-xdist#1386). Append the
    suffix here where xdist's write did not take."""
    for item in items:
        group = item.stash.get(_GROUP, None)
        if group is None or item.nodeid.endswith(f"@{group}"):
            continue
        from _pytest.nodeid import NodeId

        item._id = NodeId.parse(f"{item.nodeid}@{group}")



# --- pytest-xdist: the costliest work first -------------------------------------------------
# xdist's loadgroup scheduler hands out work units (a group, or one ungrouped test) largest
# first by number of tests, then in collection order: a slow test with no group (the Spark
# ``local[1]`` subprocess run, the SIGKILL run, a real run of its own) may start late and
# keep one worker busy while the other has finished. The scheduler below orders the units by
# their expected seconds instead (longest first, the classic LPT rule): the sum of
# COST_HINTS over the unit's tests, DEFAULT_COST for a test without a hint. Only the order
# changes: the same units, the same groups, every test run. A stale or missing hint costs
# balance, never a test.

#: Seconds (setup + call + teardown, the largest of four fresh-clone ``make test`` runs of
#: main, 6-7 Dec 2026, ``--durations=25`` each) of the slowest tests, by node id without
#: the ``@group`` suffix. The setup of a shared run is counted on the test that first needs
#: it in collection order. Refresh from ``make test``'s durations when the slow list changes.
COST_HINTS: dict[str, float] = {
    "tests/engines/test_schema.py::test_spark_local_1_writes_the_schema_into_its_warehouse": 58,
    "tests/report/test_report_real.py::test_no_internal_name_or_raw_float_is_visible[retail_run]": 53,
    "tests/safety/test_faults.py::test_sigkill_at_the_dangerous_points_leaves_one_whole_run": 45,
    "tests/test_readme.py::test_readme_block_runs[block1]": 41,
    "tests/pipeline/test_analyze_parts.py::test_value_columns_cover_every_customer": 40,
    "tests/test_readme.py::test_readme_block_runs[block5]": 39,
    "tests/test_readme.py::test_readme_block_runs[block2]": 36,
    "tests/pipeline/test_analyze_real.py::test_classic_preset_reproduces_the_published_counts": 36,
    "tests/pipeline/test_analyze_real.py::test_cdnow_master_with_no_flags": 35,
    "tests/propensity/test_bad_input.py::test_seeded_fit_is_reproducible": 33,
    "tests/engines/test_parity.py::test_retail_slice_same_on_every_engine[spark]": 32,
    "tests/pipeline/test_pipeline_options.py::test_returns_net_never_gives_negative_spend": 32,
    "tests/engines/test_parity.py::test_cdnow_same_on_every_engine[spark]": 29,
    # not from make test's durations: 138 s here under load 19, the slice above took 84 s
    "tests/engines/test_spark_normalise.py::test_typed_retail_file_normalised_on_spark": 50,
    "tests/cli/test_cli.py::test_cli_output_equals_api_output": 29,
    "tests/propensity/test_fit.py::test_online_retail_learned_model_beats_recency": 28,
    "tests/pipeline/test_analyze_real.py::test_same_seed_same_numbers": 26,
    "tests/propensity/test_fit.py::"
    "test_training_sample_drawn_in_the_engine_stays_close_to_all_rows[4000]": 25,
    "tests/features/test_retail.py::test_spark_matches_duckdb": 22,
    "tests/engines/test_spark_master.py::test_a_silent_master_is_given_up_within_the_start_timeout": 21,
    "tests/engines/test_backend_differences.py::test_money_sums_are_exact_and_order_free[spark]": 20,
    "tests/report/test_report_browser.py::test_report_renders_in_chromium": 18,
    "tests/propensity/test_bad_input.py::test_nan_features_follow_the_stated_policy": 17,
    "tests/test_handoffs.py::test_fit_propensity_same_from_clean_result_one_scan_for_a_table": 17,
    "tests/dashboard/test_dashboard_browser.py::"
    "test_chinese_store_renders_chinese_rules_countries_and_filters": 16,
    "tests/safety/test_store_and_leaks.py::test_every_table_of_a_full_run_is_documented": 15,
    "tests/cli/test_summary_lines.py::test_value_caveats_one_line_each": 15,
    "tests/propensity/test_fit.py::test_cdnow_learned_model_beats_recency_with_btyd_beside": 15,
    "tests/pipeline/test_pipeline_options.py::"
    "test_calibration_holdout_matches_the_published_cdnow_summary": 15,
    "tests/clean/test_clean_online_retail.py::"
    "test_without_products_every_line_is_counted_by_reason": 14,
    "tests/serve/test_auth.py::test_no_token_is_401[GET-/customers/00004]": 14,
    # CPU seconds of the process and its children (the JVM, the browser) per test, from a
    # per-test CPU log of a whole two-worker run of main (eb4dd01) on 7 Dec, machine loaded:
    # the slow tests below the CI list's cut, so that the servers' group (a unit of its own
    # since the Spark tests left it) and the propensity group are weighed by what they cost
    "tests/propensity/test_days.py::"
    "test_day_table_frames_equal_line_frames_on_online_retail": 9,
    "tests/test_readme.py::test_readme_block_runs[block4]": 7,
    "tests/propensity/test_report_section.py::test_section_renders_tables_and_three_plots": 6,
    "tests/engines/test_engine_normalise.py::"
    "test_typed_query_classic_preset_same_as_duckdb[postgres]": 6,
    "tests/engines/test_engine_normalise.py::"
    "test_typed_query_classic_preset_same_as_duckdb[mariadb]": 4,
    "tests/engines/test_parity.py::test_retail_slice_same_on_every_engine[postgres]": 6,
    "tests/engines/test_parity.py::test_retail_slice_same_on_every_engine[mariadb]": 4,
    "tests/engines/test_parity.py::test_cdnow_same_on_every_engine[postgres]": 5,
    "tests/engines/test_engine_normalise.py::test_typed_retail_same_as_duckdb[postgres]": 5,
    "tests/engines/test_engine_normalise.py::test_typed_retail_same_as_duckdb[mariadb]": 4,
    "tests/engines/test_engine_normalise.py::"
    "test_padded_ids_fall_back_with_the_reason[postgres]": 4,
    "tests/engines/test_engine_normalise.py::"
    "test_padded_ids_fall_back_with_the_reason[mariadb]": 4,
    "tests/engines/test_schema.py::test_results_go_into_the_schema[postgres]": 4,
    "tests/engines/test_schema.py::test_results_go_into_the_schema[mariadb]": 4,
    "tests/engines/test_runs.py::test_runs_in_a_duckdb_file_engine": 5,
    "tests/engines/test_runs.py::test_runs_in_a_postgres_schema": 4,
    "tests/serve/test_reload.py::test_new_run_is_served_after_the_writer_closes": 5,
    "tests/propensity/test_no_prices.py::test_no_price_baselines_equal_the_priced_ones": 5,
    "tests/propensity/test_no_prices.py::test_no_price_log_fits_without_spend_features": 4,
    "tests/experiment/test_engines.py::test_spark_matches_duckdb": 4,
}
#: Expected seconds of a test without a hint (the suite's mean outside the hinted tests).
DEFAULT_COST = 0.5


def _base_nodeid(nodeid: str) -> str:
    """``nodeid`` without the ``@group`` suffix xdist's loadgroup appends."""
    return nodeid.rsplit("@", 1)[0] if nodeid.rfind("@") > nodeid.rfind("]") else nodeid


def unit_cost(nodeids: Any) -> float:
    """Expected seconds of a work unit: its tests' hints, ``DEFAULT_COST`` for the others."""
    return sum(COST_HINTS.get(_base_nodeid(n), DEFAULT_COST) for n in nodeids)


def costliest_first(units: dict[str, dict[str, bool]]) -> list[str]:
    """The work units' scopes, by expected seconds, largest first; ties keep their order."""
    return sorted(units, key=lambda scope: -unit_cost(units[scope]))


@pytest.hookimpl(optionalhook=True)  # a hook of xdist: unknown to plain pytest (-p no:xdist)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup`` with the units ordered by :func:`costliest_first`."""
    if getattr(config.option, "dist", "no") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class CostliestFirstScheduling(LoadGroupScheduling):
        def schedule(self) -> None:
            # LoadScopeScheduling.schedule (xdist 3.8) with the work queue in cost order
            assert self.collection_is_completed
            if self.collection is not None:
                for node in self.nodes:
                    self._reschedule(node)
                return
            if not self._check_nodes_have_same_collection():
                self.log("**Different tests collected, aborting run**")
                return
            self.collection = list(next(iter(self.registered_collections.values())))
            if not self.collection:
                return
            units: dict[str, dict[str, bool]] = {}
            for nodeid in self.collection:
                units.setdefault(self._split_scope(nodeid), {})[nodeid] = False
            for scope in costliest_first(units):
                self.workqueue[scope] = units[scope]
            for _ in range(len(self.nodes) - len(self.workqueue)):
                unused_node, _assigned = self.assigned_work.popitem()
                unused_node.shutdown()
            for node in self.nodes:
                self._assign_work_unit(node)
            for node in self.nodes:
                self._reschedule(node)
            if not self.workqueue:
                for node in self.nodes:
                    node.shutdown()

    return CostliestFirstScheduling(config, log)


def _analyze_once(tmp_path_factory: pytest.TempPathFactory, name: str, source: Path,
                  **options: Any) -> Any:
    import valuemax

    out = tmp_path_factory.mktemp(name) / "out"
    return valuemax.analyze(str(source), out=out, **options)


@pytest.fixture(scope="session")
def retail_analysis(datasets: Callable[[str], Path],
                    tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``analyze`` of Online Retail with the default options (preset ``standard``, days,
    seed 0), outputs in ``result.out`` (report, exports, store). Slow: one run a session."""
    return _analyze_once(tmp_path_factory, "retail_standard",
                         datasets("online_retail/online_retail.csv.gz"), random_state=0)


@pytest.fixture(scope="session")
def retail_classic_analysis(datasets: Callable[[str], Path],
                            tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``analyze`` of Online Retail with ``preset="classic"`` (the published rule set),
    seed 0, outputs in ``result.out``. Slow: one run a session."""
    return _analyze_once(tmp_path_factory, "retail_classic",
                         datasets("online_retail/online_retail.csv.gz"), preset="classic",
                         random_state=0)


@pytest.fixture(scope="session")
def cdnow_master_analysis(datasets: Callable[[str], Path],
                          tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``analyze`` of the whole CDNOW log (``CDNOW_master.txt``) with no options but the
    output folder (seed 0, the default), outputs in ``result.out``."""
    return _analyze_once(tmp_path_factory, "cdnow_master",
                         datasets("cdnow/CDNOW_master.txt"), random_state=0)


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """ONE PySpark local-mode session for the whole test session, stopped at the end
    (a folder's conftest may still define its own ``spark``, which then wins there)."""
    pytest.importorskip("pyspark", reason="needs the Spark extra: pip install 'valuemax[spark]'")
    from valuemax.engines import spark_session

    session = spark_session(app_name="valuemax-tests")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


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


def _check_report_in_browser(path: Path, *, screenshot: Path | None = None,
                             timeout_ms: int = 30_000) -> dict[str, Any]:
    """Open ``path`` in headless Debian chromium and fail on any error or unrendered plot.

    Fails (never skips) when /usr/bin/chromium is missing. Checks: no page error, no console
    error, no request other than file:/data:/about: (the page must open offline), every
    ``.plotly-graph-div`` has an ``.main-svg`` and at least one trace with points. Returns
    ``{"n_plots": int, "text": str (the page's visible text)}``; saves a full-page PNG to
    ``screenshot`` when given.
    """
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test` or `bash scripts/install-browser.sh`"
                    " (installs Debian's chromium) before the browser tests")
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    remote: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900},
                                          offline=True)
            page = context.new_page()
            page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
            page.on("console", lambda msg: errors.append(f"console.{msg.type}: {msg.text}")
                    if msg.type == "error" else None)
            page.on("request", lambda req: None if req.url.split(":", 1)[0] in
                    {"file", "data", "about", "blob"} else remote.append(req.url))
            page.goto(Path(path).resolve().as_uri(), wait_until="load", timeout=timeout_ms)
            page.wait_for_function(
                "() => [...document.querySelectorAll('.plotly-graph-div')]"
                ".every(gd => gd.querySelector('.main-svg'))", timeout=timeout_ms)
            plots = page.evaluate("""() => [...document.querySelectorAll('.plotly-graph-div')]
                .map(gd => ({id: gd.id, svg: !!gd.querySelector('.main-svg'),
                  traces: (gd.data || []).length,
                  points: !!gd.data && gd.data.length > 0 && gd.data.some(t =>
                    (t.x && t.x.length) || (t.y && t.y.length) || (t.z && t.z.length)
                    || (t.values && t.values.length))}))""")
            text = page.inner_text("body")
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    bad = [p for p in plots if not (p["svg"] and p["points"])]
    assert not errors, f"browser errors in {path}: {errors}"
    assert not remote, f"{path} made network requests (must open offline): {remote[:5]}"
    assert not bad, f"{len(bad)} of {len(plots)} plots did not render with data: {bad}"
    return {"n_plots": len(plots), "text": text}


@pytest.fixture
def check_report_in_browser() -> Callable[..., dict[str, Any]]:
    """``check_report_in_browser(path, *, screenshot=None)`` -> {"n_plots", "text"}."""
    return _check_report_in_browser


@pytest.fixture
def cli_runner() -> CliRunner:
    """Typer's test runner for the ``valuemax`` app (tests/cli, tests/pipeline)."""
    return CliRunner()
