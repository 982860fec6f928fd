"""``valuemax uplift TABLE ...``: fit uplift models, score customers, evaluate on a holdout."""

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
from valuemax.cli._options import (
    Command,
    DebugOpt,
    EncodingOpt,
    JsonOpt,
    RandomStateOpt,
    run_guarded,
)


def _dump(obj: object) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False, default=str)


def _fmt(v: Any, spec: str = ".6g") -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def _print_study(console: Console, study: Any) -> None:
    ev = study.evaluation
    console.print(f"outcome {study.outcome!r} ({ev.outcome_kind}); trained on "
                  f"{study.n_train:,} customers, evaluated on {study.n_holdout:,} held out; "
                  f"features: {', '.join(study.features)}")
    conf = f"{ev.confidence:.0%}"
    table = Table(title=f"Held-out evaluation (areas above random, outcome per customer; "
                        f"{conf} bootstrap intervals, {ev.n_bootstrap} draws)")
    for col in ("model", "Qini", f"{conf} CI", "AUUC", f"{conf} CI (AUUC)",
                f"uplift@{table_k(ev)}", "by group"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for r in ev.table.itertuples():
        table.add_row(r.model, _fmt(r.qini), f"[{_fmt(r.qini_ci_low)}, {_fmt(r.qini_ci_high)}]",
                      _fmt(r.auuc), f"[{_fmt(r.auuc_ci_low)}, {_fmt(r.auuc_ci_high)}]",
                      _fmt(r.uplift_at_k), _fmt(r.uplift_at_k_by_group))
    console.print(table)
    for r in ev.table.itertuples():
        console.print(r.conclusion)
        if r.uplift_at_k_note:
            console.print(f"note: {r.model}: {r.uplift_at_k_note}")
    if study.overlap is not None:
        console.print(f"propensity overlap: {study.overlap.message}")
    for note in study.notes:
        console.print(f"note: {note}")


def table_k(ev: Any) -> str:
    return f"{float(ev.table['k'].iloc[0]):.0%}"


@app.command("uplift", cls=Command)
def uplift_cmd(
    table: Annotated[str, typer.Argument(metavar="TABLE", help="One row per customer (CSV, .csv.gz, Parquet): arm, outcome, pre-treatment features.")],
    treatment: Annotated[str, typer.Option("--treatment", metavar="COL", help="Column holding each customer's arm.")],
    treated: Annotated[str, typer.Option("--treated", metavar="NAME", help="Label of the treated arm.")],
    control: Annotated[str, typer.Option("--control", metavar="NAME", help="Label of the control arm.")],
    outcome: Annotated[str, typer.Option("--outcome", metavar="COL", help="Outcome column: 0/1 response (e.g. visit) or an amount (e.g. spend).")],
    feature: Annotated[list[str] | None, typer.Option("--feature", metavar="COL", help="Pre-treatment feature (required; repeatable); text columns are one-hot. Never an outcome column.")] = None,
    model: Annotated[list[str] | None, typer.Option("--model", metavar="t|dr|ct", help="Model (repeatable): t = two-model, dr = DR-learner, ct = class transformation (0/1 outcomes). Default t.")] = None,
    id_column: Annotated[str | None, typer.Option("--id", metavar="COL", help="Customer id column copied into the scores.")] = None,
    holdout: Annotated[float, typer.Option("--holdout", metavar="SHARE", help="Share of customers held out for the evaluation.")] = 0.3,
    k: Annotated[float, typer.Option("--k", metavar="SHARE", help="Share targeted for uplift@k.")] = 0.3,
    bootstrap: Annotated[int, typer.Option("--bootstrap", metavar="N", help="Bootstrap draws of the Qini/AUUC intervals (0 for none).")] = 200,
    observational: Annotated[bool, typer.Option("--observational", metavar="", help="Treatment was not randomised: estimate propensities and report the overlap check.")] = False,
    encoding: EncodingOpt = None,
    random_state: RandomStateOpt = 0,
    out: Annotated[Path | None, typer.Option("--out", "-o", metavar="DIR", help="Write report.html (section 'Whom to contact'), summary.json (key uplift), uplift_scores.csv/.parquet, uplift_bins.csv, uplift_models.csv and uplift_summary.json to DIR, published at once.")] = None,
    db: Annotated[Path | None, typer.Option("--db", metavar="STORE", help="Also write the per-customer scores to the DuckDB store's table uplift_scores with a runs row, in one transaction.")] = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Whom does the campaign change? Uplift scores and their held-out Qini/AUUC.

    Example: valuemax uplift hillstrom.csv.gz --treatment segment --treated "Womens E-Mail"
    --control "No E-Mail" --outcome visit --feature recency --feature history --feature mens
    --feature womens --feature zip_code --feature newbie --feature channel --model t --model dr
    --out uplift/ --db valuemax.duckdb
    """
    import datetime as _dt

    from valuemax.pipeline._decide_outputs import check_shared_names, store_part, uplift_table
    from valuemax.pipeline._part_outputs import part_output

    started = _dt.datetime.now()

    def run() -> None:
        from valuemax.io._tables import encoding_used
        from valuemax.uplift import uplift_study

        if not feature:
            raise InputError("name the pre-treatment features with --feature COL (repeatable); "
                             "outcome columns must not be features.")
        check_shared_names(out, "uplift")
        with part_output(out, "uplift") as save:  # --out checked first, published at once
            study = uplift_study(table, treatment=treatment, treated=treated, control=control,
                                 outcome=outcome, features=feature,
                                 models=tuple(model or ["t"]), id_column=id_column,
                                 holdout=holdout, k=k, n_bootstrap=bootstrap,
                                 observational=observational, random_state=random_state,
                                 encoding=encoding)
            params = {"treatment": treatment, "treated": treated, "control": control,
                      "outcome": outcome, "features": list(feature), "models": study.models,
                      "holdout": holdout, "random_state": random_state, "k": k,
                      "bootstrap": bootstrap, "id_column": id_column,
                      "observational": observational,
                      "encoding": encoding_used(table, encoding, what="uplift table")}
            save(study, source=table, params=params)
            if db is not None:
                store_part(db, "uplift", uplift_table(study), source=table, started=started,
                           params=params)
        summary = study.to_dict()
        if as_json:
            typer.echo(_dump(summary))
        else:
            console = Console(highlight=False, width=160)
            _print_study(console, study)
            if out is not None:
                console.print(f"outputs: {out.resolve()} (report.html, summary.json, "
                              "uplift_scores.csv/.parquet, uplift_bins.csv, uplift_models.csv, "
                              "uplift_summary.json)")
            if db is not None:
                console.print(f"store: {db.resolve()} (table uplift_scores, a runs row)")

    run_guarded(debug, run)

