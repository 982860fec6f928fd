"""One-part jobs: read and clean a log, then run only the value step (``valuemax clv``)."""

from __future__ import annotations

import csv
import dataclasses
import gzip
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from valuemax._core.exceptions import InputError
from valuemax.engines import connect
from valuemax.features import customer_table
from valuemax.pipeline._options import (
    CleanOptions,
    PrivacyOptions,
    PropensityOptions,
    ReadOptions,
    ValueOptions,
    gather,
    random_state_of,
)
from valuemax.pipeline._prepare import read_and_clean
from valuemax.pipeline._value import ValueResult, run_value


def customer_value(
    source: Any,
    *,
    read: ReadOptions | None = None,
    clean: CleanOptions | None = None,
    value: ValueOptions | None = None,
    privacy: PrivacyOptions | None = None,
    random_state: int = 0,
    **shorthand: Any,
) -> ValueResult:
    """Read and clean ``source``, then run only the customer-value step; nothing is written.

    Parameters
    ----------
    source : path, DataFrame or ``(con, table)``
        The transaction log, as :func:`valuemax.pipeline.analyze` takes it.
    read, clean, value, privacy : options objects, optional
        As in :func:`valuemax.pipeline.analyze` (``value.enabled`` is not read: this job is
        the value step); ``privacy.pseudonymize=True``: the CLV table's ids are keyed
        pseudonyms.
    random_state : int, default 0
        Seed of every random step (optimiser starts).
    **shorthand
        The flat keywords of those objects, as :func:`valuemax.pipeline.analyze` takes
        them (``seed`` and ``clv_horizon`` still accepted, with a ``FutureWarning``).

    Returns
    -------
    ValueResult
        The chosen purchase model (refitted on the whole period), Gamma-Gamma, the model
        comparison on the holdout and the per-customer CLV table (``.table``).

    Raises
    ------
    TypeError
        An unknown keyword, or an options object with one of its own flat keywords.
    InputError
        On unreadable input, invalid options, or too few repeat buyers to fit a model.
    ConvergenceError
        If no purchase model converges.
    """
    opts = gather("customer_value", {"read": read, "clean": clean, "value": value,
                                     "privacy": privacy}, shorthand)
    random_state = random_state_of("customer_value", random_state, opts)
    val = opts["value"]
    with _cleaned_log(source, opts) as (con, tx):
        customers = customer_table(tx, time_unit=val.time_unit).to_pyarrow().to_pandas()
        result, reason = run_value(
            con, tx, customers, time_unit=val.time_unit,
            calibration_end=val.calibration_end, horizon_months=val.horizon_months,
            discount_rate=val.discount_rate, margin=val.margin, model=val.model,
            random_state=random_state)
        if result is None:
            raise InputError(f"customer value cannot be estimated: {reason}")
        return result


@contextmanager
def _cleaned_log(source: Any, opts: dict[str, Any],
                 explain: Callable[[InputError], InputError | None] | None = None,
                 ) -> Iterator[tuple[Any, Any]]:
    """Read and clean ``source`` into an in-memory store; yield the store's connection and
    clean's result over its materialised lines (its observation end and guarantees kept, so
    the next stage neither re-parses nor re-scans); the store is closed on leaving.

    ``explain`` turns an ``InputError`` of reading or cleaning into a better one (raised
    from it), or returns None to keep it.
    """
    con = connect(None)
    try:
        try:
            _, cleaned, _ = read_and_clean(source, con, opts["read"], opts["clean"],
                                           privacy=opts["privacy"])
        except InputError as exc:
            better = None if explain is None else explain(exc)
            if better is None:
                raise
            raise better from exc
        con.create_table("transactions_clean", cleaned.transactions)
        yield con, dataclasses.replace(cleaned, transactions=con.table("transactions_clean"))
    finally:
        con.disconnect()


