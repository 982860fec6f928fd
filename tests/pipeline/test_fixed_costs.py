"""The main job's fixed costs (issue 12, Online Retail end to end): what ``analyze`` does to
the garbage collector, and which heavy libraries it imports only when a step needs them.

No timing here (benchmarks/bench_analyze.py and docs/performance.md hold the figures): the
tests check the mechanisms and that they leave the caller's process as they found it.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref

import pandas as pd
import pytest

from valuemax.pipeline._clock import StepClock


def _tiny_log() -> pd.DataFrame:
    """12 customers, two purchases each, 60 days apart: enough for the customer table."""
    rows = []
    for c in range(12):
        for k, day in enumerate((f"2024-01-{1 + c:02d}", f"2024-03-{1 + c:02d}")):
            rows.append({"customer_id": f"c{c}", "order_id": f"o{c}-{k}", "order_ts": day,
                         "quantity": 1 + k, "unit_price": 2.5 + c, "product_id": f"p{c % 3}"})
    return pd.DataFrame(rows)


@pytest.fixture
def unfrozen():
    """A process with no frozen objects, restored so after the test whatever it did."""
    if gc.get_freeze_count():
        pytest.skip("this process froze objects before the test")
    yield
    gc.unfreeze()


class _Cycle:
    """An object in a reference cycle: only the cyclic garbage collector can free it."""

    def __init__(self) -> None:
        self.me = self


def test_a_clock_with_freeze_gc_freezes_at_each_step_and_releases(unfrozen):
    clock = StepClock({}, None, freeze_gc=True)
    with clock("one"):
        during = gc.get_freeze_count()
        dead = _Cycle()  # garbage before the next step: collected at its start
        dead_ref = weakref.ref(dead)
        del dead
        alive = _Cycle()  # alive at the next step's start: frozen with it
        alive_ref = weakref.ref(alive)
    with clock("two"):
        freed_at_start = dead_ref() is None
        del alive
        gc.collect()  # frozen: a collection leaves it
        kept = alive_ref() is not None
    clock.release_gc()
    assert during > 0
    assert freed_at_start
    assert kept
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert alive_ref() is None  # released: collected like any cycle
    clock.release_gc()  # idempotent
    assert gc.get_freeze_count() == 0


def test_a_clock_without_freeze_gc_freezes_nothing(unfrozen):
    clock = StepClock({}, None)
    with clock("one"):
        assert gc.get_freeze_count() == 0
    clock.release_gc()
    assert gc.get_freeze_count() == 0


def test_a_clock_leaves_a_callers_frozen_objects_alone(unfrozen):
    gc.freeze()
    before = gc.get_freeze_count()
    assert before > 0
    clock = StepClock({}, None, freeze_gc=True)
    made = [[] for _ in range(1000)]  # lists: tracked by the collector (object() is not)
    # a frozen object may still die by reference count (the permanent generation then
    # shrinks: another test's leftovers on this worker), so the count may fall, never grow
    with clock("one"):
        during = gc.get_freeze_count()
    clock.release_gc()
    assert 0 < during <= before  # nothing of ours frozen (made would add 1,000)
    assert 0 < gc.get_freeze_count() <= during  # the caller's still frozen
    del made


def test_analyze_freezes_during_its_steps_and_unfreezes_after(unfrozen):
    import valuemax

    # on_step runs at a step's start, before its freeze: the count read there is the
    # earlier steps' freeze (none before the first step)
    counts: list[int] = []
    result = valuemax.analyze(_tiny_log(), random_state=0, clusters="none", clv=False,
                              propensity=False,
                              on_step=lambda _: counts.append(gc.get_freeze_count()))
    assert len(result.customers) == 12
    assert counts[0] == 0 and all(c > 0 for c in counts[1:])
    assert gc.get_freeze_count() == 0


def test_analyze_unfreezes_when_it_fails(unfrozen):
    import valuemax
    from valuemax.exceptions import InputError

    bad = _tiny_log().assign(order_ts="not a date")
    with pytest.raises(InputError):
        valuemax.analyze(bad, random_state=0, clusters="none", clv=False, propensity=False)
    assert gc.get_freeze_count() == 0


def test_importing_valuemax_and_its_pipeline_imports_no_plotting_or_models():
    """``import valuemax`` and the main job's module load none of plotly, scikit-learn or
    statsmodels: the steps that use them import them (a fresh interpreter, so the test
    process's own imports do not count)."""
    code = ("import sys, valuemax, valuemax.pipeline, valuemax.report; "
            "print(sorted(m for m in ('plotly', 'sklearn', 'statsmodels') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_analyze_drops_cleans_labelled_lines_once_counted(monkeypatch):
    """Clean's labelled lines (a temporary table as large as the log) are gone when the
    customer step starts, and the run's results are those of clean() on the same log."""
    import valuemax
    import valuemax.pipeline._analyze as pipeline
    from valuemax.clean import clean
    from valuemax.io import read_transactions

    cons: list = []
    connect = pipeline.connect

    def keep(*args, **kwargs):
        backend = connect(*args, **kwargs)
        cons.append(backend)
        return backend

    monkeypatch.setattr(pipeline, "connect", keep)
    temp: dict[str, list[str]] = {}

    def on_step(step: str) -> None:
        if step in ("clean", "customers"):
            temp[step] = [r[0] for r in cons[0].con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()]

    log = _tiny_log()
    log.loc[3, "quantity"] = -1  # a return: a quarantined line, so the counts bite
    result = valuemax.analyze(log, random_state=0, clusters="none", clv=False,
                              propensity=False, on_step=on_step)
    assert not any(n.startswith("_vm_labelled_") for n in temp["customers"])
    assert temp["clean"] == []
    ref = clean(read_transactions(log), returns="net")
    assert result.quality.rows_quarantined == ref.report.rows_quarantined > 0
    assert result.quality.rows_clean == ref.report.rows_clean
    ref_ids = ref.transactions.select("customer_id").distinct().to_pyarrow()
    assert sorted(result.customers["customer_id"]) == sorted(ref_ids.column(0).to_pylist())
