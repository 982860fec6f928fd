"""``valuemax update --db STORE NEW_LINES``: append new lines to a store and re-score it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from valuemax.cli._app import app
from valuemax.cli._options import Command, DebugOpt, JsonOpt, ObsEndOpt, for_cli, run_guarded
from valuemax.cli._render import progress_for


def _print(console: Console, result: Any) -> None:
    if not result.applied:
        console.print(f"[bold]{for_cli(result.message)}[/]", soft_wrap=True)
        return
    console.print(f"[bold green]updated[/] {result.store}: {for_cli(result.message)}",
                  soft_wrap=True)
    if result.quarantined_by_reason:
        counts = ", ".join(f"{k} {v:,}" for k, v in result.quarantined_by_reason.items())
        console.print(f"new lines quarantined: {counts}", soft_wrap=True)
    if result.drift is not None:
        style = "bold yellow" if result.drift.refit_advised else "dim"
        console.print(f"[{style}]drift:[/] {for_cli(result.drift.message)}", soft_wrap=True)
    for note in result.notes:
        console.print(f"[dim]note:[/] {for_cli(note)}", soft_wrap=True)


def _run(db: Path, source: str, *, refit: bool, out: Path | None, observation_end: str | None,
         key_file: Path | None, as_json: bool) -> None:
    from valuemax.pipeline import update
    from valuemax.pipeline._update import STEPS

    console = Console(highlight=False)
    if as_json:
        result = update(db, source, refit=refit, out=out, observation_end=observation_end,
                        pseudonym_key_file=key_file)
        typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False, default=str))
        return
    with progress_for(console, STEPS) as on_step:
        result = update(db, source, refit=refit, out=out, observation_end=observation_end,
                        pseudonym_key_file=key_file, on_step=on_step)
    _print(console, result)


@app.command("update", cls=Command)
def update_cmd(
    new_lines: Annotated[str, typer.Argument(metavar="NEW_LINES", help="New transaction lines, in the layout of the log the store was built from (same columns; read with its mapping and options).")],
    db: Annotated[Path, typer.Option("--db", metavar="FILE", help="The store to update (valuemax.duckdb written by valuemax analyze).")],
    refit: Annotated[bool, typer.Option("--refit", metavar="", help="Refit every model on the whole updated log (as analyze of the whole log would) instead of re-scoring with the stored models.")] = False,
    out: Annotated[Path | None, typer.Option("--out", "-o", metavar="DIR", help="Also write customers.parquet/.csv and update.json to DIR.")] = None,
    observation_end: ObsEndOpt = None,
    pseudonym_key_file: Annotated[Path | None, typer.Option("--pseudonym-key-file", metavar="FILE", help="For a store built with --pseudonymize: the file holding its key, instead of $VALUEMAX_PSEUDONYM_KEY (another key is refused).")] = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Append NEW_LINES to the store and re-score every customer with the stored models.

    Cleans the new lines with the store's rules (duplicates and returns checked against the
    stored lines), moves the customer table and the observation end, re-scores (or refits
    with --refit) and records the run, all in one transaction: an error or a kill leaves the
    store as it was. The same file twice changes nothing. Lines dated on or before the
    stored observation end are refused. Says when the stored model has drifted enough to
    refit.

    Example: valuemax update --db results/valuemax.duckdb orders-2011-12-10.csv
    """
    run_guarded(debug, lambda: _run(db, new_lines, refit=refit, out=out,
                                    observation_end=observation_end,
                                    key_file=pseudonym_key_file, as_json=as_json))