def looks_like_baskets(source: Any, *, encoding: str | None = None) -> str | None:
    """Why ``source`` looks like a one-basket-per-line file, or None.

    A text file (``.csv``/``.txt``, optionally ``.gz``) whose first 200 lines split on
    commas into different numbers of fields (ragged, so no table with a header), in which
    no field looks like a date or time and under a fifth of the fields are numbers: e.g.
    the arules Groceries export ``citrus fruit,semi-finished bread,margarine``.

    Returns
    -------
    str or None
        The evidence, for the user (e.g. ``"no header, lines of 1 to 4 fields, no dates"``).
    """
    if not isinstance(source, str | Path):
        return None
    from valuemax.basket._baskets import DATE_LIKE, NUMBER  # lazy: the CLI imports this module

    path = Path(source)
    name = path.name.lower().removesuffix(".gz")
    if not path.is_file() or not name.endswith((".csv", ".txt", ".basket", ".baskets")):
        return None
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read(1 << 16)
        text = raw.decode(encoding or "utf-8", errors="strict")
    except (OSError, UnicodeDecodeError, EOFError):
        return None
    lines = [line for line in text.splitlines()[:-1] if line.strip()][:200]
    if len(lines) < 3:
        return None
    rows = list(csv.reader(lines))
    widths = {len(r) for r in rows}
    cells = [c.strip() for r in rows for c in r if c.strip()]
    if len(widths) < 2 or not cells or any(DATE_LIKE.search(c) for c in cells):
        return None
    if sum(bool(NUMBER.match(c)) for c in cells) > len(cells) / 5:
        return None
    return (f"no header, lines of {min(widths)} to {max(widths)} comma-separated fields, "
            "no dates or amounts")


def association_rules(
    source: Any,
    *,
    input_format: Literal["auto", "transactions", "baskets", "long"] = "auto",
    min_support: float | None = None,
    min_confidence: float | None = None,
    min_lift: float | None = None,
    max_len: int | None = None,
    basket_columns: Sequence[str] = ("Member_number", "Date"),
    item_column: str = "itemDescription",
    n_recommendations: int = 5,
    read: ReadOptions | None = None,
    clean: CleanOptions | None = None,
    privacy: PrivacyOptions | None = None,
    random_state: int = 0,
    **shorthand: Any,
) -> Any:
    """Association rules (and, for a transaction log, cross-sell recommendations).

    Parameters
    ----------
    input_format : {"auto", "transactions", "baskets", "long"}, default "auto"
        ``auto``: ``baskets`` when ``source`` is a file that :func:`looks_like_baskets`
        (one basket per line: headerless, ragged, no dates), else ``transactions``.
    source : path or table
        A transaction log (``input_format="transactions"``: read and cleaned as by
        :func:`valuemax.pipeline.analyze`, with ``read``, ``clean`` and ``privacy``); a
        plain basket file, one basket per line with comma-separated items
        (``"baskets"``, read with ``read.encoding``); or a long table, one line per basket
        and item (``"long"``, e.g. ``Member_number, Date, itemDescription``).
    min_support, min_confidence, min_lift, max_len
        Thresholds; None: chosen from the data (:func:`valuemax.basket.choose_thresholds`,
        the reason stated in the result).
    basket_columns, item_column
        The long format's basket key and item columns.
    n_recommendations : int, default 5
        Suggestions per customer (transaction logs only).
    read, clean, privacy : options objects, optional
        As in :func:`valuemax.pipeline.analyze`.
    random_state : int, default 0
        Seed of every random step.
    **shorthand
        The flat keywords of ``read``, ``clean`` and ``privacy``, as
        :func:`valuemax.pipeline.analyze` takes them (``seed`` still accepted, with a
        ``FutureWarning``).

    Returns
    -------
    valuemax.basket.BasketResult or valuemax.basket.RuleSet
        A BasketResult (rules, recommendations, holdout evaluation) for a transaction log;
        a RuleSet for basket files, which carry no customers or dates.

    Raises
    ------
    TypeError
        An unknown keyword, or an options object with one of its own flat keywords.
    InputError
        On unreadable input, invalid thresholds, or an itemset blow-up (the message names
        the option that fixes it).
    """
    from valuemax.basket import (
        analyze_baskets,
        baskets_from_long,
        mine_rules,
        read_baskets,
    )
    from valuemax.basket._thresholds import resolve_thresholds

    opts = gather("association_rules", {"read": read, "clean": clean, "privacy": privacy},
                  shorthand)
    random_state = random_state_of("association_rules", random_state, opts)
    reading = opts["read"]
    if input_format == "auto":
        input_format = ("baskets" if looks_like_baskets(source, encoding=reading.encoding)
                        else "transactions")
    if input_format in ("baskets", "long"):
        baskets = (read_baskets(source, encoding=reading.encoding or "utf-8")
                   if input_format == "baskets" else
                   baskets_from_long(source, tuple(basket_columns), item_column))
        th = resolve_thresholds(baskets, min_support=min_support,
                                min_confidence=min_confidence, min_lift=min_lift,
                                max_len=max_len)
        rs = mine_rules(baskets, min_support=th["min_support"],
                        min_confidence=th["min_confidence"], min_lift=th["min_lift"],
                        max_len=th["max_len"])
        # the reading's notes (lines without an item or key, blank lines) and the thresholds'
        # reason travel with the rules: the CLI prints both
        return dataclasses.replace(rs, notes=(*baskets.notes, *rs.notes),
                                   thresholds={**rs.thresholds, "reason": th["reason"]})
    if input_format != "transactions":
        raise InputError(f"input_format={input_format!r} is not one of ['auto', "
                         "'transactions', 'baskets', 'long']")
    def as_baskets(exc: InputError) -> InputError | None:
        why = looks_like_baskets(source, encoding=reading.encoding)
        if why is None:
            return None
        return InputError(f"{exc} The file looks like one basket per line ({why}): read "
                          "it with input_format='baskets' (CLI --input baskets).")

    with _cleaned_log(source, opts, as_baskets) as (_, cleaned):
        found = analyze_baskets(
            cleaned, min_support=min_support,
            min_confidence=min_confidence, min_lift=min_lift, max_len=max_len,
            n_recommendations=n_recommendations, random_state=random_state)
    # the rules come from the clean lines only: say how many lines left and why
    return dataclasses.replace(found, notes=(cleaning_note(cleaned.report), *found.notes))


