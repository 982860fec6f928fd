"""Shared fixtures (STYLE.md e): paths to the shared real data, a seeded rng, a small log."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


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
