"""Commands that run one part of the main job: ``valuemax clv | rules | propensity``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from valuemax.cli._app import app
from valuemax.cli._options import (
    CalEndOpt,
    ClvModelOpt,
    ColumnsOpt,
    Command,
    DateFmtOpt,
    DebugOpt,
    DecimalOpt,
    DiscountOpt,
    EncodingOpt,
    HorizonDaysOpt,
    HorizonMonthsOpt,
    JsonOpt,
    KeepPiiOpt,
    KeyFileOpt,
    MapOpt,
    MarginOpt,
    ObsEndOpt,
    PresetOpt,
    PseudonymizeOpt,
    RandomStateOpt,
    ReturnsOpt,
    SheetOpt,
    TimeUnitOpt,
    clean_options,
    privacy_options,
    propensity_options,
    read_options,
    run_guarded,
    value_options,
)
from valuemax.cli._render import print_propensity, print_rules, print_value

PartOutOpt = Annotated[Path | None, typer.Option("--out", "-o", metavar="DIR", help="Also write the results (tables as Parquet and CSV, a JSON summary) to DIR.")]


def _dump(obj: object) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False, default=str)


@app.command(cls=Command)
def clv(
    path: Annotated[str, typer.Argument(metavar="PATH", help="Transaction log (any format analyze reads).")],
    out: PartOutOpt = None,
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
    horizon_months: HorizonMonthsOpt = 12,
    discount_rate: DiscountOpt = 0.01,
    margin: MarginOpt = 1.0,
    clv_model: ClvModelOpt = "auto",
    random_state: RandomStateOpt = 0,
    pseudonymize: PseudonymizeOpt = False,
    pseudonym_key_file: KeyFileOpt = None,
    keep_pii: KeepPiiOpt = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Customer value only: compare BG/NBD, MBG/NBD, Pareto/NBD on a holdout, fit Gamma-Gamma, CLV per customer.

    Example: valuemax clv orders.csv --calibration-end 2011-09-30 --horizon-months 12 --out value/
    """
    from valuemax.pipeline import customer_value
    from valuemax.pipeline._part_outputs import part_output

    def run() -> None:
        with part_output(out, "clv") as save:  # --out checked first, published at once
            value = customer_value(
                path, read=read_options(map_, columns, date_format, encoding, sheet, decimal),
                clean=clean_options(preset, observation_end, returns),
                value=value_options(True, time_unit, calibration_end, horizon_months,
                                    discount_rate, margin, clv_model),
                privacy=privacy_options(pseudonymize, pseudonym_key_file, keep_pii),
                random_state=random_state,
            )
            save(value)
        summary = value.to_dict()
        if as_json:
            typer.echo(_dump(summary))
        else:
            console = Console(highlight=False)
            print_value(console, value)
            if out is not None:
                console.print(f"outputs: {out.resolve()} (clv.parquet/.csv, clv_summary.json)")

    run_guarded(debug, run)


