"""``valuemax experiment TABLE ...`` (the readout) and ``valuemax experiment plan ...``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from valuemax._core.exceptions import InputError
from valuemax.cli._app import app
from valuemax.cli._options import Command, DebugOpt, EncodingOpt, Group, JsonOpt, run_guarded

_KIND_WORDS = {"rate": "proportion", "proportion": "proportion", "mean": "mean", "auto": "auto"}


class _ReadoutByDefault(Group):
    """A group whose first argument, when it is not a subcommand, is the readout's TABLE."""

    default_command = "readout"


experiment_app = typer.Typer(
    cls=_ReadoutByDefault, no_args_is_help=True, add_completion=False,
    help="Did it work? Read out an experiment (valuemax experiment TABLE --arm COL --control "
         "NAME --metric M ...), or plan one (valuemax experiment plan ...).",
)


def _dump(obj: object) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False, default=str)


def parse_metrics(items: list[str]) -> tuple[list[str], dict[str, str]]:
    """``["visit", "spend:mean"]`` -> metric names and the kinds given after a colon."""
    names: list[str] = []
    kinds: dict[str, str] = {}
    for item in items:
        name, sep, kind = item.rpartition(":") if ":" in item else (item, "", "")
        name = name.strip()
        if sep and kind.strip().lower() not in _KIND_WORDS:
            raise InputError(f"--metric {item!r}: the kind after ':' must be rate, mean or auto "
                             "(e.g. --metric conversion:rate).")
        if not name:
            raise InputError(f"--metric {item!r} has no column name.")
        names.append(name)
        if sep:
            kinds[name] = _KIND_WORDS[kind.strip().lower()]
    return names, kinds


def parse_shares(items: list[str] | None) -> dict[str, float] | None:
    """``["A=0.95", "B=0.05"]`` -> ``{"A": 0.95, "B": 0.05}``; None when not given."""
    if not items:
        return None
    shares: dict[str, float] = {}
    for item in items:
        arm, sep, value = item.rpartition("=")
        try:
            share = float(value)
        except ValueError:
            share = float("nan")
        if not sep or not arm.strip() or not math.isfinite(share):
            raise InputError(f"--shares {item!r} is not of the form ARM=SHARE (e.g. --shares "
                             "'No E-Mail=0.5'); repeat it for every arm.")
        if arm.strip() in shares:
            raise InputError(f"--shares gives arm {arm.strip()!r} twice; give each arm once.")
        shares[arm.strip()] = share
    return shares


def _fmt(v: Any, spec: str) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def _print_readout(console: Console, result: Any) -> None:
    arms = Table(title=f"Arms (column {result.arm_column!r}, control {result.control!r})")
    for col in ("metric", "arm", "kind", "n", "missing", "mean", "sd"):
        arms.add_column(col, justify="left" if col in ("metric", "arm", "kind") else "right")
    cuped = "variance_reduction" in result.arm_table
    if cuped:
        arms.add_column("CUPED mean", justify="right")
        arms.add_column("var. reduction", justify="right")
    for r in result.arm_table.itertuples():
        cells = [r.metric, r.arm, r.kind, f"{r.n:,}", f"{r.n_missing:,}", _fmt(r.mean, ".6f"),
                 _fmt(r.sd, ".6f")]
        if cuped:
            cells += [_fmt(r.adjusted_mean, ".6f"), _fmt(r.variance_reduction, ".2%")]
        arms.add_row(*cells)
    console.print(arms)
    conf = f"{result.confidence:.0%}"
    lifts = Table(title=f"Lift against {result.control!r} ({conf} intervals; p adjusted: "
                        f"{result.correction_method})")
    for col in ("metric", "arm", "abs. lift", f"{conf} CI", "p", "p adj.", "rel. lift",
                f"{conf} CI (rel.)"):
        lifts.add_column(col, justify="left" if col in ("metric", "arm") else "right")
    for r in result.comparisons.itertuples():
        lifts.add_row(r.metric, r.arm + (" *" if r.significant else ""),
                      _fmt(r.absolute_lift, ".6g"),
                      f"[{_fmt(r.absolute_ci_low, '.6g')}, {_fmt(r.absolute_ci_high, '.6g')}]",
                      _fmt(r.p_value, ".4g"), _fmt(r.p_adjusted, ".4g"),
                      _fmt(r.relative_lift, ".2%"),
                      f"[{_fmt(r.relative_ci_low, '.2%')}, {_fmt(r.relative_ci_high, '.2%')}]")
    console.print(lifts)
    console.print("* significant after the correction. Tests: "
                  + "; ".join(sorted(set(result.comparisons["test"]))) + ".")
    srm = result.srm
    console.print(f"sample ratio: χ² = {srm.chi2:.3f}, df {srm.df}, p = {srm.p_value:.4g} "
                  f"({'MISMATCH' if srm.alert else 'no mismatch'} at {srm.alpha}) against "
                  f"shares {dict(zip(srm.arms, (round(s, 4) for s in srm.shares), strict=True))}")
    for note in result.notes:
        console.print(f"note: {note}")


