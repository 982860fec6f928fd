"""Fixtures of the dashboard tests: real stores from ``analyze``, real uvicorn servers on free
loopback ports, and Debian's chromium driven by Playwright (launched as tests/conftest.py's
``_check_report_in_browser`` does: /usr/bin/chromium, no download, offline context)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ._chinese_log import tea_shop

CDNOW_COLUMNS = ["customer_id", "customer_index", "date", "number_of_cds", "dollar_value"]


@pytest.fixture(scope="session")
def cdnow_store(datasets, tmp_path_factory) -> Path:
    """The store of a real ``analyze`` run on the CDNOW 1/10 sample (2,357 customers)."""
    import valuemax

    folder = tmp_path_factory.mktemp("cdnow_store")
    db = folder / "cdnow.duckdb"
    valuemax.analyze(datasets("cdnow/CDNOW_sample.txt"), out=folder / "out", db=db,
                     columns=CDNOW_COLUMNS, random_state=0)
    return db


@pytest.fixture(scope="session")
def tea_store(tmp_path_factory) -> tuple[Path, Any]:
    """The store of ``analyze`` on the small Chinese tea shop (GBK, Chinese headers) and the
    log's rows. BG/NBD is named so the run skips the slow Pareto/NBD fit of ``auto``."""
    import valuemax

    folder = tmp_path_factory.mktemp("tea_store")
    log = folder / "茶叶店订单.csv"
    frame = tea_shop(log)
    db = folder / "tea.duckdb"
    valuemax.analyze(log, out=folder / "out", db=db, random_state=0, clv_model="bgnbd")
    return db, frame


@pytest.fixture(scope="session")
def tea_noprice_store(tmp_path_factory) -> tuple[Path, Any]:
    """The tea shop without its price column: ``analyze`` runs without spend or CLV."""
    import valuemax

    folder = tmp_path_factory.mktemp("tea_noprice_store")
    log = folder / "无价格订单.csv"
    frame = tea_shop(log, n_members=60, prices=False)
    db = folder / "noprice.duckdb"
    valuemax.analyze(log, out=folder / "out", db=db, random_state=0, clv_model="bgnbd")
    return db, frame


@contextlib.contextmanager
def live_server(db: Path, *, token: str | None = None) -> Iterator[str]:
    """A real uvicorn server of the dashboard of ``db`` on a free loopback port (a thread)."""
    import uvicorn

    from valuemax.dashboard import create_app

    app = create_app(db, token=token)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the dashboard server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.fixture(scope="session")
def cdnow_url(cdnow_store) -> Iterator[str]:
    with live_server(cdnow_store) as url:
        yield url


@pytest.fixture(scope="session")
def tea_url(tea_store) -> Iterator[str]:
    with live_server(tea_store[0]) as url:
        yield url


def _root_conftest(config: pytest.Config) -> Any:
    """tests/conftest.py as loaded by pytest (its CHROMIUM path and CHROMIUM_ARGS)."""
    for plugin in config.pluginmanager.get_plugins():
        if hasattr(plugin, "CHROMIUM_ARGS") and hasattr(plugin, "CHROMIUM"):
            return plugin
    raise RuntimeError("tests/conftest.py (CHROMIUM, CHROMIUM_ARGS) is not loaded")


