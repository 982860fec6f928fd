"""``valuemax target SCORES.csv ...``: whom to contact under a budget, plus the hold-out file."""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from valuemax._core.exceptions import InputError
from valuemax.cli._app import app
from valuemax.cli._options import Command, DebugOpt, EncodingOpt, JsonOpt, run_guarded


def _number_or_column(text: str | None, option: str) -> float | str | None:
    """``"1.5"`` -> 1.5; any other text is a column name."""
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        if not text.strip():
            raise InputError(f"{option} is empty; give a number or a column name.") from None
        return text


def _read_scores(path: str, id_column: str, arm: str | None, encoding: str | None) -> Any:
    from valuemax.io import read_customer_table

    text = {id_column: "string"} | ({arm: "string"} if arm else {})
    frame = read_customer_table(path, encoding=encoding, dtype=text, what="SCORES file")
    if id_column not in frame.columns:
        raise InputError(f"--id {id_column!r}: column not found in {path}; available: "
                         f"{', '.join(map(str, frame.columns))}.")
    return frame


#: The keywords of ``choose_targets``/``holdout_assignments`` this command sets, and the
#: options that set them (their messages name the keyword; the CLI shows the option).
TARGET_KEYWORDS: dict[str, str] = {
    "uplift": "--uplift", "revenue": "--revenue", "value": "--value", "redeem": "--redeem",
    "customer_id": "--id", "arm": "--arm", "assigned_at": "--start", "share": "--holdout",
}