#: The keywords of ``readout``/``readout_from_log`` this command sets, and the options that
#: set them (their messages name the keyword; the CLI shows the option).
READOUT_KEYWORDS: dict[str, str] = {
    "customer_id": "--id", "id_column": "--id", "arm": "--arm", "assigned_at": "--assigned-at",
    "control": "--control", "metrics": "--metric", "covariates": "--covariate",
    "shares": "--shares", "correction": "--correction", "confidence": "--confidence",
    "missing": "--missing", "window_days": "--window-days", "pre_days": "--pre-days",
}


@experiment_app.command("readout", cls=Command)
def readout_cmd(
    table: Annotated[str, typer.Argument(metavar="TABLE", help="One row per customer (CSV, .csv.gz, Parquet): arm, outcomes, pre-period covariates; with --log, the assignment file (customer_id, arm, assigned_at).")],
    control: Annotated[str, typer.Option("--control", metavar="NAME", help="Label of the control arm.")],
    arm: Annotated[str, typer.Option("--arm", metavar="COL", help="Column holding each customer's arm.")] = "arm",
    metric: Annotated[list[str] | None, typer.Option("--metric", metavar="COL[:rate|mean]", help="Outcome column (repeatable); a 0/1 column is read as a rate unless :mean is given. With --log: converted, orders, revenue (the default).")] = None,
    covariate: Annotated[list[str] | None, typer.Option("--covariate", metavar="COL", help="Pre-treatment column for CUPED (repeatable), e.g. history.")] = None,
    id_column: Annotated[str | None, typer.Option("--id", metavar="COL", help="Customer id column: customers on several rows are quarantined.")] = None,
    shares: Annotated[list[str] | None, typer.Option("--shares", metavar="ARM=SHARE", help="Designed share of each arm (repeatable; default equal), e.g. --shares A=0.95 --shares B=0.05.")] = None,
    correction: Annotated[str, typer.Option("--correction", metavar="holm|bh|none", help="Multiple-testing correction over arms x metrics.")] = "holm",
    confidence: Annotated[float, typer.Option("--confidence", metavar="LEVEL", help="Confidence level of the intervals.")] = 0.95,
    missing: Annotated[str, typer.Option("--missing", metavar="error|exclude", help="Missing outcomes: stop, or leave them out of that metric (counted).")] = "error",
    log: Annotated[str | None, typer.Option("--log", metavar="PATH", help="Transaction log (any format analyze reads, cleaned with the standard preset): outcomes are computed from it over --window-days after each assignment.")] = None,
    window_days: Annotated[int | None, typer.Option("--window-days", metavar="DAYS", help="With --log: outcome window after each customer's assigned_at.")] = None,
    pre_days: Annotated[int | None, typer.Option("--pre-days", metavar="DAYS", help="With --log: pre-period before assignment for the CUPED covariates pre_orders, pre_revenue.")] = None,
    assigned_at: Annotated[str, typer.Option("--assigned-at", metavar="COL", help="With --log: assignment time column (date or timestamp).")] = "assigned_at",
    observation_end: Annotated[str | None, typer.Option("--observation-end", metavar="DATE", help="With --log: the log's observation end YYYY-MM-DD, inclusive (default: its last valid date); lines after it are quarantined.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", metavar="DIR", help="Also write report.html (section 'Did it work?'), summary.json (key experiment), experiment_*.csv/.parquet and experiment_summary.json to DIR, published at once.")] = None,
    db: Annotated[Path | None, typer.Option("--db", metavar="STORE", help="Also write the readout to the DuckDB store's table experiments (one row per arm and metric) with a runs row, in one transaction.")] = None,
    as_json: JsonOpt = False,
    encoding: EncodingOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Per-arm means and rates, lifts with intervals, corrected p-values, CUPED and SRM.

    Example (a customer table): valuemax experiment hillstrom.csv.gz --arm segment
    --control "No E-Mail" --metric visit --metric spend:mean --covariate history
    --out readout/

    Example (an assignment file and the log): valuemax experiment campaign/assignments.csv
    --log orders.csv --window-days 14 --pre-days 90 --control holdout --db valuemax.duckdb
    """
    import datetime as _dt

    from valuemax.experiment import readout
    from valuemax.pipeline._decide_outputs import (
        check_shared_names,
        experiment_table,
        store_part,
    )
    from valuemax.pipeline._part_outputs import part_output

    started = _dt.datetime.now()

    def compute() -> Any:
        names, kinds = parse_metrics(metric or [])
        options = {"kinds": kinds, "shares": parse_shares(shares), "correction": correction,
                   "confidence": confidence}
        if log is not None:
            result = _readout_from_log(table, log, control=control, arm=arm, names=names,
                                       id_column=id_column, window_days=window_days,
                                       pre_days=pre_days, assigned_at=assigned_at,
                                       covariates=covariate, observation_end=observation_end,
                                       encoding=encoding, **options)
        else:
            if not names:
                raise InputError("name at least one outcome column with --metric (or give the "
                                 "transaction log with --log and --window-days).")
            if window_days is not None or pre_days is not None or observation_end is not None:
                raise InputError("--window-days, --pre-days and --observation-end need --log "
                                 "(the transaction log the outcomes are computed from).")
            result = readout(table, arm=arm, control=control, metrics=names,
                             covariates=covariate or [], id_column=id_column,
                             missing=missing, encoding=encoding, **options)
        return result

    def run() -> None:
        from valuemax.io._tables import encoding_used

        check_shared_names(out, "experiment")
        source = table if log is None else f"{table} (assignments) + {log} (log)"
        with part_output(out, "experiment") as save:  # --out checked first, published at once
            result = compute()
            params = {"arm": arm, "control": control, "metrics": list(result.metrics),
                      "covariates": list(result.covariates), "log": log,
                      "window_days": window_days, "pre_days": pre_days,
                      "observation_end": observation_end, "correction": correction,
                      "confidence": confidence, "id_column": id_column,
                      "shares": shares or None, "missing": missing,
                      "assigned_at": assigned_at if log is not None else None,
                      "encoding": encoding_used(table, encoding, what="experiment table")}
            save(result, source=source, params=params)
            if db is not None:
                store_part(db, "experiment", experiment_table(result), source=source,
                           started=started, params=params)
        summary = result.to_dict()
        if as_json:
            typer.echo(_dump(summary))
        else:
            console = Console(highlight=False, width=160)
            _print_readout(console, result)
            if out is not None:
                console.print(f"outputs: {out.resolve()} (report.html, summary.json, "
                              "experiment_*.csv/.parquet, experiment_summary.json)")
            if db is not None:
                console.print(f"store: {db.resolve()} (table experiments, a runs row)")

    run_guarded(debug, run, READOUT_KEYWORDS)


def _readout_from_log(table: str, log: str, *, control: str, arm: str, names: list[str],
                      id_column: str | None, window_days: int | None, pre_days: int | None,
                      assigned_at: str, covariates: list[str] | None,
                      observation_end: str | None = None, encoding: str | None = None,
                      **options: Any) -> Any:
    from valuemax.engines import connect
    from valuemax.experiment import readout_from_log
    from valuemax.experiment._assignments import OUTCOMES
    from valuemax.pipeline import CleanOptions, ReadOptions
    from valuemax.pipeline._prepare import read_and_clean

    if window_days is None:
        raise InputError("--log needs --window-days: the outcome window after each "
                         "assignment, in days (e.g. --window-days 14).")
    if covariates:
        raise InputError("with --log the covariates are pre_orders and pre_revenue over "
                         "--pre-days; drop --covariate.")
    con = connect(None)
    _, cleaned, _ = read_and_clean(log, con, ReadOptions(),
                                   CleanOptions(observation_end=observation_end))
    return readout_from_log(table, cleaned.transactions, control=control,
                            window_days=window_days, pre_days=pre_days,
                            metrics=tuple(names) or OUTCOMES,
                            observation_end=cleaned.observation_end,
                            customer_id=id_column or "customer_id", arm=arm,
                            assigned_at=assigned_at, encoding=encoding, **options)


@experiment_app.command("plan", cls=Command)
def plan_cmd(
    kind: Annotated[str, typer.Option("--kind", metavar="mean|rate", help="Metric kind: a mean per customer, or a rate (0/1 outcome).")],
    baseline: Annotated[float, typer.Option("--baseline", metavar="X", help="Control mean (metric units) or rate in (0, 1).")],
    sd: Annotated[float | None, typer.Option("--sd", metavar="S", help="Per-customer standard deviation (means only).")] = None,
    effect: Annotated[float | None, typer.Option("--effect", metavar="D", help="Lift to detect (absolute; relative with --relative). Omit to solve for it (the MDE).")] = None,
    relative: Annotated[bool, typer.Option("--relative", metavar="", help="--effect is a share of the baseline (0.05 = +5%).")] = False,
    n_control: Annotated[float | None, typer.Option("--n", metavar="N", help="Customers in control. Omit to solve for it.")] = None,
    power: Annotated[float | None, typer.Option("--power", metavar="P", help="Target power, e.g. 0.8. Omit to solve for it.")] = None,
    alpha: Annotated[float, typer.Option("--alpha", metavar="A", help="Significance level.")] = 0.05,
    ratio: Annotated[float, typer.Option("--ratio", metavar="R", help="Customers per treatment arm / customers in control.")] = 1.0,
    alternative: Annotated[str, typer.Option("--alternative", metavar="two-sided|larger", help="Two-sided test, or one-sided for an increase.")] = "two-sided",
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Power, minimum detectable effect or sample size: give two of --effect, --n, --power.

    Example: valuemax experiment plan --kind rate --baseline 0.106 --effect 0.1 --relative
    --power 0.8
    """
    from valuemax.experiment import plan

    def run() -> None:
        if kind not in _KIND_WORDS or kind == "auto":
            raise InputError(f"--kind {kind!r} is not supported; choose mean or rate.")
        found = plan(_KIND_WORDS[kind], baseline=baseline, sd=sd, effect=effect,
                     relative=relative, n_control=n_control, power=power, alpha=alpha,
                     ratio=ratio, alternative=alternative)
        if as_json:
            typer.echo(_dump(found.to_dict()))
            return
        console = Console(highlight=False)
        console.print(f"{found.kind}: baseline {found.baseline:g}, sd {found.sd:.6g}; "
                      f"α = {found.alpha:g} ({found.alternative}), treatment/control = "
                      f"{found.ratio:g}")
        console.print(f"effect {found.effect:.6g} ({found.relative_effect:.2%} of baseline), "
                      f"power {found.power:.4f}, customers: control {found.n_control:,}, "
                      f"treatment {found.n_treatment:,} per arm (solved for {found.solved_for})")
        console.print(f"method: {found.method}")

    run_guarded(debug, run)


app.add_typer(experiment_app, name="experiment")

