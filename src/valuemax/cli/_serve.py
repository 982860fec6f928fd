"""``valuemax serve --db STORE``: the scoring service (FastAPI + uvicorn, the ``serve`` extra).

Nothing here imports FastAPI or uvicorn at import time: ``valuemax`` and its CLI load without
the extra, and the command says how to install it when it is missing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from valuemax.cli._app import app
from valuemax.cli._options import Command, DebugOpt, run_guarded

_EXTRA = "pip install 'valuemax[serve]'"


def _load_serve() -> Any:
    """``valuemax.serve``, or InputError naming the extra when FastAPI/uvicorn are missing."""
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        # printed here, not through Rich: its markup would eat the "[serve]" of the fix
        typer.echo(f"error: the scoring service needs FastAPI and uvicorn ({exc}); install "
                   f"them with: {_EXTRA}", err=True)
        raise typer.Exit(2) from None
    import valuemax.serve as serve_module

    return serve_module


@app.command("serve", cls=Command)
def serve_cmd(
    db: Annotated[Path, typer.Option("--db", metavar="FILE", help="DuckDB store written by valuemax analyze --db (read-only).")],
    host: Annotated[str, typer.Option("--host", metavar="ADDR", help="Address to listen on; beyond loopback (127.0.0.1, ::1) only with a token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", metavar="N", help="TCP port.")] = 8000,
    token_file: Annotated[Path | None, typer.Option("--token-file", metavar="FILE", help="File (mode 600) with the bearer token; default the VALUEMAX_API_TOKEN environment variable.")] = None,
    debug: DebugOpt = False,
) -> None:
    """Serve a store's scores over HTTP: customers, segments, scoring, health.

    Endpoints: GET /customers/{id}, GET /segments, POST /score (a customer's {date, amount}
    lines scored with the stored models), GET /health; the OpenAPI schema at /openapi.json.
    Every endpoint but the schema needs 'Authorization: Bearer TOKEN' when a token is set
    (VALUEMAX_API_TOKEN or --token-file); without a token the service listens on loopback
    only. The store is never held open: a new run written into it is picked up.

    Example: VALUEMAX_API_TOKEN=$(python -c "import secrets; print(secrets.token_urlsafe(32))")
    valuemax serve --db results/valuemax.duckdb --port 8000
    """

    def run() -> None:
        serve_module = _load_serve()
        token = serve_module.read_token(token_file, os.environ)
        serve_module.check_listen(host, port, token)
        err = Console(stderr=True, highlight=False)

        def ready(application: Any) -> None:
            snap = application.state.store.current()
            shown = f"[{host}]" if ":" in host else host
            err.print(f"serving {db} (run {snap.run['run_id']}, {len(snap.index):,} customers, "
                      f"observation end {snap.observation_end}) on http://{shown}:{port} "
                      f"({'bearer token required' if token else 'no token: loopback only'}); "
                      "schema at /openapi.json; Ctrl-C stops", soft_wrap=True)
            warning = snap.run.get("version_warning")
            if warning:
                err.print(f"[bold yellow]warning:[/] {escape(warning)}", soft_wrap=True)

        serve_module.serve(db, host=host, port=port, token=token, on_ready=ready)

    run_guarded(debug, run, stopped="the service stopped; it only reads the store, so "
                                    "nothing was written")