@pytest.fixture(scope="module")
def browser(pytestconfig: pytest.Config) -> Iterator[Any]:
    """Debian's chromium, headless, through Playwright (fails when it is missing)."""
    root = _root_conftest(pytestconfig)
    if not root.CHROMIUM.exists():
        pytest.fail(f"{root.CHROMIUM} is missing: run `make test` or "
                    "`bash scripts/install-browser.sh` (installs Debian's chromium) before "
                    "the browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(root.CHROMIUM), args=root.CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class Visit:
    """A browser tab on the dashboard that records every problem a page causes.

    Problems: a page error, a console error, a failed request, an HTTP status >= 400 that
    the test did not expect, a request to any host but the dashboard's (it must work
    offline), and a Plotly div without data traces holding points.
    """

    def __init__(self, browser: Any, base: str, shots: Path):
        self.base, self.shots = base, shots
        self.context = browser.new_context(viewport={"width": 1400, "height": 900},
                                           accept_downloads=True)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.expect_status: set[int] = set()
        self.page.on("pageerror", lambda exc: self.problems.append(f"pageerror: {exc}"))
        self.page.on("console", lambda msg: self.problems.append(
            f"console.{msg.type}: {msg.text}") if msg.type == "error" else None)
        self.page.on("requestfailed", lambda req: self.problems.append(
            f"failed request {req.url}: {req.failure}"))
        self.page.on("request", lambda req: None if req.url.startswith(base)
                     or req.url.split(":", 1)[0] in {"data", "about", "blob"}
                     else self.problems.append(f"request outside the dashboard: {req.url}"))
        self.page.on("response", lambda r: self.problems.append(
            f"HTTP {r.status} for {r.url}") if r.status >= 400
            and r.status not in self.expect_status else None)

    def open(self, path: str, shot: str | None = None, status: int = 200) -> dict[str, Any]:
        """Go to ``path``; wait for every plot; check it; save a full-page screenshot."""
        self.expect_status = {status} if status >= 400 else set()
        response = self.page.goto(self.base + path, wait_until="load")
        assert response is not None and response.status == status, (path, response.status)
        if status >= 400:  # chromium logs the page's own expected status once: not a problem
            own = [p for p in self.problems if p.startswith(
                f"console.error: Failed to load resource: the server responded with a status "
                f"of {status} ")]
            if len(own) == 1:
                self.problems.remove(own[0])
        return self.settle(shot or path)

    def settle(self, shot: str) -> dict[str, Any]:
        """Check the page now shown (after a navigation the test triggered)."""
        self.page.wait_for_load_state("load")
        self.page.wait_for_function(
            "() => [...document.querySelectorAll('.plotly-graph-div')]"
            ".every(gd => gd.querySelector('.main-svg'))", timeout=30_000)
        plots = self.page.evaluate("""() => [...document.querySelectorAll('.plotly-graph-div')]
            .map(gd => ({id: gd.id, traces: (gd.data || []).length,
              points: !!gd.data && gd.data.length > 0 && gd.data.every(t =>
                ((t.x && t.x.length) || (t.y && t.y.length) || (t.values && t.values.length))
                && (t.type !== 'bar' || (t.y || []).some(v => v > 0)))}))""")
        name = "".join(c if c.isalnum() else "_" for c in shot).strip("_") or "overview"
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)
        empty = [p for p in plots if not p["points"]]
        assert not empty, f"plots without data on {self.page.url}: {empty}"
        assert not self.problems, f"problems on {self.page.url}: {self.problems}"
        return {"plots": plots, "text": self.page.inner_text("body")}

    def kpis(self) -> dict[str, tuple[float | None, str]]:
        """``{kpi: (data-value, shown text)}`` of the tiles on the page."""
        tiles = self.page.evaluate("""() => [...document.querySelectorAll('[data-kpi]')]
            .map(t => [t.dataset.kpi, t.querySelector('.value').dataset.value,
                       t.querySelector('.value').innerText])""")
        return {k: (float(v) if v else None, text) for k, v, text in tiles}

    def column(self, table_id: str, col: str) -> list[str]:
        """The shown text of column ``col`` of table ``table_id``, row by row."""
        return self.page.eval_on_selector_all(
            f"#{table_id} tbody td[data-col='{col}']", "tds => tds.map(td => td.innerText)")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser, tmp_path) -> Iterator[Any]:
    """``visit(base_url)`` -> a :class:`Visit` whose screenshots go to the test's tmp_path."""
    opened: list[Visit] = []

    def make(base: str) -> Visit:
        v = Visit(browser, base, tmp_path)
        opened.append(v)
        return v

    yield make
    for v in opened:
        v.close()
