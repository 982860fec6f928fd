"""``valuemax dashboard --db STORE``: the marketer's web view of a store (extra ``serve``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from valuemax._core.exceptions import InputError
from valuemax.cli._app import app
from valuemax.cli._options import Command, DebugOpt, one_line, run_guarded


@app.command("dashboard", cls=Command)
def dashboard_cmd(
    db: Annotated[Path, typer.Option("--db", metavar="FILE", help="Store written by `valuemax analyze --db FILE` (or OUT/valuemax.duckdb); opened read-only.")],
    host: Annotated[str, typer.Option("--host", metavar="ADDRESS", help="Address to listen on; beyond loopback only with a token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", metavar="N", help="TCP port (0 picks a free one).")] = 8050,
    token_file: Annotated[Path | None, typer.Option("--token-file", metavar="FILE", help="Require the token in FILE (default: $VALUEMAX_DASHBOARD_TOKEN) as a bearer header or via the /login form.")] = None,
    debug: DebugOpt = False,
) -> None:
    r"""Serve a web dashboard of a store: KPIs, segments, CLV and churn risk, the
    high-value-at-risk list (CSV export), customer lookup, rules and targeting results.

    Works offline (plotly.js comes from the installed package). Needs the extra: pip install
    'valuemax\[serve]'. Stop with Ctrl-C.

    Example: valuemax dashboard --db results/valuemax.duckdb --port 8050
    """
    console = Console(highlight=False)

    def run() -> None:
        from valuemax.dashboard import serve
        from valuemax.dashboard._auth import read_token

        token = read_token(token_file)
        serve(db, host=host, port=port, token=token,
              on_ready=lambda url: console.print(
                  f"dashboard of {db} on {url}" + (" (token required)" if token else "")
                  + " — Ctrl-C to stop", soft_wrap=True))

    def guarded() -> None:
        # messages hold "[serve]" and user paths: print them without Rich markup
        try:
            run()
        except InputError as exc:
            if debug:
                raise
            Console(stderr=True, highlight=False).print(
                f"[bold red]error:[/] {escape(one_line(exc))}", soft_wrap=True)
            raise typer.Exit(2) from None

    run_guarded(debug, guarded)
