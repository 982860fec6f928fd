"""Typer application: ``valuemax demo | analyze | inspect``."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from valuemax._core.exceptions import InputError, ValuemaxError
from valuemax.cli._render import print_inspection, print_summary, progress_for

app = typer.Typer(
    name="valuemax",
    help="From a raw transaction log to accounted-for customers, segments and a report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

OutOpt = Annotated[Path, typer.Option("--out", "-o", metavar="DIR", help="Output folder (written atomically).")]
DbOpt = Annotated[Path | None, typer.Option("--db", metavar="FILE", help="DuckDB store file (default: DIR/valuemax.duckdb).")]
MapOpt = Annotated[list[str] | None, typer.Option("--map", metavar="CANONICAL=SOURCE", help="Override the column mapping: canonical=source (repeatable), e.g. --map customer_id=会员号.")]
ColumnsOpt = Annotated[str | None, typer.Option("--columns", metavar="NAMES", help="Comma-separated names for a headerless file, e.g. customer_id,customer_index,date,quantity,amount.")]
PresetOpt = Annotated[str, typer.Option("--preset", metavar="standard|classic|none", help="Cleaning rules: standard | classic | none.")]
ObsEndOpt = Annotated[str | None, typer.Option("--observation-end", metavar="DATE", help="Observation end YYYY-MM-DD, inclusive (default: the last valid transaction date).")]
CalEndOpt = Annotated[str | None, typer.Option("--calibration-end", metavar="DATE", help="Also build the calibration/holdout table split at this date YYYY-MM-DD (inclusive).")]
TimeUnitOpt = Annotated[str, typer.Option("--time-unit", metavar="D|W", help="Unit of frequency/recency/T: D (days) or W (weeks = days/7).")]
DateFmtOpt = Annotated[list[str] | None, typer.Option("--date-format", metavar="FMT", help="strptime format of the date column, e.g. %d/%m/%Y (repeatable for several formats).")]
DecimalOpt = Annotated[str, typer.Option("--decimal", metavar="SEP", help="Decimal separator of numbers: '.' or ',' (European, e.g. 1.234,50).")]
SheetOpt = Annotated[str | None, typer.Option("--sheet", metavar="NAME", help="Excel sheet to read: its name or 0-based index (default: the first non-empty sheet).")]
EncodingOpt = Annotated[str | None, typer.Option("--encoding", metavar="NAME", help="Text encoding (default: detected among utf-8, utf-8-sig, utf-16, gb18030).")]
ReturnsOpt = Annotated[str | None, typer.Option("--returns", metavar="net|exclude", help="Returns netted against the customer's earlier purchase of the product, or excluded (quarantined, the purchase kept). Default: net with --preset standard, exclude otherwise.")]
SeedOpt = Annotated[int, typer.Option("--seed", metavar="N", help="Seed of every random step.")]
ClustersOpt = Annotated[str, typer.Option("--clusters", metavar="kmeans|kmeans+ward|none", help="kmeans | kmeans+ward | none.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")]


def _parse_map(items: list[str] | None) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in items or []:
        canonical, sep, source = item.partition("=")
        if not sep or not canonical.strip() or not source.strip():
            raise InputError(
                f"--map {item!r} is not of the form canonical=source (e.g. --map order_id=单号)"
            )
        key = canonical.strip()
        if key in mapping and mapping[key] != source.strip():
            raise InputError(
                f"--map gives {key} twice ({mapping[key]!r} and {source.strip()!r}); "
                "give each canonical column once"
            )
        mapping[key] = source.strip()
    return mapping


def _parse_columns(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [c.strip() for c in text.split(",")]
    if any(not c for c in names):
        raise InputError(f"--columns {text!r} has an empty name; give comma-separated names")
    return names


def _parse_sheet(text: str | None) -> str | int | None:
    return int(text) if text is not None and text.isdigit() else text


def _run(debug: bool, fn: Callable[[], Any]) -> Any:
    """Call ``fn``; map valuemax errors to exit codes with a one-line reason on stderr."""
    err = Console(stderr=True, highlight=False)
    try:
        return fn()
    except InputError as exc:
        if debug:
            raise
        err.print(f"[bold red]error:[/] {_one_line(exc)}", soft_wrap=True)
        raise typer.Exit(2) from None
    except ValuemaxError as exc:
        if debug:
            raise
        err.print(f"[bold red]error:[/] {_one_line(exc)}", soft_wrap=True)
        raise typer.Exit(1) from None
    except Exception:
        if _Terminated.signum is None or debug:
            raise
        err.print("[bold red]stopped:[/] terminated by a signal; nothing was written")
        raise typer.Exit(128 + _Terminated.signum) from None


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def _analyze(source: Any, out: Path, **kw: Any) -> None:
    from valuemax.pipeline import analyze
    from valuemax.pipeline._analyze import STEPS

    console = Console(highlight=False)
    with progress_for(console, STEPS) as on_step:
        result = analyze(source, out=out, on_step=on_step, **kw)
    print_summary(console, result)


@app.command()
def analyze(
    path: Annotated[str, typer.Argument(metavar="PATH", help="Transaction log: CSV/TSV/TXT (.gz/.zst), Parquet, XLSX, JSONL.")],
    out: OutOpt = Path("valuemax-results"),
    db: DbOpt = None,
    map_: MapOpt = None,
    columns: ColumnsOpt = None,
    preset: PresetOpt = "standard",
    observation_end: ObsEndOpt = None,
    time_unit: TimeUnitOpt = "D",
    calibration_end: CalEndOpt = None,
    date_format: DateFmtOpt = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    decimal: DecimalOpt = ".",
    returns: ReturnsOpt = None,
    clusters: ClustersOpt = "kmeans",
    seed: SeedOpt = 0,
    debug: DebugOpt = False,
) -> None:
    """Run the main job on PATH and write report.html, customers.*, summary.json and the store."""
    _run(debug, lambda: _analyze(
        path, out, db=db, mapping=_parse_map(map_), columns=_parse_columns(columns),
        preset=preset, observation_end=observation_end, time_unit=time_unit,
        calibration_end=calibration_end, date_format=date_format or None, encoding=encoding,
        sheet=_parse_sheet(sheet), decimal=decimal, returns=returns,
        clusters=clusters, seed=seed,
    ))


@app.command()
def demo(
    out: OutOpt = Path("valuemax-demo"),
    seed: SeedOpt = 0,
    debug: DebugOpt = False,
) -> None:
    """Run the main job on the bundled UCI Online Retail log (541,909 lines, offline)."""
    from valuemax.datasets import online_retail_path

    _run(debug, lambda: _analyze(str(online_retail_path()), out, seed=seed))


@app.command()
def inspect(
    path: Annotated[str, typer.Argument(metavar="PATH", help="Transaction log to inspect.")],
    map_: MapOpt = None,
    columns: ColumnsOpt = None,
    preset: PresetOpt = "standard",
    observation_end: ObsEndOpt = None,
    date_format: DateFmtOpt = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    decimal: DecimalOpt = ".",
    returns: ReturnsOpt = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Show how PATH is read (mapping, encoding, date format) and the quality report; write nothing."""
    from valuemax.pipeline import inspect as inspect_

    def run() -> None:
        found = inspect_(
            path, mapping=_parse_map(map_), columns=_parse_columns(columns), preset=preset,
            observation_end=observation_end, date_format=date_format or None,
            encoding=encoding, sheet=_parse_sheet(sheet), decimal=decimal, returns=returns,
        )
        if as_json:
            payload = {"ingest": found.ingest, "quality": found.quality.to_dict()}
            typer.echo(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
        else:
            print_inspection(Console(highlight=False), found)

    _run(debug, run)


class _Terminated:
    """Set when SIGTERM arrived: DuckDB turns the interrupt into ``RuntimeError``."""

    signum: int | None = None


def _terminate(signum: int, frame: Any) -> None:
    # SIGTERM unwinds like Ctrl-C, so a run's private partial folder is removed
    _Terminated.signum = signum
    raise SystemExit(128 + signum)


def main() -> None:
    """Entry point of the ``valuemax`` console script."""
    signal.signal(signal.SIGTERM, _terminate)
    app()