@app.command("target", cls=Command)
def target_cmd(
    scores: Annotated[str, typer.Argument(metavar="SCORES", help="One row per customer (or per customer and arm with --arm), CSV or Parquet: id, uplift, optional revenue, costs, standard errors.")],
    margin: Annotated[float, typer.Option("--margin", metavar="SHARE", help="Profit share of revenue in (0, 1].")],
    cost_per_contact: Annotated[str, typer.Option("--cost-per-contact", metavar="X|COL", help="Contact cost (currency): a number, or a column for unequal costs.")],
    uplift: Annotated[str, typer.Option("--uplift", metavar="COL", help="Incremental purchase probability per customer, in [-1, 1].")] = "uplift",
    revenue: Annotated[str | None, typer.Option("--revenue", metavar="COL", help="Incremental revenue per contacted customer (currency).")] = None,
    value: Annotated[str | None, typer.Option("--value", metavar="X|COL", help="Without --revenue: revenue per incremental purchase (a number, or a column such as expected_avg_value; clv_12 only for an uplift in the chance of keeping the customer a year); incremental revenue = uplift x value.")] = None,
    redeem: Annotated[str | None, typer.Option("--redeem", metavar="COL", help="P(redeem | contacted) in [0, 1]; default the uplift (only incremental buyers redeem).")] = None,
    cost_per_redemption: Annotated[float, typer.Option("--cost-per-redemption", metavar="X", help="Cost of one redeemed offer (currency).")] = 0.0,
    budget: Annotated[float | None, typer.Option("--budget", metavar="X", help="Cap on the total contact cost (currency).")] = None,
    max_contacts: Annotated[int | None, typer.Option("--max-contacts", metavar="N", help="Cap on the customers contacted.")] = None,
    id_column: Annotated[str, typer.Option("--id", metavar="COL", help="Customer id column.")] = "customer_id",
    arm: Annotated[str | None, typer.Option("--arm", metavar="COL", help="Arm (offer) column: several rows per customer, the best arm each under the budget.")] = None,
    uplift_se: Annotated[str | None, typer.Option("--uplift-se", metavar="COL", help="Standard error of the uplift: the profit curve gets an interval.")] = None,
    revenue_se: Annotated[str | None, typer.Option("--revenue-se", metavar="COL", help="Standard error of --revenue.")] = None,
    holdout: Annotated[float, typer.Option("--holdout", metavar="SHARE", help="Share of the targets held out as control, stratified by rank decile.")] = 0.1,
    start: Annotated[str | None, typer.Option("--start", metavar="DATE", help="Campaign start written as assigned_at (YYYY-MM-DD[ HH:MM:SS]); default today.")] = None,
    random_state: Annotated[int, typer.Option("--random-state", "--seed", metavar="N", help="Seed of the hold-out draw (--seed is its old name).")] = 0,
    encoding: EncodingOpt = None,
    out: Annotated[Path, typer.Option("--out", "-o", metavar="DIR", help="Folder for targets.csv, assignments.csv, profit_curve.csv, target_summary.json, report.html (section 'Whom to contact') and summary.json (key targets), published at once.")] = Path("valuemax-targets"),
    db: Annotated[Path | None, typer.Option("--db", metavar="STORE", help="Also write the target list with each customer's assigned arm to the DuckDB store's table targets with a runs row, in one transaction.")] = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Choose whom to contact for the most expected incremental profit, and hold out a control.

    Writes targets.csv (customer_id, arm, expected_incremental_profit, rank; for a CRM; text
    cells escaped against spreadsheet formulas), assignments.csv (customer_id, arm,
    assigned_at, share: targets plus the hold-out control, ids unescaped so that
    valuemax experiment assignments.csv --log ... --control holdout reads it back),
    profit_curve.csv, target_summary.json, report.html and summary.json.

    Example: valuemax target scores.csv --uplift uplift --value expected_avg_value --margin 0.3
    --cost-per-contact 0.5 --budget 10000 --holdout 0.1 --random-state 1 --start 2026-03-02
    --out campaign/ --db valuemax.duckdb
    """
    from types import SimpleNamespace

    from valuemax.decide import choose_targets, holdout_assignments
    from valuemax.pipeline._decide_outputs import check_shared_names, store_part, targets_table
    from valuemax.pipeline._part_outputs import part_output

    started = _dt.datetime.now()

    def run() -> None:
        from valuemax.io._tables import encoding_used

        if not 0 < holdout < 1:  # checked before any work, in the CLI's words
            raise InputError(f"--holdout {holdout:g} must lie strictly between 0 and 1: the "
                             "held-out targets are the control that measures the campaign "
                             "(valuemax experiment ... --control holdout); e.g. --holdout 0.1.")
        check_shared_names(out, "target")
        with part_output(out, "target") as save:  # --out checked first, published at once
            frame = _read_scores(scores, id_column, arm, encoding)
            result = choose_targets(
                frame, uplift=uplift, revenue=revenue,
                value=_number_or_column(value, "--value"), redeem=redeem, margin=margin,
                cost_per_contact=_number_or_column(cost_per_contact, "--cost-per-contact"),
                cost_per_redemption=cost_per_redemption, budget=budget,
                max_contacts=max_contacts, customer_id=id_column, arm=arm,
                uplift_se=uplift_se, revenue_se=revenue_se)
            if len(result.targets) == 0:
                raise InputError(f"no customer has a positive expected incremental profit "
                                 f"({result.n_unprofitable:,} of {result.n_customers:,} "
                                 "checked): nothing to target. Check --margin, --value/"
                                 "--revenue and the costs.")
            when = start if start is not None else _dt.date.today().isoformat()
            assignments = holdout_assignments(result.targets, assigned_at=when, share=holdout,
                                              random_state=random_state)
            shares = assignments.groupby("arm", sort=True)["share"].first().round(6).to_dict()
            measure = (f"valuemax experiment {out / 'assignments.csv'} --log LOG --window-days "
                       "DAYS --control holdout " + " ".join(f"--shares '{k}={v:g}'"
                                                             for k, v in shares.items()))
            summary = result.to_dict() | {
                "holdout_share": holdout, "random_state": random_state, "assigned_at": str(when),
                "n_held_out": int((assignments["arm"] == "holdout").sum()),
                "designed_shares": shares, "measure_with": measure,
                "files": ["targets.csv", "assignments.csv", "profit_curve.csv",
                          "report.html", "summary.json"]}
            params = {"margin": margin, "cost_per_contact": cost_per_contact,
                      "cost_per_redemption": cost_per_redemption, "budget": budget,
                      "max_contacts": max_contacts, "holdout": holdout,
                      "random_state": random_state, "assigned_at": str(when),
                      "uplift": uplift, "revenue": revenue, "value": value, "redeem": redeem,
                      "id_column": id_column, "arm": arm, "uplift_se": uplift_se,
                      "revenue_se": revenue_se,
                      "encoding": encoding_used(scores, encoding, what="SCORES file")}
            save(SimpleNamespace(targets=result, assignments=assignments, summary=summary),
                 source=scores, params=params)
            if db is not None:
                store_part(db, "target", targets_table(result, assignments), source=scores,
                           started=started, params=params)
        text = json.dumps(summary, indent=2, ensure_ascii=False, default=str)
        if as_json:
            typer.echo(text)
            return
        _print_summary(Console(highlight=False), result, assignments, summary,
                       random_state=random_state, when=when, measure=measure, out=out, db=db)

    run_guarded(debug, run, TARGET_KEYWORDS)


def _print_summary(console: Console, result: Any, assignments: Any, summary: dict[str, Any], *,
                   random_state: int, when: str, measure: str, out: Path,
                   db: Path | None) -> None:
    """The terminal summary of a target run: counts (the CRM file's rows and the hold-out),
    profit, method, the hold-out's price, notes, the read-back command and the outputs."""
    held = set(assignments.loc[assignments["arm"] == "holdout", "customer_id"].astype(str))
    is_held = result.targets["customer_id"].astype(str).isin(held)
    forgone = float(result.targets.loc[is_held, "expected_incremental_profit"].sum())
    console.print(f"targets: {len(result.targets):,} chosen of {result.n_customers:,} "
                  f"customers ({int((~is_held).sum()):,} to contact in targets.csv, "
                  f"{int(is_held.sum()):,} held out), "
                  f"expected incremental profit {result.value:,.2f} for contact spend "
                  f"{result.spend:,.2f}; LP bound {result.bound:,.2f} (gap "
                  f"{result.gap:,.2f}{', optimal' if result.exact else ''})")
    console.print(f"method: {result.method}")
    console.print(f"formula: {result.formula}")
    console.print(f"hold-out: {summary['n_held_out']:,} customers (arm 'holdout', random "
                  f"state {random_state}), assigned_at {when}; not contacted (left out of targets.csv): "
                  f"the profit and spend above count them, their expected incremental "
                  f"profit {forgone:,.2f} is the price of measuring the campaign")
    for note in result.notes:
        console.print(f"note: {note}")
    console.print(f"measure it after the campaign (designed shares given, else the SRM "
                  f"test assumes equal arms): {measure}")
    console.print(f"outputs: {out.resolve()} (targets.csv, assignments.csv, "
                  "profit_curve.csv, target_summary.json, report.html, summary.json)")
    if db is not None:
        console.print(f"store: {db.resolve()} (table targets, a runs row)")
