"""The dashboard's FastAPI application and its uvicorn server (extra ``serve``).

FastAPI and uvicorn are imported when an app is built, never on ``import valuemax`` or
``import valuemax.cli``; without them the error names ``pip install 'valuemax[serve]'``.
"""

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from valuemax._core._net import bind_listening
from valuemax._core.exceptions import InputError
from valuemax.dashboard import _auth, _pages
from valuemax.dashboard._html import page
from valuemax.dashboard._store import Filters, StoreBusyError, StoreView

#: Default port of ``valuemax dashboard``.
DEFAULT_PORT = 8050
#: Largest request body accepted (only the login form has one), in bytes.
MAX_BODY = 4096
_SERVE_HINT = "install the dashboard's extra: pip install 'valuemax[serve]'"
#: No script but this server's own files, no connection elsewhere, no framing.
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
_HEADERS = {"Content-Security-Policy": _CSP, "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
            "Cache-Control": "no-store"}


def _require_fastapi() -> Any:
    try:
        import fastapi
        import uvicorn  # noqa: F401  (checked here: serve() needs it)
    except ImportError as exc:
        raise InputError(f"the dashboard needs FastAPI and uvicorn: {_SERVE_HINT}") from exc
    return fastapi


def _plotly_js() -> bytes:
    import plotly.offline  # noqa: TID251 -- the dashboard serves plotly.js itself (offline)

    return plotly.offline.get_plotlyjs().encode("utf-8")


def _login_form(message: str = "", next_path: str = "/") -> str:
    from valuemax.dashboard._html import esc

    warn = f'<div class="error">{esc(message)}</div>' if message else ""
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            '<link rel="icon" href="data:,"><title>Sign in · valuemax dashboard</title>'
            '</head><body><h1>valuemax dashboard</h1>'
            f'{warn}<form method="post" action="/login"><label>Token <input type="password" '
            'name="token" autocomplete="current-password" autofocus></label>'
            f'<input type="hidden" name="next" value="{esc(next_path)}"> '
            '<button type="submit">Sign in</button></form></body></html>')


def _safe_next(path: str | None) -> str:
    if not path or not path.startswith("/") or path.startswith(("//", "/\\")):
        return "/"
    return path


def create_app(db: str | Path, *, token: str | None = None) -> Any:
    """The dashboard of store ``db`` as a FastAPI application.

    Parameters
    ----------
    db : str or pathlib.Path
        Store written by ``valuemax analyze --db`` (opened read-only for each request).
    token : str, optional
        Require this token (``Authorization: Bearer`` or the ``/login`` cookie) on every
        request; at least 16 characters. Without one, only loopback ``Host`` names are
        answered.

    Returns
    -------
    fastapi.FastAPI
        Pages ``/``, ``/at-risk``, ``/customer?id=``, ``/rules``, ``/experiments``; CSV
        exports ``/export/at-risk.csv`` and ``/export/targets.csv``; ``/healthz``; plotly.js
        under ``/static/``.

    Raises
    ------
    InputError
        If FastAPI is missing (with the ``pip install`` fix), ``db`` is not a valuemax
        store, or ``token`` is too short.
    """
    fastapi = _require_fastapi()
    if token is not None:
        token = _auth.check_token(token, "token=")
    site = _Site(StoreView(db), Path(db).name, token)
    app = fastapi.FastAPI(title="valuemax dashboard", docs_url=None, redoc_url=None,
                          openapi_url=None)
    app.middleware("http")(site.guard)
    _add_pages(app, site)
    _add_exports(app, site)
    _add_files(app, site)
    _add_login(app, site)
    return app


