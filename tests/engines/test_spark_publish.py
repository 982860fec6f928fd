"""Spark's publication of a run's result tables (:func:`publish_results`): the old set parked,
the new one renamed into place; a rename that fails puts everything back."""

from __future__ import annotations

import pytest

from valuemax.pipeline._engine import open_engine, write_engine_table
from valuemax.pipeline._engine_tables import RunTables, publish_results

pytestmark = [pytest.mark.spark, pytest.mark.filterwarnings(
    "ignore:The 'future.infer_string' option is deprecated",
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning")]

NAMES = ("transactions_clean", "quarantine", "customers")


def _write_set(econ, tables: RunTables | None, value: int) -> None:
    """One row ``(v = value)`` in each of NAMES: the run's working tables, or (None) the
    published ``valuemax_*`` ones."""
    import pyarrow as pa

    for name in NAMES:
        target = RunTables.result(name) if tables is None else tables.work(name)
        write_engine_table(econ, target, pa.table({"v": pa.array([value], pa.int64())}))


def _published(econ) -> dict[str, int | None]:
    listed = set(econ.list_tables())
    return {n: (econ.table(RunTables.result(n)).to_pyarrow().column("v").to_pylist()[0]
                if RunTables.result(n) in listed else None) for n in NAMES}


def _cleanup(spark, *runs: RunTables) -> None:
    for name in NAMES:
        spark.catalog.dropTempView(RunTables.result(name))
        for run in runs:
            spark.catalog.dropTempView(run.work(name))
            spark.catalog.dropTempView(f"valuemax_old_{run.tag}_{name}")


def test_a_failed_rename_leaves_the_previous_results(spark, monkeypatch):
    """Run A published (v = 1 everywhere); run B's publication fails at its second rename
    into place: the renames done are undone in reverse order, every ``valuemax_*`` view
    holds A's row again, B's working views are still B's, no parked view is left; B publishing again then succeeds (v = 2 everywhere, the
    parked A views dropped)."""
    from valuemax.pipeline import _engine_tables

    econ = open_engine(spark)[0]
    first, second = RunTables.new(), RunTables.new()
    try:
        _write_set(econ, first, 1)
        publish_results(econ, first, None)
        assert _published(econ) == dict.fromkeys(NAMES, 1)
        _write_set(econ, second, 2)
        rename, calls = _engine_tables._spark_rename, []

        def failing(econ_, old, new, schema):
            calls.append((old, new))
            if old == second.work("quarantine"):  # the second move into place
                raise RuntimeError("the metastore went away")
            rename(econ_, old, new, schema)

        monkeypatch.setattr(_engine_tables, "_spark_rename", failing)
        with pytest.raises(RuntimeError, match="metastore"):
            publish_results(econ, second, None)
        # three parked, one moved in, then the failure: four renames undone
        assert len(calls) == 5 + 4
        # parked under names no clean-up of a run drops, then put back in reverse order
        assert {new for _, new in calls[:3]} == {f"valuemax_old_{second.tag}_{n}"
                                                 for n in NAMES}
        assert calls[5:] == [(new, old) for old, new in reversed(calls[:4])]
        assert _published(econ) == dict.fromkeys(NAMES, 1)
        listed = set(econ.list_tables())
        assert {second.work(n) for n in NAMES} <= listed
        assert not any(n.startswith("valuemax_old_") for n in listed)
        assert econ.table(second.work("transactions_clean")).to_pyarrow() \
            .column("v").to_pylist() == [2]
        monkeypatch.setattr(_engine_tables, "_spark_rename", rename)
        publish_results(econ, second, None)
        assert _published(econ) == dict.fromkeys(NAMES, 2)
        assert not any(n.startswith((second.prefix, "valuemax_old_"))
                       for n in econ.list_tables())
    finally:
        _cleanup(spark, first, second)
