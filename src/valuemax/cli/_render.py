"""Terminal rendering with Rich: progress over the steps, the closing summary tables."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from valuemax.cli._options import for_cli

#: Fewer products than this make a cross-sell hit rate@k say little (note in the summary).
MIN_PRODUCTS_FOR_HIT_RATE = 10


def plural(n: int, word: str, many: str | None = None) -> str:
    """``n`` and ``word``, in the plural unless ``n`` is 1.

    >>> plural(1, "customer"), plural(1234, "customer"), plural(2, "family", "families")
    ('1 customer', '1,234 customers', '2 families')
    """
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


@contextmanager
def progress_for(console: Console, steps: Sequence[str]) -> Iterator[Callable[[str], None]]:
    """Yield an ``on_step`` callback that advances a progress bar over ``steps``."""
    progress = Progress(
        SpinnerColumn(), TextColumn("[bold]{task.description:<10}"), BarColumn(),
        TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
        console=console, transient=True,
    )
    task = progress.add_task("starting", total=len(steps))
    seen: list[str] = []

    def on_step(name: str) -> None:
        if seen:
            progress.advance(task)
        seen.append(name)
        progress.update(task, description=name)

    with progress:
        yield on_step
        progress.update(task, completed=len(steps))


def _quality_table(quality: Any) -> Table:
    table = Table(title="Data quality: every row accounted for", title_justify="left", expand=True)
    table.add_column("rule", no_wrap=True, min_width=12)
    # wrapped, never cut: piped output (not a terminal) is 80 columns wide
    table.add_column("description", overflow="fold", ratio=1)
    table.add_column("rows", justify="right", no_wrap=True, min_width=9)
    table.add_column("share", justify="right", no_wrap=True, min_width=7)
    for row in quality.to_frame().itertuples(index=False):
        table.add_row(str(row.rule), str(row.description), f"{int(row.rows):,}", f"{row.share:.2%}")
    table.add_section()
    table.add_row("rows_in", "", f"{quality.rows_in:,}", "")
    table.add_row("rows_clean", "", f"{quality.rows_clean:,}", f"{quality.rows_clean / max(quality.rows_in, 1):.2%}")
    table.add_row("rows_quarantined", "", f"{quality.rows_quarantined:,}",
                  f"{quality.rows_quarantined / max(quality.rows_in, 1):.2%}")
    return table


def _mapping_table(ingest: dict[str, Any]) -> Table:
    table = Table(title="Column mapping", title_justify="left")
    table.add_column("canonical")
    table.add_column("source column")
    for canonical, source in ingest.get("mapping", {}).items():
        table.add_row(canonical, str(source))
    return table


def _print_ingest(console: Console, ingest: dict[str, Any]) -> None:
    rows = ingest.get("n_rows")
    console.print(
        f"[bold]{ingest.get('source')}[/]: {ingest.get('format')}, encoding "
        f"{ingest.get('encoding')}, " + (f"{rows:,} rows, " if rows is not None else "") +
        "date format(s) " + (', '.join(ingest.get('date_formats') or []) or
                             ("typed" if rows is not None else "not found"))
    )
    console.print(_mapping_table(ingest))
    for note in ingest.get("notes") or []:
        console.print(f"  note: {for_cli(note)}")


def print_inspection(console: Console, found: Any) -> None:
    """Print how the source was read and its quality report."""
    _print_ingest(console, found.ingest)
    _print_quality(console, found.quality, notes=False)
    console.print(f"observation end: {found.quality.observation_end.isoformat()} (inclusive)")


def _print_quality(console: Console, quality: Any, *, notes: bool = True) -> None:
    """The quality table, the returns' netting in money (what ``analyze`` deducts from the
    customers' spend: ``valuemax inspect`` shows it too) and, with ``notes``, the notes a
    reader of ``analyze`` must see."""
    console.print(_quality_table(quality))
    for line in quality.reconciliation_lines():
        console.print(line)
    for note in quality.notes if notes else ():
        if note.startswith(("customers lost", "duplicate_line not applied")) \
                or "after the log's last transaction" in note:
            console.print(f"[yellow]{note}[/]")


def print_problems(console: Console, found: Any) -> None:
    """Print what could be read of a source (format, mapping, date formats) and every
    problem found, numbered (``valuemax inspect`` on a log it cannot use)."""
    ingest = found.ingest
    if "format" in ingest:
        _print_ingest(console, {"n_rows": None, **ingest} if "n_rows" not in ingest
                      else ingest)
    else:
        console.print(f"[bold]{ingest.get('source')}[/]: could not be loaded as a table")
    err = Console(stderr=True, highlight=False)
    n = len(found.problems)
    err.print(f"[bold red]{n} problem{'s' if n != 1 else ''}:[/]")
    for i, problem in enumerate(found.problems, 1):
        err.print(f"  {i}. {for_cli(' '.join(problem.split()))}", soft_wrap=True)


def print_summary(console: Console, result: Any, *, debug: bool = False) -> None:
    """Print the run's closing summary: quality, customers, segments, clusters, outputs.

    Skipped steps are listed with their reason; a step that failed with an exception gets
    its traceback on stderr with ``debug``, else a pointer to ``--debug``.
    """
    _print_ingest(console, result.ingest)
    _print_quality(console, result.quality)
    console.print(
        f"[bold]{plural(len(result.customers), 'customer')}[/] at observation end "
        f"{result.quality.observation_end.isoformat()} (time unit {result.time_unit})"
    )
    if result.segments is not None:
        money = "revenue_share" in result.segments  # absent for a log without prices
        table = Table(title="RFM segments (by revenue)" if money else
                      "RFM segments (from recency and frequency: the log has no prices)",
                      title_justify="left", expand=True)
        table.add_column("segment", no_wrap=True, min_width=10)
        table.add_column("customers", justify="right", no_wrap=True, min_width=9)
        if money:
            table.add_column("revenue", justify="right", no_wrap=True, min_width=7)
        table.add_column("action", no_wrap=True, overflow="ellipsis", ratio=1)
        for r in result.segments.itertuples(index=False):
            if int(r.n_customers) == 0:
                continue
            share = [f"{r.revenue_share:.1%}"] if money else []
            table.add_row(str(r.segment), f"{int(r.n_customers):,}", *share, str(r.action))
        console.print(table)
        empty = [str(s) for s, n in zip(result.segments["segment"],
                                        result.segments["n_customers"], strict=True)
                 if int(n) == 0]
        if empty:  # summary.json and the report list them with 0 customers
            console.print(f"no customer in: {', '.join(empty)}")
        rfm = getattr(result, "rfm", None)
        for note in getattr(rfm, "notes", ()):  # one recency for all: names say nothing
            if note.startswith("Every customer last bought the same number of days"):
                console.print(f"[yellow]note:[/] {note}")
        print_caveats(console, result, "segments")  # how far back "recent" reaches
    km = result.clusters
    if km is not None and km.skipped is None:
        table = Table(title=f"K-means clusters (k={km.k}, chosen by silhouette)",
                      title_justify="left", expand=True)
        table.add_column("cluster", justify="right", no_wrap=True)
        table.add_column("name", overflow="ellipsis", ratio=1)
        table.add_column("customers", justify="right", no_wrap=True, min_width=9)
        table.add_column("revenue", justify="right", no_wrap=True, min_width=7)
        mixed = _mixed_clusters(result)
        for r in km.profile.itertuples(index=False):
            table.add_row(f"{r.cluster}{'*' if r.cluster in mixed else ''}", str(r.name),
                          f"{int(r.n_customers):,}", f"{r.revenue_share:.1%}")
        console.print(table)
        if mixed:  # new user: the report said "mixed", the terminal did not
            console.print("  * mixed: fewer than half of the cluster's customers are in RFM "
                          "segments with its action; act on each customer's RFM segment "
                          "(customers' cluster_mixed; the report's clusters section)")
        print_caveats(console, result, "clusters")  # k at the range's top; shared names
    _print_parts(console, result)
    tracebacks = getattr(result, "tracebacks", None) or {}
    for step, reason in result.skipped.items():
        hint = " (run with --debug for the traceback)" if step in tracebacks and not debug \
            else ""
        shown = failure_message(reason) if step in tracebacks else reason
        console.print(f"[yellow]skipped {step}:[/] {_option_hints(for_cli(shown))}{hint}")
    if debug and tracebacks:
        err = Console(stderr=True, highlight=False)
        for step, text in tracebacks.items():
            err.print(f"[bold]traceback of the skipped step {step}:[/]")
            err.out(text, highlight=False)
    total = sum(result.timings_s.values())
    console.print(f"done in {total:.1f} s: " + ", ".join(f"{k} {v:.1f}s" for k, v in result.timings_s.items()))
    if result.out is not None:
        console.print(f"[bold green]report:[/] {(result.out / 'report.html').resolve()}")
        console.print(f"outputs: {result.out.resolve()} ({', '.join(written_files(result))})")


#: Files ``analyze --out`` may write, in the order the summary lists them.
_OUTPUT_FILES = ("report.html", "customers.parquet", "customers.csv", "quarantine.parquet",
                 "calibration_holdout.parquet", "rules.parquet", "rules.csv",
                 "recommendations.parquet", "recommendations.csv", "summary.json",
                 "valuemax.duckdb")


def written_files(result: Any) -> list[str]:
    """The files of :data:`_OUTPUT_FILES` present in ``result.out`` (plus any other file
    there but hidden ones such as the run manifest), as listed on the summary's
    ``outputs:`` line."""
    present = {p.name for p in result.out.iterdir()
               if p.is_file() and not p.name.startswith(".")}
    return [n for n in _OUTPUT_FILES if n in present] + sorted(present - set(_OUTPUT_FILES))


#: ``"<ExceptionType>: "`` at the start of a failed step's reason, as
#: :func:`valuemax.pipeline._parts.step_failure_reason` writes it for the API.
_EXCEPTION_NAME = re.compile(r"[A-Za-z_]\w*: (?=\S)")


def failure_message(reason: str) -> str:
    """A failed step's reason for the terminal: its message without the exception type's
    name that the API's ``skipped`` and ``summary.json`` keep (the type stays in
    ``AnalysisResult.stages[step].error`` and the traceback under ``--debug``); a failure
    without a message keeps the type's name, the only text it has.

    >>> failure_message("InputError: calibration_end 2023-06-01 must fall after ...")
    'calibration_end 2023-06-01 must fall after ...'
    >>> failure_message("ConvergenceError: BetaGeoModel.fit: not finite")
    'BetaGeoModel.fit: not finite'
    >>> failure_message("ZeroDivisionError")
    'ZeroDivisionError'
    """
    m = _EXCEPTION_NAME.match(reason)
    return reason[m.end():] if m else reason


def _option_hints(reason: str) -> str:
    """A skip reason with the Python API's hints written as CLI options.

    >>> _option_hints("use a shorter horizon (at most 59 days) or a longer log.")
    'use a shorter horizon (at most 59 days: --horizon-days 59) or a longer log.'
    """
    return re.sub(r"use a shorter horizon \(at most (\d+) days\)",
                  r"use a shorter horizon (at most \1 days: --horizon-days \1)", reason)


def _mixed_clusters(result: Any) -> set[Any]:
    """The clusters whose customers mostly sit in RFM segments with another action
    (``cluster_mixed`` of the customers; empty without it)."""
    cust = getattr(result, "customers", None)
    if cust is None or "cluster_mixed" not in cust or "cluster" not in cust:
        return set()
    flagged = cust.loc[cust["cluster_mixed"].fillna(False).astype(bool), "cluster"]
    return set(flagged.dropna().unique().tolist())


def value_caveats(value: Any, *, clv: bool = True, customers: Any = None) -> list[str]:
    """The texts of the value step's caveats (:func:`valuemax.pipeline._caveats.value_caveats`,
    the list every surface shows), for a value result outside a run; ``clv=False`` leaves
    out those on reading CLV amounts (the spend caveats)."""
    from valuemax.pipeline._caveats import value_caveats as build

    return [c.text for c in build(value, customers if clv else None)]


def print_caveats(console: Console, result: Any, step: str) -> None:
    """One ``caveat:`` line per caveat of ``step`` in the run's list
    (:attr:`valuemax.pipeline.AnalysisResult.caveats`), options written as CLI flags."""
    for c in getattr(result, "caveats", ()) or ():
        if c.step == step:
            console.print(f"  [yellow]caveat:[/] {escape(for_cli(c.text))}")


def propensity_lines(found: Any) -> tuple[str, str | None]:
    """The summary line of the buy-again step and its warning (None when the scores are
    informative, by :func:`valuemax.pipeline._outputs.propensity_informative`)."""
    m = found.metrics.set_index("model")["roc_auc"].astype(float)
    auc = float(m[found.chosen_model])
    base = m.drop([k for k in ("logit", "hgb") if k in m.index]).dropna()
    line = (f"[bold]buys again within {found.horizon_days} days[/]: {found.chosen_model}, "
            f"holdout ROC AUC {auc:.3f}")
    if len(base):
        line += f" vs best baseline {base.idxmax()} {base.max():.3f}"
    # lazy: importing the CLI must not load the pipeline's model stack (scipy, sklearn)
    from valuemax.pipeline._outputs import propensity_informative, propensity_shortfall

    counts = found.churn_counts()
    total = max(int(counts["customers"].sum()), 1)
    if len(counts):
        from valuemax.propensity import CHURN_THRESHOLDS

        line += "; churn risk " + ", ".join(f"{r.churn_risk} {r.customers / total:.0%}"
                                            for r in counts.itertuples(index=False))
        line += (f" of {plural(total, 'customer')} (from {found.score_column}: Low at >= "
                 f"{CHURN_THRESHOLDS['low_at_least']:g}, High below "
                 f"{CHURN_THRESHOLDS['high_below']:g})")
    else:
        line += f"; churn risk not given (the scores {propensity_shortfall(found)})"
    ok, why = propensity_informative(found)
    warn = None if ok else (f"the scores {propensity_shortfall(found)}: do not target on "
                            f"{found.score_column}; {why}")
    return line, warn


def _print_parts(console: Console, result: Any) -> None:
    """One or two lines per analysis part: value, what goes with value, what sells together."""
    value = getattr(result, "value", None)
    if value is not None:
        h = value.horizon_months
        line = f"[bold]customer value[/]: {value.model_name}"
        v = value.validation
        if v is not None:
            since = (f" after {value.calibration_end.isoformat()}"
                     if getattr(value, "calibration_end", None) is not None else "")
            line += (f" (holdout{since}: average error {v.mae:.3f} repeat purchases per "
                     f"customer, {v.naive_mae:.3f} for each customer's past rate; "
                     f"predicted {v.predicted_total:,.0f} vs actual {v.actual_total:,.0f} "
                     "repeat purchases)")
        col = f"clv_{h}"
        clv = col in result.customers
        if clv:
            line += f"; total {h}-month CLV {result.customers[col].sum():,.0f}"
        console.print(line)
        if not clv:  # the reason only: no CLV formula, no caveat on reading CLV
            why = getattr(value, "clv_skipped", None) or "no spend model was fitted"
            console.print(f"  [yellow]CLV not computed:[/] {why}")
        print_caveats(console, result, "value")  # P(alive)'s warning among them
        # no past spend on a log without prices: no "high spenders" to count
        if {"p_alive", "total_spend"} <= set(result.customers) and value.p_alive_informative:
            from valuemax.decide import high_value_at_risk

            risk = high_value_at_risk(result.customers)
            console.print(f"high value at risk: {len(risk):,} of the top-20% spenders "
                          f"{'has' if len(risk) == 1 else 'have'} P(alive) < 0.5 (report: "
                          "Customer value > High value at risk)")
    stats = getattr(result, "stats", None)
    reg = getattr(stats, "regression", None)
    if reg is not None:
        from valuemax.report._format import explained_share

        console.print(f"[bold]what goes with value[/]: "
                      f"{explained_share(stats.target, reg.r_squared, stats.predictors)}")
    prop = getattr(result, "propensity", None)
    if prop is not None:
        line, _ = propensity_lines(prop)
        console.print(line)
        print_caveats(console, result, "propensity")  # the scores ranking no better
        for note in prop.notes:  # exact 1/0 scores; customers beyond the training recency
            if note.startswith(f"{prop.score_column} is exactly") or \
                    "have been inactive longer than any row" in note:
                console.print(f"  [yellow]note:[/] {note}")
    basket = getattr(result, "basket", None)
    if basket is not None:
        ev = basket.evaluation or {}
        kind = basket.baskets.get("kind")
        what = "customer-day basket" if kind == "customer-day" else "basket"
        line = (f"[bold]what sells together[/]: {plural(len(basket.rule_set.rules), 'rule')} "
                f"from {plural(basket.baskets['n_baskets'], what)}")
        if ev.get("hit_rate_at_n") is not None:
            line += "; " + hit_rate_text(ev, basket.baskets.get("n_items"))
        console.print(line)
        for note in basket.notes:  # no order id; one code sold under several names
            if "form customer-day baskets" in note or "several names in the log" in note:
                console.print(f"  [yellow]note:[/] {note}")


def hit_rate_text(ev: dict[str, Any], n_items: int | None) -> str:
    """The cross-sell hit rate@k beside popularity, or why it says nothing: with at most
    k products (or fewer than :data:`MIN_PRODUCTS_FOR_HIT_RATE`) any k guesses hit, and both
    rates at 100% cannot separate the recommender from popularity.

    >>> hit_rate_text({"n": 5, "hit_rate_at_n": 0.4, "baseline_hit_rate_at_n": 0.3}, 50)
    'cross-sell hit rate@5 40.0% vs popularity 30.0%'
    >>> hit_rate_text({"n": 5, "hit_rate_at_n": 1.0, "baseline_hit_rate_at_n": 1.0}, 7)
    'cross-sell evaluation uninformative: only 7 products, so 5 guesses cover most of them'
    """
    k = int(ev.get("n", 5))
    hit, base = float(ev["hit_rate_at_n"]), float(ev["baseline_hit_rate_at_n"])
    if n_items is not None and (n_items <= k or n_items < MIN_PRODUCTS_FOR_HIT_RATE):
        return (f"cross-sell evaluation uninformative: only {plural(int(n_items), 'product')}, "
                f"so {k} guesses cover most of them")
    if hit >= 1 and base >= 1:
        return (f"cross-sell evaluation uninformative: hit rate@{k} is 100% for both the rules "
                "and popularity")
    return f"cross-sell hit rate@{k} {hit:.1%} vs popularity {base:.1%}"


def print_value(console: Console, value: Any) -> None:
    """Print the customer-value step: model comparison, estimates, holdout fit, top CLV."""
    if value.comparison is not None:
        table = Table(title=f"Purchase models on the holdout (calibration to "
                      f"{value.calibration_end.isoformat()})", title_justify="left",
                      expand=True)
        for col in ("model", "loglik", "BIC", "holdout MAE", "predicted", "actual", "chosen"):
            table.add_column(col, justify="left" if col == "model" else "right", no_wrap=True)
        for r in value.comparison.table.itertuples(index=False):
            table.add_row(str(r.model), f"{r.loglik:,.1f}", f"{r.bic:,.1f}",
                          f"{r.holdout_mae:.4f}", f"{r.predicted_total:,.1f}",
                          f"{r.actual_total:,.0f}", "yes" if r.chosen else "")
        console.print(table)
        params = Table(title="Calibration-period estimates (SE)", title_justify="left",
                       expand=True)
        params.add_column("model", no_wrap=True)
        params.add_column("estimates", overflow="fold", ratio=1)
        for name, model in value.comparison.models.items():
            params.add_row(name, _estimates(model))
        if value.spend_model_calibration is not None:
            params.add_row("Gamma-Gamma", _estimates(value.spend_model_calibration))
        console.print(params)
        v = value.validation
        console.print(f"holdout, {value.model_name}: MAE {v.mae:.4f} per customer (naive "
                      f"calibration rate: {v.naive_mae:.4f}); predicted {v.predicted_total:,.1f}"
                      f" vs actual {v.actual_total:,.0f} repeat purchases")
    console.print(f"[bold]{value.model_name}[/] refitted on the whole period "
                  f"({value.time_unit}): {_estimates(value.model)}")
    if value.spend_model is not None:
        console.print(f"[bold]Gamma-Gamma[/]: {_estimates(value.spend_model)}")
        h = value.horizon_months
        col = f"clv_{h}"
        console.print(f"total {h}-month CLV {value.table[col].sum():,.2f} (margin "
                      f"{value.margin:g}, monthly discount rate {value.discount_rate:g}); "
                      f"median {value.table[col].median():,.2f} per customer")
    console.print(f"rule: {value.rule}")
    for note in value.notes:
        console.print(f"[yellow]note:[/] {for_cli(note)}")


def _estimates(model: Any) -> str:
    s = model.summary()
    return ", ".join(f"{n} {e:.4g} ({se:.2g})" for n, e, se in
                     zip(s.param_names, s.estimates, s.std_errors, strict=True)) + \
        f"; LL {s.loglik:,.1f}"


def print_rules(console: Console, found: Any, rule_set: Any) -> None:
    """Print the rules found (top 15 by lift), the thresholds and the recommendation check."""
    th = rule_set.thresholds
    console.print(f"{rule_set.n_baskets:,} baskets, {rule_set.n_items:,} items; "
                  f"{len(rule_set.itemsets):,} frequent itemsets, {len(rule_set.rules):,} rules "
                  f"(support >= {th.get('min_support')}, confidence >= "
                  f"{th.get('min_confidence')}, lift >= {th.get('min_lift')}, max_len "
                  f"{th.get('max_len')})")
    reason = getattr(found, "thresholds", {}).get("reason")
    if reason:
        console.print(f"thresholds: {reason}")
    if rule_set.rules.empty:
        console.print("[yellow]no rule passes these thresholds:[/] try a lower --min-support, "
                      "--min-confidence or --min-lift")
    table = Table(title="Top rules by lift", title_justify="left", expand=True)
    table.add_column("rule", overflow="fold", ratio=1)
    for col in ("support", "confidence", "lift"):
        table.add_column(col, justify="right", no_wrap=True)
    names = getattr(found, "item_names", None) or {}

    def named(items: Any) -> str:
        return " | ".join(f"{names[i]} ({i})" if names.get(i) else str(i) for i in items)

    for r in rule_set.rules.head(15).itertuples(index=False):
        text = f"{named(r.antecedents)} → {named(r.consequents)}" if names else str(r.rule)
        table.add_row(text, f"{r.support:.4f}", f"{r.confidence:.3f}", f"{r.lift:.2f}")
    if not rule_set.rules.empty:  # no empty table under "no rule passes these thresholds"
        console.print(table)
    ev = getattr(found, "evaluation", None) or {}
    if ev.get("hit_rate_at_n") is not None:
        console.print(f"holdout: hit rate@{ev.get('n', 5)} {ev['hit_rate_at_n']:.1%} vs "
                      f"popularity {ev['baseline_hit_rate_at_n']:.1%}; recall "
                      f"{ev['recall_at_n']:.1%} vs {ev['baseline_recall_at_n']:.1%} "
                      f"({plural(int(ev.get('n_customers_evaluated', 0)), 'customer')})")
        verdict = hit_rate_text(ev, rule_set.n_items)
        if verdict.startswith("cross-sell evaluation uninformative"):
            console.print(f"[yellow]note:[/] {verdict}")
    for note in getattr(found, "notes", ()) or ():
        console.print(f"[yellow]note:[/] {for_cli(note)}")


def print_propensity(console: Console, found: Any) -> None:
    """Print the buy-again model's holdout metrics beside the baselines, and churn counts."""
    console.print(f"buys again within {found.horizon_days} days of {found.cutoff.isoformat()} "
                  f"(holdout: {plural(found.n_holdout, 'customer')}, base rate {found.base_rate:.1%}); "
                  f"chosen model: {found.chosen_model}")
    table = Table(title="Holdout metrics (model and baselines)", title_justify="left",
                  expand=True)
    for col in ("model", "ROC AUC", "PR AUC", "Brier", "top-decile lift"):
        table.add_column(col, justify="left" if col == "model" else "right", no_wrap=True)

    def num(v: Any, fmt: str) -> str:
        return "—" if v is None or v != v else format(v, fmt)

    for r in found.metrics.itertuples(index=False):
        table.add_row(str(r.model), num(r.roc_auc, ".3f"), num(r.pr_auc, ".3f"),
                      num(r.brier, ".3f"), num(r.top_decile_lift, ".2f"))
    console.print(table)
    counts = found.churn_counts()
    if len(counts):
        console.print("churn risk: " + ", ".join(
            f"{r.churn_risk} {int(r.customers):,} ({r.rule})"
            for r in counts.itertuples(index=False)))
    else:
        from valuemax.pipeline._outputs import propensity_shortfall

        console.print(f"churn risk: not given (the scores {propensity_shortfall(found)}: "
                      "see below)")
    warn = propensity_lines(found)[1]
    if warn:
        console.print(f"[yellow]warning:[/] {warn}")
    for note in found.notes:
        console.print(f"[yellow]note:[/] {for_cli(note)}")