class _Site:
    """What every route of one dashboard shares: the store view, its file name, the token
    (None: loopback only) and the answers common to the routes (refusals, error pages,
    rendered pages, CSV downloads)."""

    def __init__(self, view: StoreView, store_name: str, token: str | None) -> None:
        self.view = view
        self.store_name = store_name
        self.token = token
        self.cache: dict[str, bytes] = {}

    async def guard(self, request: Any, call_next: Callable[..., Any]) -> Any:
        """Middleware: refuse (see :meth:`refuse`) or answer with the security headers
        (static files keep their own cache header)."""
        refused = self.refuse(request)
        if refused is not None:
            return refused
        response = await call_next(request)
        for k, v in _HEADERS.items():
            if k == "Cache-Control" and request.url.path.startswith("/static/"):
                continue
            response.headers.setdefault(k, v)
        return response

    def refuse(self, request: Any) -> Any:
        """The refusal of a request, or None: a credential in the URL; without a token a
        Host name beyond loopback; with one, a request neither signed in nor bearing it
        (HTML pages are sent to the login form)."""
        from fastapi.responses import RedirectResponse

        bad = sorted(_auth.TOKEN_PARAMS & {k.lower() for k in request.query_params})
        if bad:
            return _plain(400, f"a credential in the URL ({', '.join(bad)}=...) is refused: "
                              "URLs end up in logs and browser history. Send "
                              "'Authorization: Bearer <token>' or sign in at /login")
        if self.token is None:
            host = _auth.host_name(request.headers.get("host", ""))
            if not _auth.is_loopback(host):
                return _plain(400, f"Host {host!r} refused: without a token the dashboard "
                                  "answers only loopback names (localhost, 127.0.0.1, ::1)")
            return None
        if request.url.path == "/login":
            return None
        if _auth.authorized(self.token, request.headers.get("authorization"),
                            request.cookies.get(_auth.COOKIE)):
            return None
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            from urllib.parse import urlencode

            return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
        return _plain(401, "a token is required: send 'Authorization: Bearer <token>' or "
                          "sign in at /login", {"WWW-Authenticate": "Bearer"})

    def render(self, current: str, build: Callable[[Any], tuple], search: str = "",
               nav: Filters | None = None) -> Any:
        """Page ``current`` built by ``build(session)`` (title, body[, status]); a busy
        store is a 503 page, bad input (an unknown filter value, customer) a 400 page."""
        from fastapi.responses import HTMLResponse

        try:
            with self.view.session() as s:
                if nav is not None:
                    s.check(nav)
                out = build(s)
                title, body = out[0], out[1]
                status = out[2] if len(out) > 2 else 200
                ctx = _pages.context(s)
        except StoreBusyError as exc:
            return self.error_page(503, str(exc), current)
        except InputError as exc:
            return self.error_page(400, str(exc), current)
        return HTMLResponse(page(title=title, current=current, body=body,
                                 store=self.store_name, nav_query=(nav or Filters()).query(),
                                 search=search, **ctx),
                            status_code=status)

    def error_page(self, status: int, message: str, current: str) -> Any:
        """The page saying why ``current`` cannot be shown."""
        from fastapi.responses import HTMLResponse

        html = page(title="Cannot show this page", current=current,
                    body=_pages.error_body(message), store=self.store_name, run={},
                    nav_query={}, show_experiments=False)
        return HTMLResponse(html, status_code=status)

    def csv(self, name: str, frame_of: Callable[[Any, Filters], Any], f: Filters) -> Any:
        """``frame_of(session, f)`` as a UTF-8 CSV download (with a BOM for Excel) named
        after ``name`` and the filters; plain-text 503/400/404 when it cannot be made."""
        from urllib.parse import quote

        from fastapi.responses import Response

        from valuemax._core._csv import csv_text

        try:
            with self.view.session() as s:
                s.check(f)
                frame = frame_of(s, f)
        except StoreBusyError as exc:
            return _plain(503, str(exc))
        except InputError as exc:
            return _plain(400, str(exc))
        if frame is None:
            return _plain(404, f"this store has no data for {name}")
        suffix = "".join(f"_{v}" for v in f.query().values())
        filename = f"{name}{suffix}.csv"
        return Response(
            ("\ufeff" + csv_text(frame)).encode("utf-8"), media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f"attachment; filename=\"{name}.csv\"; "
                                            f"filename*=UTF-8''{quote(filename)}"})


def _plain(status: int, text: str, headers: dict[str, str] | None = None) -> Any:
    """A plain-text answer with the security headers."""
    from fastapi.responses import Response

    return Response(text + "\n", status_code=status, media_type="text/plain",
                    headers={**_HEADERS, **(headers or {})})


def _filters(segment: str | None, country: str | None) -> Filters:
    return Filters(segment=segment or None, country=country or None)


def _add_pages(app: Any, site: _Site) -> None:
    """The HTML pages: overview, at risk, one customer, rules, experiments."""
    from fastapi.responses import HTMLResponse

    @app.get("/", response_class=HTMLResponse)
    def overview(segment: str | None = None, country: str | None = None) -> Any:
        f = _filters(segment, country)
        return site.render("/", lambda s: _pages.overview(s, f), nav=f)

    @app.get("/at-risk", response_class=HTMLResponse)
    def at_risk(segment: str | None = None, country: str | None = None) -> Any:
        f = _filters(segment, country)
        return site.render("/at-risk", lambda s: _pages.at_risk(s, f), nav=f)

    @app.get("/customer", response_class=HTMLResponse)
    def customer(id: str | None = None) -> Any:
        cid = (id or "").strip() or None
        return site.render("/customer", lambda s: _pages.customer(s, cid), search=cid or "")

    @app.get("/rules", response_class=HTMLResponse)
    def rules() -> Any:
        return site.render("/rules", _pages.rules)

    @app.get("/experiments", response_class=HTMLResponse)
    def experiments(segment: str | None = None, country: str | None = None) -> Any:
        f = _filters(segment, country)
        return site.render("/experiments", lambda s: _pages.experiments(s, f), nav=f)


