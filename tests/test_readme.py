"""The README's Python blocks run as written, in order, on the bundled Online Retail log.

Users copy these blocks, so they must run unchanged: each block is executed in one shared
namespace (later blocks use ``path``, ``result`` and ``customers`` from the first one) with
a temporary folder as the working directory, and its results are checked against the
published figures of the log (shared/datasets/README.md).
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path
from typing import Any

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
#: Lines of the bundled log (UCI Online Retail as published) and its customer ids.
ONLINE_RETAIL_LINES = 541_909
ONLINE_RETAIL_CUSTOMER_IDS = 4_372


def python_blocks() -> list[str]:
    """The ```python blocks of the README, in order."""
    return BLOCK.findall(README.read_text(encoding="utf-8"))


def _code_strings(code: str) -> list[str]:
    """String literals of ``code`` (comments excluded)."""
    toks = tokenize.generate_tokens(io.StringIO(code).readline)
    return [t.string for t in toks if t.type == tokenize.STRING]


def test_readme_blocks_compile_and_name_no_placeholder_file():
    blocks = python_blocks()
    assert len(blocks) == 5
    for i, code in enumerate(blocks, 1):
        compile(code, f"README.md python block {i}", "exec")
        # a file the reader does not have ("orders.csv") may appear in a comment only
        assert not [s for s in _code_strings(code) if re.search(r"\.(csv|parquet|xlsx)", s)], i
    assert "online_retail_path()" in blocks[0]


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The namespace shared by the blocks and the folder they run in."""
    return {"ns": {"__name__": "readme"}, "cwd": tmp_path_factory.mktemp("readme")}


def _check_analyze(ns: dict[str, Any], cwd: Path) -> None:
    result, customers = ns["result"], ns["customers"]
    q = result.quality
    assert q.rows_in == ONLINE_RETAIL_LINES
    assert q.rows_in == q.rows_clean + q.rows_quarantined
    assert customers["customer_id"].is_unique
    assert 4_000 < len(customers) <= ONLINE_RETAIL_CUSTOMER_IDS
    clv = customers["clv_12"].to_numpy(dtype=float)
    assert np.isfinite(clv).all() and (clv >= 0).all()
    p = customers["p_alive"].to_numpy(dtype=float)
    assert ((p >= 0) & (p <= 1)).all()
    assert (cwd / "results" / "report.html").is_file()
    assert (cwd / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert len(result.basket.rule_set.rules) > 0


def _check_parts(ns: dict[str, Any], cwd: Path) -> None:
    value, prop = ns["value"], ns["prop"]
    assert str(value.calibration_end) == "2011-09-30"
    assert value.time_unit == "W"
    m = prop.metrics.set_index("model")
    auc = m["roc_auc"].to_numpy(dtype=float)
    assert ((auc >= 0) & (auc <= 1)).all()
    # the chosen model ranks next quarter's buyers better than chance and than recency alone
    chosen = float(m.loc[m["chosen"].astype(bool), "roc_auc"].iloc[0])
    assert chosen > max(0.6, float(m.loc["recency", "roc_auc"]))


def _check_estimator(ns: dict[str, Any], cwd: Path) -> None:
    bg, customers = ns["bg"], ns["customers"]
    est = bg.summary().to_frame()
    assert list(est.index) == ["r", "alpha", "a", "b"]
    assert np.isfinite(est.to_numpy(dtype=float)).all()
    # the expected purchases of the fitted model over 0 weeks are 0, and grow with time
    x, tx, T = customers["frequency"], customers["recency"], customers["T"]
    e4 = np.asarray(bg.expected_purchases(4, x, tx, T), dtype=float)
    e52 = np.asarray(bg.expected_purchases(52, x, tx, T), dtype=float)
    assert np.isfinite(e52).all() and (e52 >= e4).all() and (e4 >= 0).all()


def _check_stages(ns: dict[str, Any], cwd: Path) -> None:
    # the stages run by hand, as written, give analyze's clean log and customers
    q, cleaned = ns["result"].quality, ns["cleaned"]
    assert cleaned.report.rows_clean == q.rows_clean
    assert cleaned.report.rows_in == cleaned.report.rows_clean + cleaned.report.rows_quarantined
    assert sorted(ns["table"]["customer_id"].astype(str)) == sorted(
        ns["customers"]["customer_id"].astype(str))


def _check_datasets(ns: dict[str, Any], cwd: Path) -> None:
    # published values (shared/datasets/README.md): BG/NBD on the CDNOW sample, 39 weeks of
    # calibration, and BG/BB on the donations table, each at the papers' rounding
    bg = ns["value"].comparison.models["BG/NBD"].params_
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, want in published.items():
        assert bg[name] == pytest.approx(want, abs=6e-4), name
    bgbb = ns["bgbb"].params_
    for name, want in {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}.items():
        assert bgbb[name] == pytest.approx(want, abs=6e-4), name
    q = ns["result"].quality
    assert q.rows_in == 69_659 and q.rows_in == q.rows_clean + q.rows_quarantined
    assert (cwd / "cdnow-results" / "report.html").is_file()


CHECKS = (_check_analyze, _check_parts, _check_estimator, _check_stages, _check_datasets)


@pytest.mark.slow
@pytest.mark.parametrize("i", [pytest.param(i, id=f"block{i + 1}") for i in range(5)])
def test_readme_block_runs(i, readme_run, monkeypatch):
    blocks = python_blocks()
    ns, cwd = readme_run["ns"], readme_run["cwd"]
    monkeypatch.chdir(cwd)
    exec(compile(blocks[i], f"README.md python block {i + 1}", "exec"), ns)
    CHECKS[i](ns, cwd)
