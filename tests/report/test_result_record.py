"""``AnalysisResult``, the record the report renders: frozen, fully typed, with the status of
every optional stage (ran, skipped with the reason, failed with the exception type)."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import valuemax
from valuemax.basket import BasketResult
from valuemax.clean import QualityReport
from valuemax.pipeline import AnalysisResult, StageStatus, ValueResult, _analyze
from valuemax.propensity import PropensityResult
from valuemax.segment import ClusterResult, HierarchicalResult, RFMScores
from valuemax.stats import ValueDrivers


def _leaves(hint: object) -> list[object]:
    """Every type named inside a type hint (``Mapping[str, X] | None`` -> Mapping, str, X,
    NoneType)."""
    args = typing.get_args(hint)
    origin = typing.get_origin(hint)
    if not args:
        return [hint]
    return [origin, *(leaf for a in args for leaf in _leaves(a))]


@pytest.mark.parametrize("record", [AnalysisResult, StageStatus, ValueResult])
def test_the_result_types_hold_no_any(record):
    hints = typing.get_type_hints(record)
    assert set(hints) == {f.name for f in dataclasses.fields(record)}
    for name, hint in hints.items():
        assert typing.Any not in _leaves(hint), f"{record.__name__}.{name}: {hint}"


def test_each_stage_field_is_typed_by_its_stage_result():
    hints = typing.get_type_hints(AnalysisResult)
    assert hints["quality"] is QualityReport and hints["customers"] is pd.DataFrame
    expected = {"rfm": RFMScores, "clusters": ClusterResult, "hierarchy": HierarchicalResult,
                "value": ValueResult, "stats": ValueDrivers, "propensity": PropensityResult,
                "basket": BasketResult}
    for name, kind in expected.items():
        assert hints[name] == kind | None, name
    assert typing.get_args(hints["stages"]) == (str, StageStatus)
    assert dataclasses.fields(AnalysisResult)  # a dataclass
    assert AnalysisResult.__dataclass_params__.frozen
    assert StageStatus.__dataclass_params__.frozen


def test_the_result_is_frozen_and_replace_keeps_the_unit(small_run):
    with pytest.raises(dataclasses.FrozenInstanceError):
        small_run.value = None  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        small_run.summary = {}  # type: ignore[misc]
    assert small_run.customers.attrs["time_unit"] == small_run.time_unit == "W"
    other = dataclasses.replace(small_run, customers=small_run.customers.copy())
    assert other.customers.attrs["time_unit"] == "W"
    # every optional stage ran on this log, and the status says so
    assert set(small_run.stages) == {"kmeans", "ward", "value", "stats", "propensity",
                                     "basket"}
    assert all(s.ran and s.reason is None for s in small_run.stages.values())
    assert dict(small_run.skipped) == {} and dict(small_run.tracebacks) == {}


@pytest.fixture(scope="module")
def tiny_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six customers, none buying twice on different days and no product names beyond
    codes: too few to cluster (20), too few repeat buyers for the purchase models."""
    lines = [f"{1000 + c * 10 + k},P{k},{1 + c % 3},2011-0{1 + k}-{1 + c:02d} 10:00:00,"
             f"{2.5 + c},{200 + c}\n" for c in range(6) for k in range(1 + c % 3)]
    src = tmp_path_factory.mktemp("tiny") / "log.csv"
    src.write_text("InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID\n"
                   + "".join(lines), encoding="utf-8")
    return src


def test_stages_of_a_tiny_log_are_skipped_or_failed_with_their_reason(tiny_log, monkeypatch):
    def singular(*_args, **_kwargs):
        raise np.linalg.LinAlgError("Singular matrix")

    monkeypatch.setattr(_analyze, "run_stats", singular)
    result = valuemax.analyze(str(tiny_log), out=None, random_state=0, clusters="kmeans+ward")
    st = result.stages
    assert len(result.customers) == 6
    # K-means needs 20 customers; Ward runs beside it, so neither ran
    assert st["kmeans"].status == "skipped" and "only 6 customers" in st["kmeans"].reason
    assert st["ward"] == StageStatus("skipped", "K-means did not run, and Ward runs beside it")
    assert result.clusters is None and result.hierarchy is None
    assert st["stats"] == StageStatus("failed", "LinAlgError: Singular matrix", "LinAlgError")
    assert "Traceback" in result.tracebacks["stats"] and result.stats is None
    # the stage status and the skipped/tracebacks of summary.json tell the same story
    # (Ward, never started, has a status but no entry in skipped: summary.json unchanged)
    assert "ward" not in result.skipped
    for name, status in st.items():
        assert status.ran == (name not in result.skipped) or name == "ward", name
        assert (status.status == "failed") == (name in result.tracebacks), name
        if not status.ran and name in result.skipped:
            assert status.reason == result.skipped[name]
    for name, field in (("value", "value"), ("propensity", "propensity"),
                        ("basket", "basket")):
        assert st[name].ran == (getattr(result, field) is not None), name
    # the report says why, from the stage status
    html = result.to_html(tiny_log.parent / "report.html").read_text(encoding="utf-8")
    assert "Clustering was skipped: only 6 customers" in html
    assert "Ward clustering was not run: K-means did not run" in html
    assert "The statistics did not run" in html


def test_a_stage_status_is_read_from_what_the_run_recorded():
    skipped = {"value": "only 3 repeat buyers", "stats": "ValueError: Input contains NaN"}
    tracebacks = {"stats": "Traceback (most recent call last): ..."}
    kw = {"skipped": skipped, "tracebacks": tracebacks}
    assert StageStatus.from_run("value", ran=False, **kw) == StageStatus(
        "skipped", "only 3 repeat buyers")
    assert StageStatus.from_run("stats", ran=False, **kw) == StageStatus(
        "failed", "ValueError: Input contains NaN", "ValueError")
    assert StageStatus.from_run("basket", ran=True, **kw) == StageStatus("ran")
    assert StageStatus.from_run("ward", ran=False, otherwise="why", **kw) == StageStatus(
        "skipped", "why")