@app.command(cls=Command)
def rules(
    path: Annotated[str, typer.Argument(metavar="PATH", help="Transaction log, or a basket file with --input baskets|long.")],
    out: PartOutOpt = None,
    input_format: Annotated[str, typer.Option("--input", metavar="auto|transactions|baskets|long", help="transactions: a log read and cleaned as by analyze; baskets: one basket per line, items comma-separated; long: one line per basket and item; auto (default): baskets when the file is headerless with ragged lines and no dates, else transactions.")] = "auto",
    min_support: Annotated[float | None, typer.Option("--min-support", metavar="S", help="Minimum support in (0, 1]: itemsets in at least S x baskets (default: chosen from the data).")] = None,
    min_confidence: Annotated[float | None, typer.Option("--min-confidence", metavar="C", help="Minimum confidence in [0, 1].")] = None,
    min_lift: Annotated[float | None, typer.Option("--min-lift", metavar="L", help="Minimum lift (> 1: bought together more than by chance).")] = None,
    max_len: Annotated[int | None, typer.Option("--max-len", metavar="K", help="Longest itemset (items in antecedent + consequent).")] = None,
    basket_columns: Annotated[str, typer.Option("--basket-columns", metavar="NAMES", help="--input long: comma-separated columns forming a basket.")] = "Member_number,Date",
    item_column: Annotated[str, typer.Option("--item-column", metavar="NAME", help="--input long: the item column.")] = "itemDescription",
    map_: MapOpt = None,
    columns: ColumnsOpt = None,
    preset: PresetOpt = "standard",
    date_format: DateFmtOpt = None,
    encoding: EncodingOpt = None,
    random_state: RandomStateOpt = 0,
    pseudonymize: PseudonymizeOpt = False,
    pseudonym_key_file: KeyFileOpt = None,
    keep_pii: KeepPiiOpt = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """What sells together: frequent itemsets, association rules and cross-sell suggestions.

    Example: valuemax rules orders.csv --out rules/
    Example: valuemax rules groceries_baskets.csv.gz --input baskets --min-support 0.01
    """
    from valuemax.pipeline import association_rules
    from valuemax.pipeline._jobs import looks_like_baskets
    from valuemax.pipeline._part_outputs import part_output

    def run() -> None:
        detected = looks_like_baskets(path, encoding=encoding) if input_format == "auto" \
            else None
        with part_output(out, "rules") as save:  # --out checked first, published at once
            found = association_rules(
                path, input_format=input_format, min_support=min_support,
                min_confidence=min_confidence, min_lift=min_lift, max_len=max_len,
                basket_columns=[c.strip() for c in basket_columns.split(",")],
                item_column=item_column, random_state=random_state,
                read=read_options(map_, columns, date_format, encoding),
                clean=clean_options(preset),
                privacy=privacy_options(pseudonymize, pseudonym_key_file, keep_pii),
            )
            save(found)
        rule_set = getattr(found, "rule_set", found)
        summary = found.to_dict()
        if as_json:
            typer.echo(_dump(summary))
        else:
            console = Console(highlight=False)
            if detected:
                console.print(f"read as one basket per line ({detected}); pass --input "
                              "transactions or --input long to read it otherwise")
            print_rules(console, found, rule_set)
            if out is not None:
                written = sorted(p.name for p in out.iterdir() if p.name.startswith(
                    ("rules", "recommendations")))
                typer.echo(f"outputs: {out.resolve()} ({', '.join(written)})")

    run_guarded(debug, run)


@app.command(cls=Command)
def propensity(
    path: Annotated[str, typer.Argument(metavar="PATH", help="Transaction log (any format analyze reads).")],
    out: PartOutOpt = None,
    horizon_days: HorizonDaysOpt = 90,
    cutoff: Annotated[str | None, typer.Option("--cutoff", metavar="DATE", help="Holdout cutoff YYYY-MM-DD: features before it, the label in the --horizon-days days from it (default: observation end minus the horizon).")] = None,
    map_: MapOpt = None,
    columns: ColumnsOpt = None,
    preset: PresetOpt = "standard",
    observation_end: ObsEndOpt = None,
    date_format: DateFmtOpt = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    decimal: DecimalOpt = ".",
    returns: ReturnsOpt = None,
    random_state: RandomStateOpt = 0,
    pseudonymize: PseudonymizeOpt = False,
    pseudonym_key_file: KeyFileOpt = None,
    keep_pii: KeepPiiOpt = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Who buys next: buy-again model vs recency and BTYD baselines on a holdout; scores per customer.

    Example: valuemax propensity orders.csv --horizon-days 90 --out propensity/
    """
    from valuemax.pipeline import buy_propensity
    from valuemax.pipeline._part_outputs import part_output

    def run() -> None:
        with part_output(out, "propensity") as save:  # --out checked first, published at once
            found = buy_propensity(
                path, cutoff=cutoff, random_state=random_state,
                propensity=propensity_options(True, horizon_days),
                read=read_options(map_, columns, date_format, encoding, sheet, decimal),
                clean=clean_options(preset, observation_end, returns),
                privacy=privacy_options(pseudonymize, pseudonym_key_file, keep_pii),
            )
            save(found, source=path, params={
                "cutoff": cutoff, "horizon_days": horizon_days, "random_state": random_state,
                "preset": preset, "observation_end": observation_end, "returns": returns,
                "columns": columns, "map": map_, "date_format": date_format,
                "encoding": encoding, "sheet": sheet, "decimal": decimal})
        summary = found.to_dict()
        if as_json:
            typer.echo(_dump(summary))
        else:
            console = Console(highlight=False)
            print_propensity(console, found)
            if out is not None:
                console.print(f"outputs: {out.resolve()} (propensity.html, propensity_*.csv, "
                              "propensity_scores.parquet, propensity_summary.json)")

    run_guarded(debug, run)