def cleaning_note(report: Any) -> str:
    """One line: lines read, lines quarantined by cleaning with the count per reason
    (largest first) and the lines kept, from a :class:`valuemax.clean.QualityReport`."""
    text = (f"cleaning (preset {report.preset}): {report.rows_in:,} lines read, "
            f"{report.rows_quarantined:,} quarantined")
    ranked = sorted((r for r in report.rules if r.count), key=lambda r: (-r.count, r.code))
    if ranked:
        text += " (" + ", ".join(f"{r.code} {r.count:,}" for r in ranked) + ")"
    return (f"{text}; baskets and rules come from the {report.rows_clean:,} clean lines "
            "(valuemax analyze writes each quarantined line and its reason to "
            "quarantine.parquet)")


def buy_propensity(
    source: Any,
    *,
    cutoff: date | datetime | str | None = None,
    n_origins: int = 3,
    propensity: PropensityOptions | None = None,
    read: ReadOptions | None = None,
    clean: CleanOptions | None = None,
    privacy: PrivacyOptions | None = None,
    random_state: int = 0,
    **shorthand: Any,
) -> Any:
    """Who buys next: the buy-again model of :func:`valuemax.propensity.fit_propensity`.

    Parameters
    ----------
    source : path or table
        A transaction log, read and cleaned as by :func:`valuemax.pipeline.analyze`.
    cutoff : date or str, optional
        Holdout cutoff: features use the lines before it, the label the ``horizon_days``
        days from it (default: observation end minus ``horizon_days``).
    n_origins : int, default 3
        Earlier rolling origins the training rows come from.
    propensity : PropensityOptions, optional
        ``horizon_days`` (default 90): days after a cutoff in which a purchase counts as
        "buys again" (``enabled`` is not read: this job is the propensity step).
    read, clean, privacy : options objects, optional
        As in :func:`valuemax.pipeline.analyze`.
    random_state : int, default 0
        Seed of every random step.
    **shorthand
        The flat keywords of those objects (``horizon_days``, ``columns``, ``mapping``,
        ``preset``, ...), as :func:`valuemax.pipeline.analyze` takes them (``seed`` and
        ``horizon`` still accepted, with a ``FutureWarning``).

    Returns
    -------
    valuemax.propensity.PropensityResult
        Holdout metrics of the model and the baselines, plots' data, per-customer scores.

    Raises
    ------
    TypeError
        An unknown keyword, or an options object with one of its own flat keywords.
    InputError
        On unreadable input, a cutoff outside the log, a log shorter than two horizons, or
        a holdout window with one class only.
    """
    from valuemax.pipeline._parts import without_churn_risk
    from valuemax.propensity import fit_propensity

    opts = gather("buy_propensity", {"propensity": propensity, "read": read, "clean": clean,
                                     "privacy": privacy}, shorthand)
    random_state = random_state_of("buy_propensity", random_state, opts)
    with _cleaned_log(source, opts) as (_, cleaned):
        return without_churn_risk(fit_propensity(
            cleaned, horizon_days=opts["propensity"].horizon_days, cutoff=cutoff,
            n_origins=n_origins, random_state=random_state))
