"""Typer application: ``valuemax demo | analyze | inspect`` (the part jobs: ``_jobs``)."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from valuemax._core.exceptions import InputError
from valuemax.cli._options import (
    CalEndOpt,
    ClustersOpt,
    ClvModelOpt,
    ClvOpt,
    ColumnsOpt,
    Command,
    DateFmtOpt,
    DbOpt,
    DebugOpt,
    DecimalOpt,
    DiscountOpt,
    EncodingOpt,
    EngineOpt,
    Group,
    HorizonDaysOpt,
    HorizonMonthsOpt,
    JsonOpt,
    KeepPiiOpt,
    KeyFileOpt,
    MapOpt,
    MarginOpt,
    MemoryLimitOpt,
    ObsEndOpt,
    OutOpt,
    PresetOpt,
    PropensityOpt,
    PseudonymizeOpt,
    QueryOpt,
    RandomStateOpt,
    ReturnsOpt,
    SchemaOpt,
    SheetOpt,
    SparkMasterOpt,
    TableOpt,
    Terminated,
    TimeUnitOpt,
    clean_options,
    engine_options,
    privacy_options,
    propensity_options,
    read_options,
    run_guarded,
    segment_options,
    value_options,
)
from valuemax.cli._render import print_inspection, print_problems, print_summary, progress_for

app = typer.Typer(
    name="valuemax",
    help="From a raw transaction log to accounted-for customers, segments and a report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=Group,
)


def _analyze(source: Any, out: Path, *, debug: bool = False, **kw: Any) -> None:
    from valuemax.pipeline import analyze
    from valuemax.pipeline._analyze import STEPS

    console = Console(highlight=False)
    with progress_for(console, STEPS) as on_step:
        result = analyze(source, out=out, on_step=on_step, **kw)
    print_summary(console, result, debug=debug)


@app.command(cls=Command)
def analyze(
    path: Annotated[str | None, typer.Argument(metavar="[PATH]", help="Transaction log: CSV/TSV/TXT (.gz/.zst), Parquet (a file, a folder of parts or a quoted glob), XLSX, JSONL (or --table/--query with --engine).")] = None,
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
    clv: ClvOpt = True,
    horizon_months: HorizonMonthsOpt = 12,
    discount_rate: DiscountOpt = 0.01,
    margin: MarginOpt = 1.0,
    clv_model: ClvModelOpt = "auto",
    propensity: PropensityOpt = True,
    horizon_days: HorizonDaysOpt = 90,
    random_state: RandomStateOpt = 0,
    pseudonymize: PseudonymizeOpt = False,
    pseudonym_key_file: KeyFileOpt = None,
    keep_pii: KeepPiiOpt = None,
    engine: EngineOpt = None,
    table: TableOpt = None,
    query: QueryOpt = None,
    schema: SchemaOpt = None,
    spark_master: SparkMasterOpt = None,
    memory_limit: MemoryLimitOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Run the main job on PATH and write report.html, customers.*, summary.json and the store.

    Example: VALUEMAX_PSEUDONYM_KEY=... valuemax analyze orders.csv --out results/ --pseudonymize
    Example: valuemax analyze --engine postgres://ann:secret@db:5432/shop --table orders --schema valuemax
    """
    run_guarded(debug, lambda: _analyze(
        path, out, db=db,
        read=read_options(map_, columns, date_format, encoding, sheet, decimal),
        clean=clean_options(preset, observation_end, returns),
        segments=segment_options(clusters),
        value=value_options(clv, time_unit, calibration_end, horizon_months, discount_rate,
                            margin, clv_model),
        propensity=propensity_options(propensity, horizon_days),
        privacy=privacy_options(pseudonymize, pseudonym_key_file, keep_pii),
        engine=engine_options(engine, table, query, schema, spark_master, memory_limit),
        random_state=random_state, debug=debug,
    ))


@app.command(cls=Command)
def demo(
    out: OutOpt = Path("valuemax-demo"),
    random_state: RandomStateOpt = 0,
    debug: DebugOpt = False,
) -> None:
    """Run the main job on the bundled UCI Online Retail log (541,909 lines, offline).

    Example: valuemax demo --out valuemax-demo
    """
    from valuemax.datasets import online_retail_path

    run_guarded(debug, lambda: _analyze(str(online_retail_path()), out,
                                        random_state=random_state, debug=debug))


@app.command(cls=Command)
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
    """Show how PATH is read (mapping, encoding, date format) and the quality report; write nothing.

    Example: valuemax inspect orders.csv --map customer_id=会员号 --date-format '%d/%m/%Y'
    """
    from valuemax.pipeline import inspect as inspect_

    def run() -> None:
        try:
            found = inspect_(
                path, read=read_options(map_, columns, date_format, encoding, sheet, decimal),
                clean=clean_options(preset, observation_end, returns),
            )
        except InputError as exc:
            partial = getattr(exc, "inspection", None)
            if partial is None or debug:
                raise
            # every problem, after what could be read: mapping, formats found
            if as_json:
                typer.echo(json.dumps({"ingest": partial.ingest, "quality": None,
                                       "problems": list(partial.problems)},
                                      indent=2, ensure_ascii=False, default=str))
            else:
                print_problems(Console(highlight=False), partial)
            raise typer.Exit(2) from None
        if as_json:
            payload = {"ingest": found.ingest, "quality": found.quality.to_dict()}
            typer.echo(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
        else:
            print_inspection(Console(highlight=False), found)

    run_guarded(debug, run)


def _terminate(signum: int, frame: Any) -> None:
    # SIGTERM and SIGINT unwind the same way, so a run's private partial folder is removed;
    # a repeated signal during that cleanup is ignored (SIGKILL still ends the process, and
    # the next run removes what is left)
    if Terminated.signum is not None:
        return
    Terminated.signum = signum
    raise SystemExit(128 + signum)


def main() -> None:
    """Entry point of the ``valuemax`` console script (and ``python -m valuemax.cli``)."""
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    app()