def _add_exports(app: Any, site: _Site) -> None:
    """The CSV downloads of the at-risk list and the targets, with the page's filters."""

    @app.get("/export/at-risk.csv")
    def export_at_risk(segment: str | None = None, country: str | None = None) -> Any:
        return site.csv("high_value_at_risk", _pages.at_risk_csv, _filters(segment, country))

    @app.get("/export/targets.csv")
    def export_targets(segment: str | None = None, country: str | None = None) -> Any:
        return site.csv("targets", _pages.targets_csv, _filters(segment, country))


def _add_files(app: Any, site: _Site) -> None:
    """``/healthz`` and the two scripts the pages load (served from the package: offline)."""
    from fastapi.responses import JSONResponse, Response

    @app.get("/healthz")
    def healthz() -> Any:
        try:
            with site.view.session() as s:
                n = s.count("customers")
        except StoreBusyError as exc:
            return JSONResponse({"status": "busy", "detail": str(exc)}, status_code=503)
        return {"status": "ok", "store": site.store_name, "customers": n}

    @app.get("/static/plotly.min.js")
    def plotly_js() -> Any:
        if "plotly" not in site.cache:
            site.cache["plotly"] = _plotly_js()
        return Response(site.cache["plotly"], media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "private, max-age=3600"})

    @app.get("/static/dashboard.js")
    def dashboard_js() -> Any:
        if "js" not in site.cache:
            site.cache["js"] = (resources.files("valuemax.dashboard") / "static" /
                                "dashboard.js").read_bytes()
        return Response(site.cache["js"], media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "private, max-age=3600"})


def _add_login(app: Any, site: _Site) -> None:
    """The login form and its post (a session cookie); without a token both go to ``/``."""
    from fastapi import Request
    from fastapi.responses import HTMLResponse, RedirectResponse

    token = site.token

    @app.get("/login", response_class=HTMLResponse)
    def login_page(next: str | None = None) -> Any:
        if token is None:
            return RedirectResponse("/", status_code=303)
        return HTMLResponse(_login_form(next_path=_safe_next(next)))

    @app.post("/login")
    async def login(request: Request) -> Any:  # annotation evaluated now (no
        # ``from __future__ import annotations`` here): FastAPI must see the class
        if token is None:
            return RedirectResponse("/", status_code=303)
        if int(request.headers.get("content-length") or 0) > MAX_BODY:
            return _plain(413, f"the login form is larger than {MAX_BODY} bytes")
        body = await request.body()
        if len(body) > MAX_BODY:
            return _plain(413, f"the login form is larger than {MAX_BODY} bytes")
        form = parse_qs(body.decode("utf-8", "replace"))
        given = (form.get("token") or [""])[0].strip()
        next_path = _safe_next((form.get("next") or ["/"])[0])
        if not _auth.authorized(token, f"Bearer {given}", None):
            return HTMLResponse(_login_form("Wrong token.", next_path), status_code=401)
        response = RedirectResponse(next_path, status_code=303)
        response.set_cookie(_auth.COOKIE, _auth.session_value(token), httponly=True,
                            samesite="strict", path="/")
        return response


def serve(db: str | Path, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
          token: str | None = None, on_ready: Callable[[str], None] | None = None,
          log_level: str = "warning") -> None:
    """Serve the dashboard of ``db`` on ``host:port`` until interrupted (uvicorn).

    Parameters
    ----------
    db : str or pathlib.Path
        The store (see :func:`create_app`).
    host : str, default "127.0.0.1"
        Address to listen on; beyond loopback only with ``token``.
    port : int, default 8050
        TCP port; 0 picks a free one (``on_ready`` gets the URL).
    token : str, optional
        Required token (see :func:`create_app`).
    on_ready : callable, optional
        Called with the dashboard's URL once the socket is bound, before serving.
    log_level : str, default "warning"
        uvicorn's log level.

    Raises
    ------
    InputError
        If ``host`` is beyond loopback without a token, the port is taken or invalid, the
        store is not a valuemax store, or FastAPI/uvicorn are missing.
    """
    _auth.check_host(host, token)
    if not 0 <= port <= 65535:
        raise InputError(f"--port {port} is not a TCP port (0-65535; 0 picks a free one)")
    app = create_app(db, token=token)
    import uvicorn

    sock = bind_listening(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    if on_ready is not None:
        on_ready(f"http://{shown}:{bound}/")
    config = uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])

